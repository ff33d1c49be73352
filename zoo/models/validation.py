"""Checks every family's config runs in `__post_init__`: say what was wrong and how to fix."""

from __future__ import annotations

from zoo.registry import TASKS


def check_positive(config, *names):
    for name in names:
        value = getattr(config, name)
        if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
            raise ValueError(f"{name} must be a positive integer, received {value!r}.")


def check_common_fields(config, family: str):
    if config.task not in TASKS:
        raise ValueError(f"Unknown task {config.task!r}; valid tasks: {', '.join(TASKS)}.")
    check_positive(
        config,
        "vocab_size",
        "num_layers",
        "hidden_dim",
        "num_classes",
        "num_features",
        "num_outputs",
    )
    if config.target_vocab_size is not None:
        check_positive(config, "target_vocab_size")
    if not 0.0 <= config.dropout < 1.0:
        raise ValueError(f"dropout must be in [0, 1), received {config.dropout!r}.")
    if config.share_embeddings and config.task == "seq2seq":
        target = config.target_vocab_size
        if target is not None and target != config.vocab_size:
            raise ValueError(
                f"share_embeddings=True ties the source and target embeddings, so "
                f"target_vocab_size ({target}) must equal vocab_size ({config.vocab_size}); "
                "use one shared vocabulary or set share_embeddings=False."
            )
