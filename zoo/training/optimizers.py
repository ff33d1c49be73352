"""One optimiser helper for the tasks trained with AdamW: warm-up, then cosine or constant.

Translation keeps its own recipe (`zoo.training.seq2seq`: Adam with beta_2 0.98, the
paper's schedule, EMA); generation, fill-in-the-blank and classification take theirs here.
"""

from __future__ import annotations

import keras

DECAYS = ("cosine", "constant")


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
    schedule = keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=0.0 if warmup_steps else learning_rate,
        decay_steps=steps,
        alpha=alpha,
        warmup_target=learning_rate if warmup_steps else None,
        warmup_steps=warmup_steps,
    )
    optimizer = keras.optimizers.AdamW(
        schedule, weight_decay=weight_decay, beta_1=beta_1, beta_2=beta_2, clipnorm=clipnorm
    )
    optimizer.exclude_from_weight_decay(var_names=["bias", "gamma", "beta"])
    return optimizer
