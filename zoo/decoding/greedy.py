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
from zoo.decoding.token_loop import decode_token_by_token


def greedy_decode(model, encoder_token_ids=None, *, start_id, end_id, max_length, batch_size=None):
    """Decode the argmax token step by step until `end_id` or `max_length` tokens.

    Args:
        model: a zoo `seq2seq` or `lm` model, or anything with `init_decode_state` and
            `decode_step` (see `zoo.decoding.protocol`).
        encoder_token_ids: int32 `(B, S)` source ids, 0 = padding; for a `seq2seq` model.
        start_id: the id fed at index 0.
        end_id: the id that ends a sequence; it is emitted, then only padding follows.
        max_length: the most tokens emitted per sequence. A Python int; on TensorFlow also a
            scalar int tensor (the output then has a dynamic length axis).
        batch_size: the number of sequences for a language model (`task="lm"`); a Python int
            or, on TensorFlow, a scalar tensor.

    Returns:
        `(token_ids, scores)`: int32 `(B, max_length)` emitted ids without the start id,
        0 after `end_id`; float32 `(B,)` sums of the log-probabilities of the emitted tokens
        (the end token included). The padding id 0 is never emitted.

    Example:
    >>> import numpy as np, zoo
    >>> model = zoo.build("lstm", task="seq2seq", preset="tiny", vocab_size=20)
    >>> ids, scores = greedy_decode(model, np.array([[5, 6, 7]]), start_id=1, end_id=2,
    ...                             max_length=4)
    >>> tuple(ids.shape), tuple(scores.shape)
    ((1, 4), (1,))
    """
    check_special_ids(start_id, end_id)
    max_length = check_size("max_length", max_length)
    state, batch_size = start_decoding(model, encoder_token_ids, batch_size, max_length)
    return decode_token_by_token(
        model,
        state,
        batch_size,
        lambda logits, log_probs: ops.argmax(log_probs, axis=-1),
        start_id=start_id,
        end_id=end_id,
        max_length=max_length,
    )
