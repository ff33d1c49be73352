"""How zoo compiles a sequence-to-sequence model: the paper's optimiser, loss and metric."""

from __future__ import annotations

import keras

from zoo.training.losses import MaskedSparseCategoricalCrossentropy
from zoo.training.metrics import MaskedTokenAccuracy
from zoo.training.optimizers import Muon, policy_ns_dtype
from zoo.training.schedules import TransformerSchedule

SEQ2SEQ_OPTIMIZERS = ("adam", "muon")


def compile_seq2seq(
    model,
    *,
    warmup_steps: int = 4000,
    learning_rate_scale: float = 1.0,
    label_smoothing: float = 0.1,
    jit_compile: bool | str = "auto",
    clipnorm: float | None = 1.0,
    ema_momentum: float | None = None,
    optimizer: str = "adam",
):
    """Compile `model` as the paper trains it (§5.3, §5.4).

    Adam with `beta_1 = 0.9, beta_2 = 0.98, epsilon = 1e-9`; the warm-up then inverse square
    root learning rate for the model's `hidden_dim`; cross-entropy with label smoothing 0.1
    over real tokens only; token accuracy over real tokens. The same recipe works for the RNN
    families (their `hidden_dim` sets the schedule's scale); `clipnorm` guards the RNNs
    against the exploding gradients the seed describes.

    `ema_momentum` (e.g. 0.99) keeps an exponential moving average of the weights, which
    `fit()` writes into the model when it ends (Keras's `use_ema`): the average of the last
    ~`1 / (1 - ema_momentum)` steps, a cheap stand-in for checkpoint averaging.

    `optimizer="muon"`: zoo's Muon (`zoo.training.optimizers.Muon`) for the weight matrices
    — Moonlight's RMS-matched step, so the same schedule serves — and this Adam (same betas,
    epsilon, no weight decay) for embeddings, biases and norms; its Newton-Schulz iterations
    in bfloat16 under a `mixed_bfloat16` policy.

    Returns:
        The model, compiled.
    """
    schedule = TransformerSchedule(
        model.config.hidden_dim, warmup_steps=warmup_steps, scale=learning_rate_scale
    )
    if ema_momentum is not None and not 0.0 <= ema_momentum < 1.0:
        raise ValueError(
            f"`ema_momentum` must be in [0, 1) (e.g. 0.99), or None for no average; received "
            f"{ema_momentum!r}."
        )
    if optimizer not in SEQ2SEQ_OPTIMIZERS:
        raise ValueError(
            f"Unknown optimizer {optimizer!r}; choose one of {', '.join(SEQ2SEQ_OPTIMIZERS)}."
        )
    options = dict(
        clipnorm=clipnorm,
        use_ema=ema_momentum is not None,
        ema_momentum=0.99 if ema_momentum is None else ema_momentum,
    )
    if optimizer == "muon":
        optimizer = Muon(
            schedule,
            adam_beta_1=0.9,
            adam_beta_2=0.98,
            epsilon=1e-9,
            weight_decay=0.0,
            adam_weight_decay=0.0,
            ns_dtype=policy_ns_dtype(),
            **options,
        )
    else:
        optimizer = keras.optimizers.Adam(
            schedule, beta_1=0.9, beta_2=0.98, epsilon=1e-9, **options
        )
    model.compile(
        optimizer=optimizer,
        loss=MaskedSparseCategoricalCrossentropy(label_smoothing=label_smoothing),
        metrics=[MaskedTokenAccuracy()],
        jit_compile=jit_compile,
    )
    return model
