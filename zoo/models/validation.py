"""Checks every family's config runs in `__post_init__`: say what was wrong and how to fix."""

from __future__ import annotations

from zoo.registry import TASKS
from zoo.special_ids import END_ID

# Tasks whose inputs are token ids: their vocabulary holds the special ids (padding,
# unknown, start, end) and at least one token of text.
TOKEN_TASKS = ("seq2seq", "lm", "mlm", "classify")
MIN_VOCAB_SIZE = END_ID + 2


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
    if config.task in TOKEN_TASKS:
        for name in ("vocab_size", "target_vocab_size"):
            value = getattr(config, name)
            if value is not None and value < MIN_VOCAB_SIZE:
                raise ValueError(
                    f"{name} must be at least {MIN_VOCAB_SIZE} (ids 0-{END_ID} are padding, "
                    f"unknown, start and end; text needs at least one more), received {value}. "
                    "Pass the tokenizer's vocabulary_size."
                )
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
