"""Greedy decoding: the most likely next token at every step, through the model's cache.

Written with `keras.ops.while_loop` over a fixed-shape loop state rather than
`keras_hub.samplers.GreedySampler`: the sampler never shows its `next` callback which token
it chose, so it cannot return the sum of log-probabilities, and it keeps writing tokens
into rows that have already ended (its caller masks them afterwards). The loop
(`token_loop.py`) traces inside `tf.function` (for a SavedModel signature) and runs on JAX.
"""

from __future__ import annotations

from keras import ops

from zoo.decoding.protocol import check_size, check_special_ids, start_decoding
from zoo.decoding.repetition import check_ngram_size
from zoo.decoding.token_loop import decode_token_by_token


def greedy_decode(model, token_ids, *, start_id, end_id, max_length, no_repeat_ngram_size=0):
    """Decode the argmax token step by step until `end_id` or `max_length` tokens.

    Args:
        model: a zoo `seq2seq` or `lm` model, or anything that implements
            `zoo.decoding.protocol.Decodable`.
        token_ids: int32 `(B, T)`, 0 = padding: the source ids for a `seq2seq` model; for an
            `lm`, the prompt ids, right-padded, each row with at least one real token (an
            empty prompt is `[start_id]`). Decoding continues each prompt from its last real
            token; the prompt is not part of the output.
        start_id: the id fed at index 0 to a `seq2seq` model (an `lm` starts from its
            prompt).
        end_id: the id that ends a sequence; it is emitted, then only padding follows.
        max_length: the most tokens emitted per sequence. A Python int; on TensorFlow also a
            scalar int tensor (the output then has a dynamic length axis).
        no_repeat_ngram_size: `n >= 1` never emits a token that would make an n-gram of
            the emitted tokens appear twice; 0 (the default) allows repeats. A Python int,
            or a scalar int32 tensor (0 is off there too); see `zoo.decoding.repetition`.

    Returns:
        `(token_ids, scores)`: int32 `(B, max_length)` emitted ids without the start id,
        0 after `end_id`; float32 `(B,)` sums of the log-probabilities of the emitted tokens
        (the end token included). The padding id 0 is never emitted.

    Example:
    >>> import numpy as np, zoo
    >>> model = zoo.build("lstm", task="seq2seq", preset="tiny", vocab_size=20)
    >>> ids, scores = greedy_decode(model, np.array([[5, 6, 7]]), start_id=2, end_id=3,
    ...                             max_length=4)
    >>> tuple(ids.shape), tuple(scores.shape)
    ((1, 4), (1,))
    """
    check_special_ids(start_id, end_id)
    max_length = check_size("max_length", max_length)
    no_repeat_ngram_size = check_ngram_size(no_repeat_ngram_size)
    state, first_tokens = start_decoding(model, token_ids, max_length, start_id)
    return decode_token_by_token(
        model,
        state,
        first_tokens,
        lambda logits, log_probs, index: ops.argmax(log_probs, axis=-1),
        end_id=end_id,
        max_length=max_length,
        no_repeat_ngram_size=no_repeat_ngram_size,
    )
