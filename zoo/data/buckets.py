"""Length buckets and padding shared by zoo's batch pipelines: `tf.data` (`pipeline`) and
numpy (`numpy_batches`, for machines without TensorFlow). Needs numpy alone."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np

from zoo.special_ids import PAD_ID


class TokenizerLike(Protocol):
    """What the pipelines need of a tokenizer; `SubwordTokenizer` is one."""

    pad_id: int
    start_id: int
    end_id: int

    def encode(self, texts: Sequence[str]) -> list[list[int]]:
        """Text → ids, without start or end ids."""
        ...


def default_bucket_boundaries(max_length: int) -> tuple[int, ...]:
    """Padded lengths 8, 12, 16, 24, 32, 48, 64, ... below `max_length`, then `max_length`.

    Each boundary is at most 1.5 times the one before, so a batch is at most a third
    padding beyond the padding its own lengths need.

    >>> default_bucket_boundaries(64)
    (8, 12, 16, 24, 32, 48, 64)
    >>> default_bucket_boundaries(50)
    (8, 12, 16, 24, 32, 48, 50)
    """
    boundaries = []
    boundary = 8
    while boundary < max_length:
        boundaries.append(boundary)
        boundary = boundary * 3 // 2 if boundary & (boundary - 1) == 0 else boundary * 4 // 3
    return (*boundaries, max_length)


def check_tokenizer(tokenizer: TokenizerLike, name: str) -> None:
    if getattr(tokenizer, "pad_id", None) != PAD_ID:
        raise ValueError(
            f"`{name}` must use id 0 for padding (zoo's models and losses assume it); its "
            f"pad_id is {getattr(tokenizer, 'pad_id', None)!r}. Use `SubwordTokenizer`."
        )
    for attribute in ("start_id", "end_id", "encode"):
        if not hasattr(tokenizer, attribute):
            raise TypeError(
                f"`{name}` has no `{attribute}`; pass a `zoo.data.SubwordTokenizer` "
                "(or an object with `encode`, `pad_id`, `start_id` and `end_id`)."
            )


def translation_buckets(
    pairs,
    tokenizer: TokenizerLike,
    target_tokenizer: TokenizerLike | None,
    *,
    batch_size: int | None,
    tokens_per_batch: int | None,
    max_length: int,
    bucket_boundaries: Sequence[int] | None,
) -> tuple[tuple[int, ...], list[int]]:
    """Checks a translation pipeline's arguments; returns `(bucket boundaries, sentences per
    batch of each bucket)` (one more size than boundaries, never used: nothing is longer)."""
    if (batch_size is None) == (tokens_per_batch is None):
        raise ValueError(
            "Pass exactly one of `batch_size` (sentences per batch) and `tokens_per_batch`; "
            f"received batch_size={batch_size}, tokens_per_batch={tokens_per_batch}. To batch "
            "by tokens, pass batch_size=None."
        )
    if max_length < 2:
        raise ValueError(
            f"`max_length` must be at least 2 (a start or end id and one token); received "
            f"max_length={max_length}."
        )
    if bucket_boundaries is None:
        bucket_boundaries = default_bucket_boundaries(max_length)
    bucket_boundaries = tuple(int(boundary) for boundary in bucket_boundaries)
    if list(bucket_boundaries) != sorted(set(bucket_boundaries)) or bucket_boundaries[0] < 1:
        raise ValueError(
            f"`bucket_boundaries` must be positive and strictly increasing; received "
            f"{bucket_boundaries}."
        )
    if bucket_boundaries[-1] != max_length:
        raise ValueError(
            f"The last bucket boundary must equal max_length={max_length} so that every "
            f"sequence fits a bucket; received bucket_boundaries={bucket_boundaries}. Append "
            f"{max_length}, or leave bucket_boundaries out."
        )
    if not pairs:
        raise ValueError("`pairs` is empty; pass at least one (source, target) pair.")
    target_tokenizer = target_tokenizer or tokenizer
    check_tokenizer(tokenizer, "tokenizer")
    check_tokenizer(target_tokenizer, "target_tokenizer")
    if batch_size is not None:
        bucket_batch_sizes = [batch_size] * (len(bucket_boundaries) + 1)
    else:
        bucket_batch_sizes = [max(1, tokens_per_batch // b) for b in bucket_boundaries]
        bucket_batch_sizes.append(bucket_batch_sizes[-1])  # Never used: nothing is longer.
    return bucket_boundaries, bucket_batch_sizes


def bucket_batch_count(
    lengths: Sequence[int],
    bucket_boundaries: Sequence[int],
    bucket_batch_sizes: Sequence[int],
    *,
    drop_remainder: bool = False,
) -> int:
    """How many batches bucketing by length makes of items of these `lengths`: bucket `i`
    holds the lengths in `(boundary[i-1], boundary[i]]` and gives `ceil(count / size)`
    batches (`floor` with `drop_remainder`), whatever the order of the items.

    Pipelines declare it as their cardinality (`tf.data.experimental.assert_cardinality`):
    Keras 3.15's `fit()` on TensorFlow takes one extra optimizer step at the end of every
    epoch whose length it does not know (measured: with Adam, the weights move)."""
    bucket_of = np.searchsorted(np.asarray(bucket_boundaries), np.asarray(lengths), side="left")
    counts = np.bincount(bucket_of, minlength=len(bucket_boundaries))
    total = 0
    for count, size in zip(counts, bucket_batch_sizes):
        total += count // size if drop_remainder else -(-count // size)
    return int(total)


def translation_ids(pairs, tokenizer, target_tokenizer, max_length: int):
    """`(source ids, target ids)`, Python lists: sources cut to `max_length` ids, targets to
    `max_length - 1` so that the start or end id still fits."""
    sources = [source for source, _ in pairs]
    targets = [target for _, target in pairs]
    source_ids = [ids[:max_length] for ids in tokenizer.encode(sources)]
    target_ids = [ids[: max_length - 1] for ids in target_tokenizer.encode(targets)]
    return source_ids, target_ids


def pad_batch(rows: Sequence[Sequence[int]], max_length: int | None = None) -> np.ndarray:
    """Right-pad id lists with the padding id into an int32 array; at least one column."""
    rows = [list(row)[:max_length] if max_length else list(row) for row in rows]
    width = max(1, max((len(row) for row in rows), default=0))
    return np.array([row + [PAD_ID] * (width - len(row)) for row in rows], dtype="int32")
