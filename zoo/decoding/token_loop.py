"""The one-token-at-a-time loop that greedy decoding and sampling share.

A `keras.ops.while_loop` over a fixed-shape state — the step index, the last tokens
`(B,)`, the output buffer `(B, max_length)`, the scores `(B,)`, which rows have ended
`(B,)`, the model's decoding state and, when repeats are blocked, the n-gram carry of
`repetition.py` — so it traces inside `tf.function` and runs on JAX.
"""

from __future__ import annotations

from keras import ops

from zoo.decoding import repetition
from zoo.decoding.protocol import token_log_probs
from zoo.special_ids import PAD_ID


def decode_token_by_token(
    model,
    state,
    first_tokens,
    choose_next,
    *,
    end_id,
    max_length,
    no_repeat_ngram_size=0,
    run_loop=None,
):
    """Feed `first_tokens`, then each chosen token, until every row has emitted `end_id`.

    Args:
        model, state, first_tokens: the model and what `start_decoding` returned for it.
        choose_next: `(logits, log_probs, index) -> (B,)` int ids, `index` the step (a
            stateless sampler seeds its draw with it); `log_probs` are the model's
            float32 log-probabilities with the padding id (and any token that would repeat
            an n-gram) at `-inf`.
        end_id, max_length, no_repeat_ngram_size: as for `greedy_decode`
            (`no_repeat_ngram_size` checked by `repetition.check_ngram_size`).
        run_loop: a `keras.ops.while_loop`-like function (keyword arguments `cond`, `body`,
            `loop_vars`, `maximum_iterations`); a keras-nlp sampler's `run_loop` carries its
            random state on JAX.

    Returns:
        `(token_ids, scores)`: int32 `(B, max_length)`, 0 after `end_id`; float32 `(B,)` the
        sums of the log-probabilities of the emitted tokens.
    """
    blocking = repetition.blocks_repeats(no_repeat_ngram_size)

    def cond(index, last_tokens, token_ids, scores, finished, state, suffix_match):
        return ops.logical_not(ops.all(finished))

    def body(index, last_tokens, token_ids, scores, finished, state, suffix_match):
        logits, state = model.decode_step(state, last_tokens, index)
        log_probs = token_log_probs(logits)  # (B, V)
        choice_log_probs = log_probs
        if blocking:  # `token_ids` is the emitted history
            banned = repetition.banned_tokens(
                token_ids, suffix_match, index, no_repeat_ngram_size, ops.shape(logits)[-1]
            )
            choice_log_probs = ops.where(banned, float("-inf"), log_probs)
        next_tokens = ops.cast(choose_next(logits, choice_log_probs, index), "int32")  # (B,)
        next_log_probs = ops.take_along_axis(log_probs, next_tokens[:, None], axis=-1)[:, 0]
        # Rows that have ended emit padding and add nothing to their score.
        next_tokens = ops.where(finished, PAD_ID, next_tokens)
        scores = scores + ops.where(finished, 0.0, next_log_probs)
        token_ids = ops.slice_update(token_ids, (0, index), next_tokens[:, None])
        if blocking:
            suffix_match = repetition.append_token(token_ids, suffix_match, index, next_tokens)
        finished = ops.logical_or(finished, ops.equal(next_tokens, end_id))
        return index + 1, next_tokens, token_ids, scores, finished, state, suffix_match

    batch_size = ops.shape(first_tokens)[0]
    loop_state = (
        ops.convert_to_tensor(0, dtype="int32"),
        ops.cast(first_tokens, "int32"),
        ops.zeros((batch_size, max_length), dtype="int32"),
        ops.zeros((batch_size,), dtype="float32"),
        ops.zeros((batch_size,), dtype="bool"),
        state,
        repetition.initial_suffix_match(batch_size, max_length) if blocking else (),
    )
    run_loop = run_loop or ops.while_loop
    _, _, token_ids, scores, _, _, _ = run_loop(
        cond=cond, body=body, loop_vars=loop_state, maximum_iterations=max_length
    )
    return token_ids, scores
