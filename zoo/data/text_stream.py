"""Running text for language models: read a file, split it, cut it into training windows.

A character language model reads one long stream of ids (`zoo.data.ByteTokenizer`), not
sentences. Training windows start at random offsets (nanoGPT's sampling; a fresh draw each
step, reproducible by seed); validation windows tile the split without overlap, so the
validation loss is a fixed number. Every window starts with the start id, so a model also
learns to begin a text from nothing (an empty prompt):

```
inputs   [start] x[o] x[o+1] ... x[o+L-1]      (B, L + 1)
labels   x[o]    x[o+1] ...  x[o+L-1] x[o+L]   (B, L + 1)
```

`validation_dataset(..., score_first=False)` pads the label of the start position, so the
validation loss counts exactly the `L` predictions that each see at least one character —
the same quantity nanoGPT reports.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from zoo.data.text_files import read_text_bytes
from zoo.special_ids import PAD_ID, START_ID

GENERATED_TEXT_NAME = "zoo-generated English and French sentences"


def read_text(path: str | os.PathLike) -> str:
    """A UTF-8 text file (a byte-order mark is dropped), with a clear error when it is not
    one: missing, a directory, empty, binary or another encoding."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"No text file at '{path}'. Pass the path of a UTF-8 text file.")
    if path.is_dir():
        raise ValueError(f"'{path}' is a directory; pass one UTF-8 text file.")
    data = read_text_bytes(path, expected="a text file for a language model to learn from")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise ValueError(
            f"'{path}' is not UTF-8: byte {error.start} (line {line}) cannot be decoded. "
            "Convert it, e.g. `iconv -f latin1 -t utf-8`."
        ) from error
    if not text.strip():
        raise ValueError(f"'{path}' is empty; a language model needs text to learn from.")
    return text


def generated_text(num_pairs: int = 20000, seed: int = 0) -> str:
    """The default corpus, made by zoo itself: sentences of the embedded English-French
    grammar, each English sentence on a line followed by its French translation."""
    from zoo.data.synthetic_en_fr import generate_en_fr_pairs

    pairs = generate_en_fr_pairs(num_pairs, seed=seed)
    return "".join(f"{english}\n{french}\n\n" for english, french in pairs)


def split_text(text: str, validation_fraction: float = 0.1) -> tuple[str, str]:
    """The first `1 - validation_fraction` of the text to train on, the rest to validate."""
    if not 0 < validation_fraction < 1:
        raise ValueError(
            f"`validation_fraction` must be in (0, 1), received {validation_fraction!r}."
        )
    cut = int(len(text) * (1 - validation_fraction))
    return text[:cut], text[cut:]


def _check(ids: np.ndarray, sequence_length: int, batch_size: int, name: str) -> None:
    if sequence_length < 1 or batch_size < 1:
        raise ValueError(
            "`sequence_length` and `batch_size` must be positive; received "
            f"sequence_length={sequence_length}, batch_size={batch_size}."
        )
    if len(ids) < sequence_length + 1:
        raise ValueError(
            f"The {name} text has {len(ids)} tokens, fewer than one window of "
            f"sequence_length + 1 = {sequence_length + 1}; use more text or a shorter "
            "--sequence-length."
        )


def _windows(ids, offsets, sequence_length):
    """`(inputs, labels)` for windows starting at `offsets`: `(N, L + 1)` each."""
    import tensorflow as tf

    positions = offsets[:, None] + tf.range(sequence_length + 1, dtype=offsets.dtype)
    chunk = tf.gather(ids, positions)  # (N, L + 1): x[o] ... x[o + L]
    start = tf.fill([tf.shape(chunk)[0], 1], tf.constant(START_ID, ids.dtype))
    return tf.concat([start, chunk[:, :-1]], axis=1), chunk


def training_dataset(
    ids, sequence_length: int, batch_size: int, *, seed: int = 0, start_step: int = 0
):
    """An endless dataset of batches of windows at random offsets (one draw per step).

    The draws depend on `seed` alone: step `n` of a run trains on the same windows whether
    or not the run was stopped before it. A run resumed after `n` steps passes
    `start_step=n` to continue the same stream instead of starting it over."""
    import tensorflow as tf

    ids = np.asarray(ids, dtype=np.int32)
    _check(ids, sequence_length, batch_size, "training")
    table = tf.constant(ids)
    last_offset = len(ids) - sequence_length - 1
    offsets = tf.data.Dataset.random(seed=seed).map(lambda x: x % (last_offset + 1))
    if isinstance(start_step, bool) or not isinstance(start_step, int) or start_step < 0:
        raise ValueError(f"`start_step` must be a non-negative int. Received: {start_step!r}")
    return (
        offsets.batch(batch_size, drop_remainder=True)
        .skip(start_step)
        .map(lambda o: _windows(table, tf.cast(o, tf.int32), sequence_length))
        .prefetch(tf.data.AUTOTUNE)
    )


def validation_dataset(
    ids, sequence_length: int, batch_size: int, *, score_first: bool = False, limit=None
):
    """Non-overlapping windows over the whole split (the first `limit` of them, if given).

    `score_first=False` pads the label at the start position, so the loss counts the `L`
    predictions made with context."""
    import tensorflow as tf

    ids = np.asarray(ids, dtype=np.int32)
    _check(ids, sequence_length, batch_size, "validation")
    offsets = np.arange(0, len(ids) - sequence_length, sequence_length, dtype=np.int32)
    if limit is not None:
        offsets = offsets[:limit]
    table = tf.constant(ids)

    def windows(o):
        inputs, labels = _windows(table, o, sequence_length)
        if not score_first:
            labels = tf.concat([tf.fill([tf.shape(labels)[0], 1], PAD_ID), labels[:, 1:]], 1)
        return inputs, labels

    dataset = tf.data.Dataset.from_tensor_slices(offsets).batch(batch_size).map(windows)
    return dataset.prefetch(tf.data.AUTOTUNE)
