"""Greedy decoding: the most likely next token at every step, through the model's cache.

Written with `keras.ops.while_loop` over a fixed-shape loop state rather than
`keras_hub.samplers.GreedySampler`: the sampler never shows its `next` callback which token
it chose, so it cannot return the sum of log-probabilities, and it keeps writing tokens
into rows that have already ended (its caller masks them afterwards). The loop below traces
inside `tf.function` (for a SavedModel signature) and runs on JAX.
"""

from __future__ import annotations

from keras import ops

from zoo.decoding.protocol import (
    PAD_ID,
    check_size,
    check_special_ids,
    start_decoding,
    token_log_probs,
)


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

    def cond(index, last_tokens, token_ids, scores, finished, state):
        return ops.logical_not(ops.all(finished))

    def body(index, last_tokens, token_ids, scores, finished, state):
        logits, state = model.decode_step(state, last_tokens, index)
        log_probs = token_log_probs(logits)  # (B, V)
        next_tokens = ops.cast(ops.argmax(log_probs, axis=-1), "int32")  # (B,)
        next_log_probs = ops.take_along_axis(log_probs, next_tokens[:, None], axis=-1)[:, 0]
        # Rows that have ended emit padding and add nothing to their score.
        next_tokens = ops.where(finished, PAD_ID, next_tokens)
        scores = scores + ops.where(finished, 0.0, next_log_probs)
        token_ids = ops.slice_update(token_ids, (0, index), next_tokens[:, None])
        finished = ops.logical_or(finished, ops.equal(next_tokens, end_id))
        return index + 1, next_tokens, token_ids, scores, finished, state

    loop_state = (
        ops.convert_to_tensor(0, dtype="int32"),
        ops.full((batch_size,), start_id, dtype="int32"),
        ops.zeros((batch_size, max_length), dtype="int32"),
        ops.zeros((batch_size,), dtype="float32"),
        ops.zeros((batch_size,), dtype="bool"),
        state,
    )
    _, _, token_ids, scores, _, _ = ops.while_loop(
        cond, body, loop_state, maximum_iterations=max_length
    )
    return token_ids, scores
