"""Layer normalisation over the last axis (Ba et al. 2016), its gradient written out."""

from __future__ import annotations

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="zoo")
class LayerNormalization(keras.layers.LayerNormalization):
    """`keras.layers.LayerNormalization`, the same weights and outputs, a cheaper gradient.

    `y = (x - mean(x)) / sqrt(var(x) + epsilon) * gamma + beta` over the last axis, computed
    in float32 whatever the policy (as Keras does). Differentiated by autodiff, Keras's
    version is a long chain of small element-wise ops and their broadcast gradients; here
    the backward pass is the closed form
    `dx = (dn - mean(dn) - n * mean(dn * n)) / sqrt(var + epsilon)` with `dn = dy * gamma`
    and `n` the normalised input, which a Transformer's training step runs twice per
    sub-layer. Other settings (another axis, `rms_scaling`, no `center` or `scale`) use
    Keras's own computation.

    Its weights are Keras's (`gamma`, `beta`, same names and order), so checkpoints of
    either load into the other.

    Example:
    >>> layer = LayerNormalization(epsilon=1e-5)
    >>> [round(float(v), 4) for v in layer(keras.ops.array([[1.0, 2.0, 3.0]]))[0]]
    [-1.2247, 0.0, 1.2247]
    """

    def call(self, inputs):
        axes = [self.axis] if isinstance(self.axis, int) else list(self.axis)
        last = [-1, len(inputs.shape) - 1]
        if len(axes) != 1 or axes[0] not in last or self.rms_scaling:
            return super().call(inputs)
        if not (self.center and self.scale):
            return super().call(inputs)
        inputs = ops.cast(inputs, "float32")
        outputs = layer_norm_last_axis(
            inputs, ops.cast(self.gamma, "float32"), ops.cast(self.beta, "float32"), self.epsilon
        )
        return ops.cast(outputs, self.compute_dtype)


def layer_norm_last_axis(x, gamma, beta, epsilon: float):
    """`(x - mean) / sqrt(var + epsilon) * gamma + beta` over the last axis, with the
    closed-form gradient for `x`, `gamma` and `beta`."""

    @ops.custom_gradient
    def normalize(x, gamma, beta):
        mean = ops.mean(x, axis=-1, keepdims=True)
        centred = x - mean
        variance = ops.mean(ops.square(centred), axis=-1, keepdims=True)
        inverse_std = ops.rsqrt(variance + epsilon)
        normalized = centred * inverse_std

        def grad(*args, upstream=None):
            if upstream is None:  # TensorFlow and JAX pass it alone; PyTorch by keyword
                (upstream,) = args
            batch_axes = tuple(range(len(upstream.shape) - 1))
            d_gamma = ops.sum(upstream * normalized, axis=batch_axes)
            d_beta = ops.sum(upstream, axis=batch_axes)
            d_normalized = upstream * gamma
            d_x = inverse_std * (
                d_normalized
                - ops.mean(d_normalized, axis=-1, keepdims=True)
                - normalized * ops.mean(d_normalized * normalized, axis=-1, keepdims=True)
            )
            return d_x, d_gamma, d_beta

        return normalized * gamma + beta, grad

    return normalize(x, gamma, beta)
