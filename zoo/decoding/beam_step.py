"""One step of beam search, and the loop state it carries (see `zoo.decoding.beam_search`).

Each step extends every alive hypothesis, records the candidates that end, and keeps the
best that go on; `beam_search.py` runs the steps, drops stopped sentences and makes the
final choice.
"""

from __future__ import annotations

from typing import NamedTuple

from keras import ops

from zoo.decoding import repetition
from zoo.decoding.protocol import reorder_state, tile_state, top_token_log_probs

NEGATIVE_INFINITY = float("-inf")


def smaller(a, b):
    """`min(a, b)`, a Python int when both are (JAX needs static sizes)."""
    if isinstance(a, int) and isinstance(b, int):
        return min(a, b)
    return ops.minimum(a, b)


def wu_length_penalty(length, alpha):
    """Wu et al. 2016, eq. 14: `((5 + length) / 6) ** alpha`, as float32."""
    length = ops.cast(length, "float32")
    return ops.power((5.0 + length) / 6.0, ops.cast(alpha, "float32"))


class Settings(NamedTuple):
    """What every step of one search needs besides its loop state."""

    end_id: int
    max_length: object  # a Python int, or a scalar int32 tensor (TensorFlow)
    beam_width: object  # likewise
    alpha: object  # the length penalty, a float or a scalar tensor
    stop_rule: str
    no_repeat_ngram_size: object  # a Python int (0 = off) or a scalar int32 tensor


class Beams(NamedTuple):
    """The loop state, `B` sentences of `K` beams, `L = max_length`.

    Flat rows (`last_tokens` and the model's `state`) are batch-major, beam-minor: row
    `b * K + k` is beam `k` of sentence `b`.
    """

    index: object  # int32 scalar: the tokens each alive hypothesis has emitted
    last_tokens: object  # int32 (B * K,): what the next step feeds
    alive_ids: object  # int32 (B, K, L): the alive hypotheses' emitted ids
    alive_log_probs: object  # float32 (B, K): their log P; -inf for an empty beam
    best_ids: object  # int32 (B, L): the best finished hypothesis
    best_scores: object  # float32 (B,): its length-penalised score; -inf when none
    done: object  # bool (B,): stopped for good (frozen)
    state: dict  # the model's decoding state, (B * K, ...) rows (source-only: (B, ...))
    suffix_match: object  # int32 (B, K, L), the n-gram carry; () when repeats are allowed


class Candidates(NamedTuple):
    """The `2K` best extensions of each sentence's alive hypotheses, best first."""

    log_probs: object  # float32 (B, 2K): log P of each extended hypothesis
    tokens: object  # int32 (B, 2K): the token each appends
    source_beams: object  # int32 (B, 2K): the beam each extends
    ids: object  # int32 (B, 2K, L): the extended hypotheses' ids
    ends: object  # bool (B, 2K): whether the token is the end id


def initial_beams(state, first_tokens, settings):
    """`K` beams per row, all fed the row's first token; only beam 0 is live at first (the
    others are copies and would repeat its candidates)."""
    beam_width, max_length = settings.beam_width, settings.max_length
    batch_size = ops.shape(first_tokens)[0]
    first_beam = ops.arange(beam_width, dtype="int32") == 0
    blocking = repetition.blocks_repeats(settings.no_repeat_ngram_size)
    return Beams(
        index=ops.convert_to_tensor(0, dtype="int32"),
        last_tokens=ops.repeat(ops.cast(first_tokens, "int32"), beam_width, axis=0),
        alive_ids=ops.zeros((batch_size, beam_width, max_length), dtype="int32"),
        alive_log_probs=ops.where(
            ops.broadcast_to(first_beam[None, :], (batch_size, beam_width)),
            0.0,
            NEGATIVE_INFINITY,
        ),
        best_ids=ops.zeros((batch_size, max_length), dtype="int32"),
        best_scores=ops.full((batch_size,), NEGATIVE_INFINITY, dtype="float32"),
        done=ops.zeros((batch_size,), dtype="bool"),
        state=tile_state(state, beam_width),
        suffix_match=(
            ops.zeros((batch_size, beam_width, max_length), dtype="int32") if blocking else ()
        ),
    )


def _best_alive_bound(beams, settings):
    """The score an alive hypothesis of each row is held to reach, `(B,)`.

    `"current_length"`: the best alive log-probability at the current length.
    `"max_length"`: the best it could still reach — its log-probability can only fall,
    and `x / lp(n)` with `x <= 0` is monotonic in `n`, so the best is at one end of the
    lengths `n` in `[index, max_length]`.
    """
    # `initial`: a compacted batch may be empty, where eager TensorFlow's max refuses.
    best = ops.max(beams.alive_log_probs, axis=1, initial=NEGATIVE_INFINITY)
    shortest = best / wu_length_penalty(ops.maximum(beams.index, 1), settings.alpha)
    if settings.stop_rule == "current_length":
        return shortest
    return ops.maximum(shortest, best / wu_length_penalty(settings.max_length, settings.alpha))


def stopped(beams, settings):
    """`(B,)`: the rows that have stopped, or stop now by their stop rule."""
    return ops.logical_or(
        beams.done, ops.greater_equal(beams.best_scores, _best_alive_bound(beams, settings))
    )


def beam_step(model, beams, settings):
    """One step of every row: extend, record what ends, keep the best that go on."""
    done = stopped(beams, settings)
    logits, state = model.decode_step(beams.state, beams.last_tokens, beams.index)
    banned = None
    if repetition.blocks_repeats(settings.no_repeat_ngram_size):
        banned = repetition.banned_tokens(
            _flat_beams(beams.alive_ids),
            _flat_beams(beams.suffix_match),
            beams.index,
            settings.no_repeat_ngram_size,
            ops.shape(logits)[-1],
        )
    candidates = _select_candidates(logits, beams, settings.beam_width, settings.end_id, banned)
    best_ids, best_scores = _record_finished(candidates, beams, done, settings)
    return _keep_alive(candidates, beams, done, state, best_ids, best_scores, settings)


def _flat_beams(values):
    """`(B, K, L)` -> `(B * K, L)`, the layout of the flat rows."""
    return ops.reshape(values, (-1, ops.shape(values)[-1]))


def _select_candidates(logits, beams, beam_width, end_id, banned):
    """The best `2K` extensions of each row's hypotheses by log-probability.

    The best 2K candidates of a row are among the best 2K of each of its hypotheses: take
    those first, `(B * K, 2K)`, then the row's best of the `K * 2K` — the same choice as a
    top-k over all `K * V`, on much shorter rows.
    """
    per_beam = smaller(2 * beam_width, ops.shape(logits)[-1] - 1)
    beam_log_probs, beam_tokens = top_token_log_probs(logits, per_beam, banned)
    log_probs = ops.reshape(beams.alive_log_probs, (-1, 1)) + beam_log_probs
    log_probs = ops.reshape(log_probs, (-1, beam_width * per_beam))  # (B, K * 2K)
    top_log_probs, top_indices = ops.top_k(log_probs, 2 * beam_width)  # (B, 2K)
    source_beams = top_indices // per_beam
    tokens = ops.take_along_axis(
        ops.reshape(beam_tokens, (-1, beam_width * per_beam)), top_indices, axis=1
    )
    # The ids of the hypotheses each candidate extends, with the candidate written in.
    ids = ops.take_along_axis(beams.alive_ids, source_beams[:, :, None], axis=1)  # (B, 2K, L)
    positions = ops.arange(ops.shape(ids)[-1], dtype="int32")  # (L,)
    ids = ops.where(ops.equal(positions, beams.index), tokens[:, :, None], ids)
    return Candidates(top_log_probs, tokens, source_beams, ids, ops.equal(tokens, end_id))


def _record_finished(candidates, beams, done, settings):
    """Each row's best finished hypothesis, `(best_ids, best_scores)`: candidates that end
    within the first `K` compete, scored at their length; a stopped row keeps its own."""
    beam_width, index = settings.beam_width, beams.index
    rank = ops.arange(2 * beam_width, dtype="int32")[None, :]
    finished_scores = ops.where(
        ops.logical_and(candidates.ends, rank < beam_width),
        candidates.log_probs / wu_length_penalty(index + 1, settings.alpha),
        NEGATIVE_INFINITY,
    )
    best_new = ops.argmax(finished_scores, axis=1)[:, None]  # (B, 1)
    new_scores = ops.take_along_axis(finished_scores, best_new, axis=1)[:, 0]
    new_ids = ops.take_along_axis(candidates.ids, best_new[:, :, None], axis=1)[:, 0]
    improved = ops.logical_and(new_scores > beams.best_scores, ops.logical_not(done))
    best_scores = ops.where(improved, new_scores, beams.best_scores)
    best_ids = ops.where(improved[:, None], new_ids, beams.best_ids)
    return best_ids, best_scores


def _keep_alive(candidates, beams, done, state, best_ids, best_scores, settings):
    """The next loop state: the best `K` candidates that do not end stay alive (a stopped
    row keeps its), the model's state follows its beams."""
    beam_width = settings.beam_width
    new_alive_log_probs, alive = ops.top_k(
        ops.where(candidates.ends, NEGATIVE_INFINITY, candidates.log_probs), beam_width
    )  # (B, K)
    alive_log_probs = ops.where(done[:, None], beams.alive_log_probs, new_alive_log_probs)
    new_alive_ids = ops.take_along_axis(candidates.ids, alive[:, :, None], axis=1)
    alive_ids = ops.where(done[:, None, None], beams.alive_ids, new_alive_ids)
    last_tokens = ops.take_along_axis(candidates.tokens, alive, axis=1)  # (B, K)
    source_beams = ops.take_along_axis(candidates.source_beams, alive, axis=1)
    # Rows are batch-major, beam-minor: row `b * beam_width + k` is beam `k` of row `b`.
    batch_offsets = ops.arange(ops.shape(alive)[0], dtype="int32")[:, None] * beam_width
    state = reorder_state(state, ops.reshape(batch_offsets + source_beams, (-1,)))
    suffix_match = beams.suffix_match
    if repetition.blocks_repeats(settings.no_repeat_ngram_size):
        parents = ops.take_along_axis(suffix_match, source_beams[:, :, None], axis=1)
        new_match = repetition.append_token(
            _flat_beams(new_alive_ids),
            _flat_beams(parents),
            beams.index,
            ops.reshape(last_tokens, (-1,)),
        )
        new_match = ops.reshape(new_match, ops.shape(suffix_match))
        suffix_match = ops.where(done[:, None, None], suffix_match, new_match)
    return Beams(
        index=beams.index + 1,
        last_tokens=ops.reshape(last_tokens, (-1,)),
        alive_ids=alive_ids,
        alive_log_probs=alive_log_probs,
        best_ids=best_ids,
        best_scores=best_scores,
        done=done,
        state=state,
        suffix_match=suffix_match,
    )
