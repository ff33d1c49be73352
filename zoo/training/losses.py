"""Losses for token targets, with padding excluded."""

import keras
from keras import ops

from zoo.special_ids import PAD_ID


@keras.saving.register_keras_serializable(package="zoo")
class MaskedSparseCategoricalCrossentropy(keras.losses.Loss):
    """Label-smoothed cross-entropy over token targets, averaged over real tokens.

    For targets `y_true` of shape `(B, T)` holding token ids and predictions
    `y_pred` of shape `(B, T, V)`, each position whose target is not `pad_id`
    contributes the cross-entropy between the smoothed target distribution
    `q = (1 - label_smoothing) * one_hot(y_true) + label_smoothing / V` and the
    predicted distribution `p`:

    `loss_t = -(1 - label_smoothing) * log p[y_t] - label_smoothing / V * sum_v log p[v]`

    The loss is the sum over real tokens divided by the number of real tokens,
    so padding never changes it, whatever its logits. This is the smoothing of
    Szegedy et al. that the paper uses (ε_ls = 0.1), and it equals
    `keras.losses.CategoricalCrossentropy(label_smoothing=...)` on the real
    tokens. Predictions are cast to float32 first, so the loss is accurate
    under a `mixed_bfloat16` or `mixed_float16` policy.

    A `sample_weight` of shape `(B,)` or `(B, T)` weighs positions: the loss is
    then `sum(w * loss_t) / sum(w)` over real tokens. A Keras mask carried by
    `y_pred` (e.g. from `Embedding(mask_zero=True)`) also excludes positions.
    With an all-padding batch the loss is 0.

    Args:
        label_smoothing: float in `[0, 1)`. The mass spread uniformly over the
            vocabulary. Defaults to `0.1`, the paper's value.
        pad_id: int or `None`. Target id that marks padding; `None` counts
            every position. Defaults to `0`.
        from_logits: bool. Whether `y_pred` holds logits (the default) or
            probabilities.
        name: Optional name of the loss.

    Example:

    >>> loss = MaskedSparseCategoricalCrossentropy(label_smoothing=0.0)
    >>> y_true = np.array([[1, 2, 0]])  # the last position is padding
    >>> y_pred = np.log(np.array([[[.1, .8, .1], [.1, .1, .8], [.4, .3, .3]]]))
    >>> float(loss(y_true, y_pred))  # -log(0.8), padding ignored
    0.2231...

    References:
        - [Vaswani et al., 2017](https://arxiv.org/abs/1706.03762), §5.4.
        - [Szegedy et al., 2016](https://arxiv.org/abs/1512.00567), §7.
    """

    def __init__(
        self,
        label_smoothing: float = 0.1,
        pad_id: int | None = PAD_ID,
        from_logits: bool = True,
        name: str = "masked_sparse_categorical_crossentropy",
    ):
        if not 0.0 <= label_smoothing < 1.0:
            raise ValueError(
                "`label_smoothing` must be in [0, 1): 0 turns smoothing off, the "
                f"paper uses 0.1. Received: label_smoothing={label_smoothing!r}"
            )
        # The denominator is the sum of the position weights (real tokens),
        # which Keras also scales for tf.distribute replicas.
        super().__init__(name=name, reduction="mean_with_sample_weight", dtype="float32")
        self.label_smoothing = float(label_smoothing)
        self.pad_id = pad_id
        self.from_logits = from_logits

    def __call__(self, y_true, y_pred, sample_weight=None):
        # Padding enters as a position weight; Keras merges it with the user's
        # sample weight and any Keras mask, then divides by their sum.
        y_true = ops.convert_to_tensor(y_true)
        weights = ops.cast(self._is_real_token(y_true), "float32")  # (B, T)
        if sample_weight is not None:
            sample_weight = ops.cast(sample_weight, "float32")
            if len(sample_weight.shape) == len(weights.shape) - 1:
                sample_weight = ops.expand_dims(sample_weight, -1)  # (B,) -> (B, 1)
            weights = weights * sample_weight
        return super().__call__(y_true, y_pred, sample_weight=weights)

    def call(self, y_true, y_pred):
        y_true = ops.cast(y_true, "int32")  # (B, T)
        y_pred = ops.cast(y_pred, "float32")  # (B, T, V)
        is_real = self._is_real_token(y_true)  # (B, T)
        # Any pad id (even -100 or out of vocabulary) must be a safe index.
        y_true = ops.where(is_real, y_true, 0)
        smoothing = self.label_smoothing
        if self.from_logits:
            losses = smoothed_cross_entropy_from_logits(y_true, y_pred, smoothing)
        else:
            epsilon = keras.config.epsilon()
            log_probs = ops.log(ops.clip(y_pred, epsilon, 1.0))
            target_indices = ops.expand_dims(y_true, -1)  # (B, T, 1)
            losses = -ops.take_along_axis(log_probs, target_indices, axis=-1)[..., 0]  # (B, T)
            if smoothing:
                uniform_cross_entropy = -ops.mean(log_probs, axis=-1)  # (B, T)
                losses = (1.0 - smoothing) * losses + smoothing * uniform_cross_entropy
        # Zero padding outright: its weight is 0, but 0 * inf would be NaN.
        return ops.where(is_real, losses, 0.0)

    def _is_real_token(self, y_true):
        if self.pad_id is None:
            return ops.ones(ops.shape(y_true), dtype="bool")
        return ops.not_equal(y_true, self.pad_id)

    def get_config(self) -> dict:
        return {
            "name": self.name,
            "label_smoothing": self.label_smoothing,
            "pad_id": self.pad_id,
            "from_logits": self.from_logits,
        }


def smoothed_cross_entropy_from_logits(labels, logits, label_smoothing):
    """Per-position `-(1 - s) log p[y] - s mean_v log p[v]` from logits, gradient written out.

    `loss = logsumexp(z) - (1 - s) z[y] - s mean_v z[v]` and its gradient
    `softmax(z) - (1 - s) one_hot(y) - s / V`: one softmax, forward and backward. Written
    with Keras's ops and autodiff instead, it is a fused sparse cross-entropy plus a second
    softmax (`logsumexp`) for the smoothing term — or a gather whose TensorFlow gradient
    is a segment sum over the whole `(B, T, V)` tensor — and on a CPU this loss over an
    8,000-token vocabulary took 2.3× as long, forward and backward (`benchmarks/
    profile_step.py` shows its share of a training step).

    Args:
        labels: int `(...)` target ids, valid indices (padding replaced by the caller).
        logits: float32 `(..., V)`.
        label_smoothing: `s`, a Python float in `[0, 1)`.

    Returns:
        float32 `(...)` losses.
    """
    smoothing = float(label_smoothing)
    vocab_size = logits.shape[-1] or ops.shape(logits)[-1]

    @ops.custom_gradient
    def cross_entropy(logits):
        shifted = logits - ops.max(logits, axis=-1, keepdims=True)
        exp = ops.exp(shifted)
        total = ops.sum(exp, axis=-1)
        target = ops.take_along_axis(shifted, labels[..., None], axis=-1)[..., 0]
        losses = ops.log(total) - (1.0 - smoothing) * target
        if smoothing:
            losses = losses - smoothing * ops.mean(shifted, axis=-1)

        def grad(*args, upstream=None):
            if upstream is None:  # TensorFlow and JAX pass it alone; PyTorch by keyword
                (upstream,) = args
            probs = exp / total[..., None]
            targets = ops.one_hot(labels, vocab_size, dtype=probs.dtype) * (1.0 - smoothing)
            if smoothing:
                targets = targets + smoothing / vocab_size
            return (probs - targets) * upstream[..., None]

        return losses, grad

    return cross_entropy(logits)
