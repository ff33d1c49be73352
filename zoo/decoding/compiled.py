"""Compiled decoders, cached per model and settings: trace a search once, call it often."""

from __future__ import annotations

import weakref

import keras

from zoo.decoding.beam_search import LENGTH_PENALTY, beam_search
from zoo.decoding.greedy import greedy_decode

# Compiled decoders by model, then by settings: tracing beam search takes seconds, so
# repeated `translate_texts` calls reuse it. Weak keys: a cached decoder never keeps a model.
_DECODERS = weakref.WeakKeyDictionary()


def compiled_decoder(
    model,
    *,
    beam_width,
    start_id,
    end_id,
    max_length,
    length_penalty=LENGTH_PENALTY,
    no_repeat_ngram_size=0,
):
    """`token ids (B, S) -> (token_ids, scores)`, compiled once: a `tf.function` on
    TensorFlow (one trace for every batch and input length), `jax.jit` on JAX, eager
    elsewhere. The ids are a seq2seq model's source or a language model's prompts (see
    `zoo.decoding.protocol`). `beam_width=1` decodes greedily. The same model and settings
    give the same (cached) decoder."""
    settings = (beam_width, start_id, end_id, max_length, length_penalty, no_repeat_ngram_size)
    try:
        cached = _DECODERS.setdefault(model, {})
    except TypeError:  # not weakly referable: compile afresh
        cached = {}
    if settings not in cached:
        cached[settings] = _compile_decoder(model, *settings)
    return cached[settings]


def _compile_decoder(
    model, beam_width, start_id, end_id, max_length, length_penalty, no_repeat_ngram_size
):
    # The decoder holds the model weakly, so that caching it never keeps the model alive.
    try:
        model_reference = weakref.ref(model)
    except TypeError:  # not weakly referable (and then not cached either)
        model_reference = lambda: model  # noqa: E731

    def decode(source):
        model = model_reference()
        common = dict(start_id=start_id, end_id=end_id, max_length=max_length)
        if no_repeat_ngram_size:
            common["no_repeat_ngram_size"] = no_repeat_ngram_size
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
