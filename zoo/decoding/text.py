"""Text in, text out, in-process: tokenize, decode in batches, detokenize."""

from __future__ import annotations

import weakref
from collections.abc import Sequence

import keras
import numpy as np

from zoo.decoding.beam_search import beam_search
from zoo.decoding.greedy import greedy_decode

# Compiled decoders by model, then by settings: tracing beam search takes seconds, so
# repeated `translate_texts` calls reuse it. Weak keys: a cached decoder never keeps a model.
_DECODERS = weakref.WeakKeyDictionary()


def compiled_decoder(model, *, beam_width, start_id, end_id, max_length, length_penalty=0.6):
    """`source ids (B, S) -> (token_ids, scores)`, compiled once: a `tf.function` on
    TensorFlow (one trace for every batch and source length), `jax.jit` on JAX, eager
    elsewhere. `beam_width=1` decodes greedily. The same model and settings give the same
    (cached) decoder."""
    settings = (beam_width, start_id, end_id, max_length, length_penalty)
    try:
        cached = _DECODERS.setdefault(model, {})
    except TypeError:  # not weakly referable: compile afresh
        cached = {}
    if settings not in cached:
        cached[settings] = _compile_decoder(model, *settings)
    return cached[settings]


def _compile_decoder(model, beam_width, start_id, end_id, max_length, length_penalty):
    # The decoder holds the model weakly, so that caching it never keeps the model alive.
    try:
        model_reference = weakref.ref(model)
    except TypeError:  # not weakly referable (and then not cached either)
        model_reference = lambda: model  # noqa: E731

    def decode(source):
        model = model_reference()
        common = dict(start_id=start_id, end_id=end_id, max_length=max_length)
        if beam_width == 1:
            return greedy_decode(model, source, **common)
        return beam_search(
            model, source, beam_width=beam_width, length_penalty=length_penalty, **common
        )

    backend = keras.config.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        return tf.function(decode, input_signature=[tf.TensorSpec([None, None], tf.int32)])
    if backend == "jax":
        import jax

        return jax.jit(decode)
    return decode


def pad_batch(rows: Sequence[Sequence[int]], max_length: int | None = None) -> np.ndarray:
    """Right-pad id lists with 0 into an int32 array; at least one column."""
    rows = [list(row)[:max_length] if max_length else list(row) for row in rows]
    width = max(1, max((len(row) for row in rows), default=0))
    return np.array([row + [0] * (width - len(row)) for row in rows], dtype="int32")


def translate_texts(
    model,
    tokenizer,
    texts: Sequence[str],
    *,
    beam_width: int = 4,
    length_penalty: float = 0.6,
    max_length: int = 64,
    max_source_length: int = 128,
    batch_size: int = 64,
) -> list[str]:
    """Translate `texts` with a seq2seq model and its (shared) `SubwordTokenizer`.

    `beam_width=1` decodes greedily. Sentences are sorted by length and decoded in batches of
    `batch_size`, then returned in the input order.
    """
    decode = compiled_decoder(
        model,
        beam_width=beam_width,
        start_id=tokenizer.start_id,
        end_id=tokenizer.end_id,
        max_length=max_length,
        length_penalty=length_penalty,
    )
    ids = tokenizer.encode(list(texts))
    order = np.argsort([len(row) for row in ids], kind="stable")
    outputs: list[str] = [""] * len(texts)
    for start in range(0, len(texts), batch_size):
        chosen = order[start : start + batch_size]
        tokens, _ = decode(pad_batch([ids[i] for i in chosen], max_source_length))
        tokens = np.asarray(tokens).tolist()
        decoded = tokenizer.decode(
            [[t for t in row if t not in (0, tokenizer.end_id)] for row in tokens]
        )
        for index, text in zip(chosen, decoded):
            outputs[index] = text
    return outputs
