"""Metrics for token targets, with padding excluded."""

import keras
from keras import ops

from zoo.special_ids import PAD_ID


@keras.saving.register_keras_serializable(package="zoo")
class MaskedTokenAccuracy(keras.metrics.Metric):
    """Fraction of real (non-padding) tokens whose argmax prediction is the target.

    Keeps two running totals across batches, `correct` and `total`, both counted
    over positions whose target is not `pad_id`; the result is
    `correct / total` (0 before any real token is seen). Padding never counts,
    whatever the model predicts there.

    Args:
        pad_id: int or `None`. Target id that marks padding; `None` counts
            every position. Defaults to `0`.
        name: Optional name of the metric.
        dtype: Optional dtype of the metric's result.

    Call arguments (`update_state`):
        y_true: int tensor `(B, T)` of target ids.
        y_pred: float tensor `(B, T, V)` of logits or probabilities.
        sample_weight: optional `(B,)` or `(B, T)` weights; a real token then
            counts with its weight.

    Example:

    >>> metric = MaskedTokenAccuracy()
    >>> y_true = np.array([[1, 2, 0]])  # the last position is padding
    >>> y_pred = np.array([[[0., 1., 0.], [0., 1., 0.], [1., 0., 0.]]])
    >>> metric.update_state(y_true, y_pred)
    >>> float(metric.result())  # 1 right out of 2 real tokens
    0.5
    """

    def __init__(
        self,
        pad_id: int | None = PAD_ID,
        name: str = "masked_token_accuracy",
        dtype=None,
    ):
        super().__init__(name=name, dtype=dtype)
        self.pad_id = pad_id
        self.correct = self.add_variable(shape=(), initializer="zeros", name="correct")
        self.total = self.add_variable(shape=(), initializer="zeros", name="total")

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true = ops.cast(y_true, "int32")  # (B, T)
        predicted = ops.cast(ops.argmax(y_pred, axis=-1), "int32")  # (B, T)
        if self.pad_id is None:
            weights = ops.ones(ops.shape(y_true), dtype="float32")
        else:
            weights = ops.cast(ops.not_equal(y_true, self.pad_id), "float32")
        if sample_weight is not None:
            sample_weight = ops.cast(sample_weight, "float32")
            if len(sample_weight.shape) == len(weights.shape) - 1:
                sample_weight = ops.expand_dims(sample_weight, -1)  # (B,) -> (B, 1)
            weights = weights * sample_weight
        is_correct = ops.cast(ops.equal(predicted, y_true), "float32")
        self.correct.assign_add(ops.cast(ops.sum(is_correct * weights), self.correct.dtype))
        self.total.assign_add(ops.cast(ops.sum(weights), self.total.dtype))

    def result(self):
        return ops.divide_no_nan(self.correct, self.total)

    def get_config(self) -> dict:
        return {**super().get_config(), "pad_id": self.pad_id}


@keras.saving.register_keras_serializable(package="zoo")
class MaskedTopKAccuracy(keras.metrics.Metric):
    """The share of labelled positions (label != 0: the masked tokens) whose label is among
    the `k` highest logits; positions labelled 0 never count.

    >>> metric = MaskedTopKAccuracy(k=2)
    >>> metric.update_state(np.array([[1, 0, 2]]), np.log([[[.5, .3, .2]] * 3]))
    >>> float(metric.result())  # 1 is in the top 2, 2 is not; the 0 is not counted
    0.5
    """

    def __init__(self, k: int = 5, name: str | None = None, dtype=None):
        super().__init__(name=name or f"top{k}_accuracy", dtype=dtype)
        self.k = int(k)
        self.correct = self.add_variable(shape=(), initializer="zeros", name="correct")
        self.total = self.add_variable(shape=(), initializer="zeros", name="total")

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true = ops.cast(y_true, "int32")  # (B, T)
        weights = ops.cast(ops.not_equal(y_true, PAD_ID), "float32")  # (B, T)
        if sample_weight is not None:
            sample_weight = ops.cast(sample_weight, "float32")
            if len(sample_weight.shape) == len(weights.shape) - 1:
                sample_weight = ops.expand_dims(sample_weight, -1)  # (B,) -> (B, 1)
            weights = weights * sample_weight
        y_pred = ops.cast(y_pred, "float32")
        y_pred = ops.reshape(y_pred, (-1, ops.shape(y_pred)[-1]))  # (B*T, V)
        y_true, weights = ops.reshape(y_true, (-1,)), ops.reshape(weights, (-1,))
        hits = ops.cast(ops.in_top_k(y_true, y_pred, self.k), "float32")
        self.correct.assign_add(ops.cast(ops.sum(hits * weights), self.correct.dtype))
        self.total.assign_add(ops.cast(ops.sum(weights), self.total.dtype))

    def result(self):
        return ops.divide_no_nan(self.correct, self.total)

    def get_config(self) -> dict:
        return {**super().get_config(), "k": self.k}
