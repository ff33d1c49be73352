"""One optimiser helper for the tasks trained with AdamW: warm-up, then cosine or constant.

Translation keeps its own recipe (`zoo.training.seq2seq`: Adam with beta_2 0.98, the
paper's schedule, EMA); generation, fill-in-the-blank and classification take theirs here.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

import keras
from keras import ops

DECAYS = ("cosine", "constant")


def warmup_schedule(
    learning_rate: float,
    *,
    warmup_steps: int = 0,
    decay: str = "cosine",
    decay_steps: int | None = None,
    min_learning_rate: float | None = None,
) -> keras.optimizers.schedules.LearningRateSchedule:
    """A linear warm-up from 0 to `learning_rate` over `warmup_steps`, then `decay`:
    `"cosine"` down to `min_learning_rate` at step `decay_steps`, or `"constant"`."""
    if not learning_rate > 0:
        raise ValueError(f"`learning_rate` must be positive; received {learning_rate}.")
    if decay not in DECAYS:
        raise ValueError(f"`decay` must be one of {DECAYS}; received {decay!r}.")
    if decay == "cosine":
        if decay_steps is None or min_learning_rate is None:
            raise ValueError("A cosine decay needs `decay_steps` and `min_learning_rate`.")
        if not 0 < min_learning_rate <= learning_rate:
            raise ValueError(
                "Need 0 < min_learning_rate <= learning_rate; received "
                f"{min_learning_rate} and {learning_rate}."
            )
        warmup_steps = min(warmup_steps, max(decay_steps - 1, 0))
        steps, alpha = max(decay_steps - warmup_steps, 1), min_learning_rate / learning_rate
    else:
        steps, alpha = 1, 1.0  # with alpha = 1 the "decay" keeps the rate constant
    return keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=0.0 if warmup_steps else learning_rate,
        decay_steps=steps,
        alpha=alpha,
        warmup_target=learning_rate if warmup_steps else None,
        warmup_steps=warmup_steps,
    )


def adamw(
    learning_rate: float,
    *,
    warmup_steps: int = 0,
    decay: str = "cosine",
    decay_steps: int | None = None,
    min_learning_rate: float | None = None,
    weight_decay: float = 0.01,
    beta_1: float = 0.9,
    beta_2: float = 0.999,
    clipnorm: float | None = 1.0,
) -> keras.optimizers.AdamW:
    """AdamW with a linear warm-up from 0 to `learning_rate` over `warmup_steps`, then
    `decay`: `"cosine"` down to `min_learning_rate` at step `decay_steps` (nanoGPT's,
    BERT's recipe; a warm-up longer than the decay is cut to `decay_steps - 1`), or
    `"constant"` at `learning_rate`. Weight decay skips biases and layer-norm scales and
    offsets.
    """
    schedule = warmup_schedule(
        learning_rate,
        warmup_steps=warmup_steps,
        decay=decay,
        decay_steps=decay_steps,
        min_learning_rate=min_learning_rate,
    )
    optimizer = keras.optimizers.AdamW(
        schedule, weight_decay=weight_decay, beta_1=beta_1, beta_2=beta_2, clipnorm=clipnorm
    )
    optimizer.exclude_from_weight_decay(var_names=["bias", "gamma", "beta"])
    return optimizer


OPTIMIZERS = ("adamw", "muon")


@keras.saving.register_keras_serializable(package="zoo")
class Muon(keras.optimizers.Muon):
    """`keras.optimizers.Muon` that also orthogonalises zoo's multi-axis kernels.

    Keras's Muon sends every variable that is not 2-D down its AdamW path, which in zoo's
    Transformer would be every attention weight (`query_key_value/kernel` is
    `(model_dim, 3, heads, head_dim)`, `output/kernel` `(heads, head_dim, model_dim)`). Here a
    kernel of more than two axes is updated as the matrix it multiplies by — `(first axis,
    the rest)`, or `(all but the last axis, last axis)` for an attention `output` kernel —
    and reshaped back. Vectors, biases of any shape (an attention layer's `(3, heads,
    head_dim)` bias is no matrix), embeddings and the layers named in `exclude_layers` take
    the AdamW path, as in Keras.

    `ns_dtype` (e.g. `"bfloat16"`, as the Muon authors run it): the dtype of the
    Newton-Schulz iterations; `None` keeps the variable's (float32).
    """

    def __init__(self, *args, ns_dtype: str | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.ns_dtype = ns_dtype

    def _should_use_adamw(self, variable):
        if len(variable.shape) < 2 or variable.path.rsplit("/", 1)[-1] == "bias":
            return True
        if self.exclude_embeddings and "embedding" in variable.path.lower():
            return True
        return any(re.search(keyword, variable.path) for keyword in self.exclude_layers)

    @staticmethod
    def matrix_shape(variable) -> tuple[int, int]:
        """The `(fan_in, fan_out)` matrix a kernel multiplies by."""
        shape = tuple(variable.shape)
        if len(shape) == 2:
            return shape
        if "attention/output/" in variable.path:
            return math.prod(shape[:-1]), shape[-1]
        return shape[0], math.prod(shape[1:])

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        # Under TensorFlow the update step sees the backend's variables (no Keras `path`).
        self._matrix_shapes = [self.matrix_shape(variable) for variable in var_list]

    def _muon_update_step(self, gradient, variable, lr, m):
        matrix_shape = self._matrix_shapes[self._get_variable_index(variable)]
        self.assign_add(m, ops.add(gradient, m * (self.momentum - 1)))
        g = ops.reshape(ops.add(gradient, self.momentum * m) if self.nesterov else m, matrix_shape)
        if self.ns_dtype is not None:
            g = ops.cast(g, self.ns_dtype)
        matrix = ops.cast(self.zeropower_via_newtonschulz5(g, self.ns_steps), variable.dtype)
        update = self.lr_adjust(lr * matrix)
        self.assign_sub(variable, ops.reshape(update, variable.shape))

    def get_config(self):
        return {**super().get_config(), "ns_dtype": self.ns_dtype}


def policy_ns_dtype() -> str | None:
    """bfloat16 for Muon's iterations when the global dtype policy computes in it."""
    return "bfloat16" if keras.config.dtype_policy().compute_dtype == "bfloat16" else None


def muon(
    learning_rate: float,
    *,
    weight_decay: float = 0.01,
    beta_1: float = 0.9,
    beta_2: float = 0.999,
    clipnorm: float | None = 1.0,
    exclude_layers: Sequence[str] = ("logits", "classifier"),
    ns_dtype: str | None = None,
    **schedule,
) -> Muon:
    """Muon for the weight matrices (Moonlight's RMS-matched step, so AdamW's learning rate
    and weight decay carry over), AdamW for embeddings, vectors and the output layers named
    in `exclude_layers`. `schedule`: `warmup_schedule`'s options (`warmup_steps`, `decay`,
    `decay_steps`, `min_learning_rate`), as `adamw` takes them; the same weight-decay
    exclusions as `adamw`. `ns_dtype`: `Muon`'s; None: bfloat16 when the dtype policy
    computes in bfloat16 (`mixed_bfloat16`), else the variables' float32."""
    optimizer = Muon(
        warmup_schedule(learning_rate, **schedule),
        adam_beta_1=beta_1,
        adam_beta_2=beta_2,
        weight_decay=weight_decay,
        adam_weight_decay=weight_decay,
        clipnorm=clipnorm,
        exclude_layers=list(exclude_layers),
        ns_dtype=ns_dtype or policy_ns_dtype(),
    )
    optimizer.exclude_from_weight_decay(var_names=["bias", "gamma", "beta"])
    return optimizer


def make_optimizer(name: str, learning_rate: float, **options):
    """`adamw(...)` or `muon(...)` by name (`OPTIMIZERS`), with the same options."""
    if name not in OPTIMIZERS:
        raise ValueError(f"Unknown optimizer {name!r}; choose one of {', '.join(OPTIMIZERS)}.")
    return (adamw if name == "adamw" else muon)(learning_rate, **options)
