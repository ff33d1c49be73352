"""Beam search with the length penalty of Wu et al. 2016, as the Transformer paper uses it.

Hypotheses are ranked by `log P(Y) / lp(Y)` with `lp(Y) = ((5 + |Y|) / 6) ** alpha`, where
`|Y|` counts the emitted tokens, the end token included (as in tensor2tensor). The paper
decodes with `beam_width=4, length_penalty=0.6`.

Each step extends the `beam_width` alive hypotheses of a row by every token and takes the
`2 * beam_width` best candidates by log-probability. A candidate that ends (emits `end_id`)
among the first `beam_width` of them is finished: its penalised score competes for the
row's best finished hypothesis, which is kept until the end. The best `beam_width`
candidates that do not end stay alive. A row stops (and is frozen: later steps change
nothing in it, so a row's result never depends on the other rows of its batch) by one of two
rules, `stop_rule`:

- `"current_length"` (the default, Hugging Face's `early_stopping=False` heuristic): once
  its best finished score beats the best alive hypothesis scored at its current length.
  A row usually stops a step or two after its best hypothesis ends.
- `"max_length"` (exact, tensor2tensor's bound): once no alive hypothesis can beat the best
  finished one whatever it emits later — log-probabilities only fall, but the length penalty
  grows, so an alive hypothesis is scored as if it reached `max_length` at no cost. Rarely
  stops before `max_length`; with a beam wider than the tree this is exhaustive search.

After `max_length` steps, or when a row stops, its alive hypotheses compete too, scored at
their length. With `beam_width=1` and `length_penalty=0` this is exactly greedy decoding.

Written with `keras.ops` rather than `keras_hub.samplers.BeamSampler`, which ranks by the
raw sum of log-probabilities (no length penalty), lets a beam that has ended keep
extending and competing instead of keeping it as a finished hypothesis, returns no scores
for the best beam, and needs `num_beams` as a Python int.
"""

from __future__ import annotations

import keras
from keras import ops

from zoo.decoding.protocol import (
    SOURCE_ONLY_PREFIXES,
    check_size,
    check_special_ids,
    reorder_state,
    start_decoding,
    tile_state,
    top_token_log_probs,
)

NEGATIVE_INFINITY = float("-inf")
STOP_RULES = ("current_length", "max_length")
# Steps after which sentences that have stopped leave the batch (TensorFlow only).
COMPACTION_STEPS = (8, 12, 16, 24, 32, 48, 64, 96, 128)


def _smaller(a, b):
    """`min(a, b)`, a Python int when both are (JAX needs static sizes)."""
    if isinstance(a, int) and isinstance(b, int):
        return min(a, b)
    return ops.minimum(a, b)


def wu_length_penalty(length, alpha):
    """Wu et al. 2016, eq. 14: `((5 + length) / 6) ** alpha`, as float32."""
    length = ops.cast(length, "float32")
    return ops.power((5.0 + length) / 6.0, ops.cast(alpha, "float32"))


def beam_search(
    model,
    encoder_token_ids=None,
    *,
    start_id,
    end_id,
    max_length,
    beam_width=4,
    length_penalty=0.6,
    batch_size=None,
    stop_rule="current_length",
    compaction_steps=COMPACTION_STEPS,
):
    """The best hypothesis per row by `log P(Y) / ((5 + |Y|) / 6) ** length_penalty`.

    Args:
        model: a zoo `seq2seq` or `lm` model, or anything with `init_decode_state` and
            `decode_step` (see `zoo.decoding.protocol`).
        encoder_token_ids: int32 `(B, S)` source ids, 0 = padding; for a `seq2seq` model.
        start_id: the id fed at index 0.
        end_id: the id that ends a hypothesis; it is emitted, then only padding follows.
        max_length: the most tokens emitted per sequence.
        beam_width: hypotheses kept alive per row.
        length_penalty: `alpha`; 0 ranks by `log P(Y)` alone, larger values favour longer
            outputs. A float or a scalar tensor.
        batch_size: the number of sequences for a language model (`task="lm"`).
        stop_rule: when a row stops before `max_length`: `"current_length"` (fast, the
            usual heuristic) or `"max_length"` (exact); see the module docstring.
        compaction_steps: after each of these steps, the sentences that have stopped leave
            the batch, so the later steps compute only the sentences still running (the
            results are the same; a batch of short and long sentences decodes much faster).
            TensorFlow only — the batch shrinks, which JAX's static shapes forbid; JAX
            ignores it. `()` turns it off.

    `max_length`, `beam_width` and `batch_size` set the shapes of the loop state: they are
    Python ints on every backend, and on TensorFlow may also be scalar int32 tensors (for
    example inputs of a `tf.function` signature). JAX needs Python ints.

    Returns:
        `(token_ids, scores)`: int32 `(B, max_length)` ids of each row's best hypothesis
        without the start id, 0 after `end_id`; float32 `(B,)` its length-penalised score.
        The padding id 0 is never emitted.

    Example:
    >>> import numpy as np, zoo
    >>> model = zoo.build("lstm", task="seq2seq", preset="tiny", vocab_size=20)
    >>> ids, scores = beam_search(model, np.array([[5, 6, 7]]), start_id=1, end_id=2,
    ...                           max_length=4, beam_width=3)
    >>> tuple(ids.shape), tuple(scores.shape)
    ((1, 4), (1,))
    """
    check_special_ids(start_id, end_id)
    if stop_rule not in STOP_RULES:
        raise ValueError(f"`stop_rule` must be one of {STOP_RULES}, received {stop_rule!r}.")
    max_length = check_size("max_length", max_length)
    beam_width = check_size("beam_width", beam_width)
    # Segments between compaction steps (TensorFlow), the last one up to `max_length`.
    compacting = keras.config.backend() == "tensorflow" and bool(compaction_steps)
    ends = sorted(step for step in set(compaction_steps or ()) if step > 0)
    if isinstance(max_length, int):
        ends = [step for step in ends if step < max_length]
    # A model that can grow its state (the Transformer's caches) starts with room for the
    # first segment only: the most rows decode the first steps, over the shortest caches.
    growing = compacting and bool(ends) and hasattr(model, "resize_decode_state")
    capacity = _smaller(ends[0], max_length) if growing else max_length
    state, batch_size = start_decoding(model, encoder_token_ids, batch_size, capacity)
    alpha = length_penalty
    # Flat rows are batch-major, beam-minor: row `b * beam_width + k` is beam `k` of row `b`.
    state = tile_state(state, beam_width)
    positions = ops.arange(max_length, dtype="int32")  # (L,)

    def best_alive_bound(index, alive_log_probs):
        """The score an alive hypothesis of each row is held to reach, `(B,)`.

        `"current_length"`: the best alive log-probability at the current length.
        `"max_length"`: the best it could still reach — its log-probability can only fall,
        and `x / lp(n)` with `x <= 0` is monotonic in `n`, so the best is at one end of the
        lengths `n` in `[index, max_length]`.
        """
        # `initial`: a compacted batch may be empty, where eager TensorFlow's max refuses.
        best = ops.max(alive_log_probs, axis=1, initial=NEGATIVE_INFINITY)
        shortest = best / wu_length_penalty(ops.maximum(index, 1), alpha)
        if stop_rule == "current_length":
            return shortest
        return ops.maximum(shortest, best / wu_length_penalty(max_length, alpha))

    def stopped(index, alive_log_probs, best_scores, done):
        return ops.logical_or(
            done, ops.greater_equal(best_scores, best_alive_bound(index, alive_log_probs))
        )

    def cond(index, last_tokens, alive_ids, alive_log_probs, best_ids, best_scores, done, state):
        return ops.logical_not(ops.all(stopped(index, alive_log_probs, best_scores, done)))

    def body(index, last_tokens, alive_ids, alive_log_probs, best_ids, best_scores, done, state):
        done = stopped(index, alive_log_probs, best_scores, done)
        logits, state = model.decode_step(state, last_tokens, index)
        # The best 2K candidates of a row are among the best 2K of each of its hypotheses:
        # take those first, `(B * K, 2K)`, then the row's best of the `K * 2K` — the same
        # choice as a top-k over all `K * V`, on much shorter rows.
        per_beam = _smaller(2 * beam_width, ops.shape(logits)[-1] - 1)
        beam_log_probs, beam_tokens = top_token_log_probs(logits, per_beam)
        candidates = ops.reshape(alive_log_probs, (-1, 1)) + beam_log_probs
        candidates = ops.reshape(candidates, (-1, beam_width * per_beam))  # (B, K * 2K)
        top_log_probs, top_indices = ops.top_k(candidates, 2 * beam_width)  # (B, 2K)
        top_beams = top_indices // per_beam
        top_tokens = ops.take_along_axis(
            ops.reshape(beam_tokens, (-1, beam_width * per_beam)), top_indices, axis=1
        )
        ends = ops.equal(top_tokens, end_id)
        # The ids of the hypotheses each candidate extends, with the candidate written in.
        top_ids = ops.take_along_axis(alive_ids, top_beams[:, :, None], axis=1)  # (B, 2K, L)
        top_ids = ops.where(ops.equal(positions, index), top_tokens[:, :, None], top_ids)

        # Finished: candidates that end within the first `beam_width`.
        rank = ops.arange(2 * beam_width, dtype="int32")[None, :]
        finished_scores = ops.where(
            ops.logical_and(ends, rank < beam_width),
            top_log_probs / wu_length_penalty(index + 1, alpha),
            NEGATIVE_INFINITY,
        )
        best_new = ops.argmax(finished_scores, axis=1)[:, None]  # (B, 1)
        new_scores = ops.take_along_axis(finished_scores, best_new, axis=1)[:, 0]
        new_ids = ops.take_along_axis(top_ids, best_new[:, :, None], axis=1)[:, 0]
        improved = ops.logical_and(new_scores > best_scores, ops.logical_not(done))
        best_scores = ops.where(improved, new_scores, best_scores)
        best_ids = ops.where(improved[:, None], new_ids, best_ids)

        # Alive: the best `beam_width` candidates that do not end; a stopped row keeps its.
        new_alive_log_probs, alive = ops.top_k(
            ops.where(ends, NEGATIVE_INFINITY, top_log_probs), beam_width
        )  # (B, K)
        alive_log_probs = ops.where(done[:, None], alive_log_probs, new_alive_log_probs)
        alive_ids = ops.where(
            done[:, None, None], alive_ids, ops.take_along_axis(top_ids, alive[:, :, None], axis=1)
        )
        last_tokens = ops.take_along_axis(top_tokens, alive, axis=1)
        source_beams = ops.take_along_axis(top_beams, alive, axis=1)
        # Rows are batch-major, beam-minor: row `b * beam_width + k` is beam `k` of row `b`.
        batch_offsets = ops.arange(ops.shape(alive)[0], dtype="int32")[:, None] * beam_width
        state = reorder_state(state, ops.reshape(batch_offsets + source_beams, (-1,)))
        return (
            index + 1,
            ops.reshape(last_tokens, (-1,)),
            alive_ids,
            alive_log_probs,
            best_ids,
            best_scores,
            done,
            state,
        )

    # Only beam 0 is live at first: the others are copies and would repeat its candidates.
    first_beam = ops.arange(beam_width, dtype="int32") == 0
    loop_state = (
        ops.convert_to_tensor(0, dtype="int32"),
        ops.full((batch_size * beam_width,), start_id, dtype="int32"),
        ops.zeros((batch_size, beam_width, max_length), dtype="int32"),
        ops.where(
            ops.broadcast_to(first_beam[None, :], (batch_size, beam_width)),
            0.0,
            NEGATIVE_INFINITY,
        ),
        ops.zeros((batch_size, max_length), dtype="int32"),
        ops.full((batch_size,), NEGATIVE_INFINITY, dtype="float32"),
        ops.zeros((batch_size,), dtype="bool"),
        state,
    )
    if not compacting:
        index, _, alive_ids, alive_log_probs, best_ids, best_scores, done, _ = ops.while_loop(
            cond, body, loop_state, maximum_iterations=max_length
        )
        return _final_choice(index, alive_ids, alive_log_probs, best_ids, best_scores, done, alpha)

    token_ids = ops.zeros((batch_size, max_length), dtype="int32")
    scores = ops.full((batch_size,), NEGATIVE_INFINITY, dtype="float32")
    sentences = ops.arange(batch_size, dtype="int32")  # the input row of each current row
    for end in [*ends, None]:
        limit = max_length if end is None else ops.minimum(end, max_length)

        def segment_cond(index, *rest, limit=limit):
            return ops.logical_and(ops.less(index, limit), cond(index, *rest))

        if growing:  # room for this segment's positions
            loop_state = (*loop_state[:-1], model.resize_decode_state(loop_state[-1], limit))
        loop_state = ops.while_loop(segment_cond, body, loop_state)
        index, last_tokens, alive_ids, alive_log_probs, best_ids, best_scores, done, state = (
            loop_state
        )
        if end is None:
            break
        # Sentences that have stopped are final: write them out and drop them.
        finished = stopped(index, alive_log_probs, best_scores, done)
        gone = ops.nonzero(finished)[0]
        token_ids = ops.scatter_update(
            token_ids, ops.take(sentences, gone)[:, None], ops.take(best_ids, gone, axis=0)
        )
        scores = ops.scatter_update(
            scores, ops.take(sentences, gone)[:, None], ops.take(best_scores, gone)
        )
        kept = ops.cast(ops.nonzero(ops.logical_not(finished))[0], "int32")
        kept_beams = ops.reshape(
            kept[:, None] * beam_width + ops.arange(beam_width, dtype="int32"), (-1,)
        )
        sentences = ops.take(sentences, kept)
        loop_state = (
            index,
            ops.take(last_tokens, kept_beams),
            ops.take(alive_ids, kept, axis=0),
            ops.take(alive_log_probs, kept, axis=0),
            ops.take(best_ids, kept, axis=0),
            ops.take(best_scores, kept),
            ops.take(done, kept),
            {
                key: ops.take(
                    value, kept if key.startswith(SOURCE_ONLY_PREFIXES) else kept_beams, axis=0
                )
                for key, value in state.items()
            },
        )
    final_ids, final_scores = _final_choice(
        index, alive_ids, alive_log_probs, best_ids, best_scores, done, alpha
    )
    token_ids = ops.scatter_update(token_ids, sentences[:, None], final_ids)
    scores = ops.scatter_update(scores, sentences[:, None], final_scores)
    return token_ids, scores


def _final_choice(index, alive_ids, alive_log_probs, best_ids, best_scores, done, alpha):
    """Each row's result, `(token_ids, scores)`, once its loop is over.

    Hypotheses still alive after `max_length` steps compete, scored at that length; a row
    that stopped earlier keeps its best finished one (by its stop rule, they do not beat it).
    """
    alive_scores = alive_log_probs / wu_length_penalty(ops.maximum(index, 1), alpha)
    best_alive = ops.argmax(alive_scores, axis=1)[:, None]
    best_alive_scores = ops.take_along_axis(alive_scores, best_alive, axis=1)[:, 0]
    best_alive_ids = ops.take_along_axis(alive_ids, best_alive[:, :, None], axis=1)[:, 0]
    use_alive = ops.logical_and(best_alive_scores > best_scores, ops.logical_not(done))
    token_ids = ops.where(use_alive[:, None], best_alive_ids, best_ids)
    scores = ops.where(use_alive, best_alive_scores, best_scores)
    return token_ids, scores
