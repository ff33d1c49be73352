"""Learning-rate schedules."""

import numbers

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="zoo")
class TransformerSchedule(keras.optimizers.schedules.LearningRateSchedule):
    """The warm-up then inverse-square-root rate of "Attention Is All You Need".

    `lrate = scale * hidden_dim^-0.5 * min(step^-0.5, step * warmup_steps^-1.5)`
    (§5.3 of the paper, where `hidden_dim` is `d_model`). The rate grows linearly
    for the first `warmup_steps` steps, peaks at `step == warmup_steps` with
    `scale * (hidden_dim * warmup_steps)^-0.5`, then decays as `step^-0.5`.

    Steps are counted from 1 as in the paper. Keras optimizers pass their
    iteration count, which is 0 at the first update, so step 0 is treated as
    step 1 (the formula is infinite-free only from step 1 on).

    Args:
        hidden_dim: int. The model width `d_model`.
        warmup_steps: int. Number of steps of linear warm-up. Defaults to
            `4000`, the paper's value.
        scale: float. A multiplier on the whole rate. Defaults to `1.0`.

    Example:

    >>> schedule = TransformerSchedule(hidden_dim=512, warmup_steps=4000)
    >>> float(schedule(4000))  # the peak: (512 * 4000) ** -0.5
    0.000698771...
    >>> optimizer = keras.optimizers.Adam(  # the paper's optimizer
    ...     schedule, beta_1=0.9, beta_2=0.98, epsilon=1e-9
    ... )

    References:
        - [Vaswani et al., 2017](https://arxiv.org/abs/1706.03762), §5.3.
    """

    def __init__(self, hidden_dim: int, warmup_steps: int = 4000, scale: float = 1.0):
        if not _is_positive_int(hidden_dim):
            raise ValueError(
                "`hidden_dim` must be a positive int, the model width d_model "
                f"(e.g. 512 for the paper's base model). Received: hidden_dim={hidden_dim!r}"
            )
        if not _is_positive_int(warmup_steps):
            raise ValueError(
                "`warmup_steps` must be a positive int (the paper uses 4000). "
                f"Received: warmup_steps={warmup_steps!r}"
            )
        if not scale > 0:
            raise ValueError(
                "`scale` must be a positive number; use 1.0 for the paper's rate. "
                f"Received: scale={scale!r}"
            )
        self.hidden_dim = int(hidden_dim)
        self.warmup_steps = int(warmup_steps)
        self.scale = float(scale)

    def __call__(self, step):
        step = ops.maximum(ops.cast(step, "float32"), 1.0)
        warmup = step * self.warmup_steps**-1.5  # rising part
        decay = ops.rsqrt(step)  # falling part
        return self.scale * self.hidden_dim**-0.5 * ops.minimum(warmup, decay)

    def get_config(self) -> dict:
        return {
            "hidden_dim": self.hidden_dim,
            "warmup_steps": self.warmup_steps,
            "scale": self.scale,
        }


def _is_positive_int(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool) and value > 0
