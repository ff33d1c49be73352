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

from zoo.decoding import repetition
from zoo.decoding.beam_step import (
    NEGATIVE_INFINITY,
    Beams,
    Settings,
    beam_step,
    initial_beams,
    smaller,
    stopped,
    wu_length_penalty,
)
from zoo.decoding.protocol import (
    SOURCE_ONLY_PREFIXES,
    cache_positions,
    check_size,
    check_special_ids,
    start_decoding,
)

__all__ = ["COMPACTION_STEPS", "STOP_RULES", "beam_search", "wu_length_penalty"]

STOP_RULES = ("current_length", "max_length")
# Steps after which sentences that have stopped leave the batch (TensorFlow only).
COMPACTION_STEPS = (8, 12, 16, 24, 32, 48, 64, 96, 128)
# The paper's decoding (Vaswani et al. 2017, section 6.1): beam 4, length penalty 0.6 — the
# defaults of every translation in zoo, in process and in exports.
BEAM_WIDTH = 4
LENGTH_PENALTY = 0.6


def beam_search(
    model,
    token_ids,
    *,
    start_id,
    end_id,
    max_length,
    beam_width=BEAM_WIDTH,
    length_penalty=LENGTH_PENALTY,
    stop_rule="current_length",
    compaction_steps=COMPACTION_STEPS,
    no_repeat_ngram_size=0,
):
    """The best hypothesis per row by `log P(Y) / ((5 + |Y|) / 6) ** length_penalty`.

    Args:
        model: a zoo `seq2seq` or `lm` model, or anything that implements
            `zoo.decoding.protocol.Decodable`.
        token_ids: int32 `(B, T)`, 0 = padding: the source ids for a `seq2seq` model, the
            right-padded prompt ids for an `lm` (see `greedy_decode`).
        start_id: the id fed at index 0 to a `seq2seq` model (an `lm` starts from its
            prompt).
        end_id: the id that ends a hypothesis; it is emitted, then only padding follows.
        max_length: the most tokens emitted per sequence.
        beam_width: hypotheses kept alive per row.
        length_penalty: `alpha`; 0 ranks by `log P(Y)` alone, larger values favour longer
            outputs. A float or a scalar tensor.
        stop_rule: when a row stops before `max_length`: `"current_length"` (fast, the
            usual heuristic) or `"max_length"` (exact); see the module docstring.
        compaction_steps: after each of these steps, the sentences that have stopped leave
            the batch, so the later steps compute only the sentences still running (the
            results are the same; a batch of short and long sentences decodes much faster).
            TensorFlow only — the batch shrinks, which JAX's static shapes forbid; JAX
            ignores it. `()` turns it off.
        no_repeat_ngram_size: `n >= 1`: no hypothesis emits a token that would make an
            n-gram of its emitted tokens appear twice; 0 (the default) allows repeats. A
            Python int or a scalar int32 tensor; see `zoo.decoding.repetition`.

    `max_length` and `beam_width` set the shapes of the loop state: they are Python ints on
    every backend, and on TensorFlow may also be scalar int32 tensors (for example inputs of
    a `tf.function` signature). JAX needs Python ints.

    Returns:
        `(token_ids, scores)`: int32 `(B, max_length)` ids of each row's best hypothesis
        without the start id, 0 after `end_id`; float32 `(B,)` its length-penalised score.
        The padding id 0 is never emitted.

    Example:
    >>> import numpy as np, zoo
    >>> model = zoo.build("lstm", task="seq2seq", preset="tiny", vocab_size=20)
    >>> ids, scores = beam_search(model, np.array([[5, 6, 7]]), start_id=2, end_id=3,
    ...                           max_length=4, beam_width=3)
    >>> tuple(ids.shape), tuple(scores.shape)
    ((1, 4), (1,))
    """
    check_special_ids(start_id, end_id)
    if stop_rule not in STOP_RULES:
        raise ValueError(f"`stop_rule` must be one of {STOP_RULES}, received {stop_rule!r}.")
    settings = Settings(
        end_id=end_id,
        max_length=check_size("max_length", max_length),
        beam_width=check_size("beam_width", beam_width),
        alpha=length_penalty,
        stop_rule=stop_rule,
        no_repeat_ngram_size=repetition.check_ngram_size(no_repeat_ngram_size),
    )
    max_length = settings.max_length
    compacting = keras.config.backend() == "tensorflow" and bool(compaction_steps)
    ends = _segment_ends(compaction_steps, max_length)
    # A model that can grow its state (the Transformer's caches) starts with room for the
    # first segment only: the most rows decode the first steps, over the shortest caches.
    growing = compacting and bool(ends) and hasattr(model, "resize_decode_state")
    capacity = smaller(ends[0], max_length) if growing else max_length
    state, first_tokens = start_decoding(model, token_ids, capacity, start_id)
    beams = initial_beams(state, first_tokens, settings)

    def cond(*beams):
        beams = Beams(*beams)
        return ops.logical_not(ops.all(stopped(beams, settings)))

    def body(*beams):
        return beam_step(model, Beams(*beams), settings)

    if not compacting:
        beams = Beams(*ops.while_loop(cond, body, beams, maximum_iterations=max_length))
        return _final_choice(beams, settings.alpha)

    batch_size = ops.shape(first_tokens)[0]
    token_ids_out = ops.zeros((batch_size, max_length), dtype="int32")
    scores = ops.full((batch_size,), NEGATIVE_INFINITY, dtype="float32")
    sentences = ops.arange(batch_size, dtype="int32")  # the input row of each current row
    for end in [*ends, None]:
        limit = max_length if end is None else ops.minimum(end, max_length)

        def segment_cond(index, *rest, limit=limit):
            return ops.logical_and(ops.less(index, limit), cond(index, *rest))

        if growing:  # room for this segment's positions
            positions = cache_positions(model, token_ids, limit)
            beams = beams._replace(state=model.resize_decode_state(beams.state, positions))
        beams = Beams(*ops.while_loop(segment_cond, body, beams))
        if end is None:
            break
        beams, sentences, token_ids_out, scores = _drop_stopped_sentences(
            beams, sentences, token_ids_out, scores, settings
        )
    final_ids, final_scores = _final_choice(beams, settings.alpha)
    token_ids_out = ops.scatter_update(token_ids_out, sentences[:, None], final_ids)
    scores = ops.scatter_update(scores, sentences[:, None], final_scores)
    return token_ids_out, scores


def _segment_ends(compaction_steps, max_length):
    """The steps that end a segment of the loop (a compaction follows each), before the
    last segment, which runs to `max_length`."""
    ends = sorted(step for step in set(compaction_steps or ()) if step > 0)
    if isinstance(max_length, int):
        ends = [step for step in ends if step < max_length]
    return ends


def _drop_stopped_sentences(beams, sentences, token_ids, scores, settings):
    """Write out the sentences that have stopped (their result is final) and drop them from
    every part of the loop state, so later steps compute only the others.

    `sentences` maps each current row to its input row; `token_ids`/`scores` are the
    outputs by input row. Returns the four, updated.
    """
    finished = stopped(beams, settings)
    gone = ops.nonzero(finished)[0]
    gone_sentences = ops.take(sentences, gone)[:, None]
    token_ids = ops.scatter_update(
        token_ids, gone_sentences, ops.take(beams.best_ids, gone, axis=0)
    )
    scores = ops.scatter_update(scores, gone_sentences, ops.take(beams.best_scores, gone))
    kept = ops.cast(ops.nonzero(ops.logical_not(finished))[0], "int32")
    beam_width = settings.beam_width
    kept_beams = ops.reshape(
        kept[:, None] * beam_width + ops.arange(beam_width, dtype="int32"), (-1,)
    )
    suffix_match = beams.suffix_match
    if repetition.blocks_repeats(settings.no_repeat_ngram_size):
        suffix_match = ops.take(suffix_match, kept, axis=0)
    beams = Beams(
        index=beams.index,
        last_tokens=ops.take(beams.last_tokens, kept_beams),
        alive_ids=ops.take(beams.alive_ids, kept, axis=0),
        alive_log_probs=ops.take(beams.alive_log_probs, kept, axis=0),
        best_ids=ops.take(beams.best_ids, kept, axis=0),
        best_scores=ops.take(beams.best_scores, kept),
        done=ops.take(beams.done, kept),
        state={
            key: ops.take(
                value, kept if key.startswith(SOURCE_ONLY_PREFIXES) else kept_beams, axis=0
            )
            for key, value in beams.state.items()
        },
        suffix_match=suffix_match,
    )
    return beams, ops.take(sentences, kept), token_ids, scores


def _final_choice(beams, alpha):
    """Each row's result, `(token_ids, scores)`, once its loop is over.

    Hypotheses still alive after `max_length` steps compete, scored at that length; a row
    that stopped earlier keeps its best finished one (by its stop rule, they do not beat it).
    """
    alive_scores = beams.alive_log_probs / wu_length_penalty(ops.maximum(beams.index, 1), alpha)
    best_alive = ops.argmax(alive_scores, axis=1)[:, None]
    best_alive_scores = ops.take_along_axis(alive_scores, best_alive, axis=1)[:, 0]
    best_alive_ids = ops.take_along_axis(beams.alive_ids, best_alive[:, :, None], axis=1)[:, 0]
    use_alive = ops.logical_and(best_alive_scores > beams.best_scores, ops.logical_not(beams.done))
    token_ids = ops.where(use_alive[:, None], best_alive_ids, beams.best_ids)
    scores = ops.where(use_alive, best_alive_scores, beams.best_scores)
    return token_ids, scores
