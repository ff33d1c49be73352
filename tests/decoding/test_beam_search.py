"""Beam search against hand-computed scores, exhaustive search and an independent beam
search over full forward passes."""

import itertools

import keras
import numpy as np
import pytest

import zoo
from tests.decoding.fake_models import (
    END,
    START,
    A,
    B,
    TableModel,
    chain_then_never_ending,
    greedy_trap,
)
from tests.decoding.reference import (
    Sharpened,
    full_pass_next_log_probs,
    length_penalty,
    reference_beam_search,
    tiny_decoders,
)
from zoo.decoding import beam_search, greedy_decode, wu_length_penalty

VOCAB_SIZE = 24
START_ID, END_ID = 1, 2


def test_length_penalty_is_wu_et_al():
    # ((5 + |Y|) / 6) ** alpha, by hand: 1 at length 1, 1.5 ** 0.6 at length 4.
    lengths = np.array([1, 4, 7])
    expected = [1.0, 1.5**0.6, 2.0**0.6]
    np.testing.assert_allclose(np.asarray(wu_length_penalty(lengths, 0.6)), expected, rtol=1e-6)
    np.testing.assert_allclose(np.asarray(wu_length_penalty(lengths, 0.0)), 1.0)


def test_beam_escapes_the_greedy_trap():
    model = greedy_trap()
    kwargs = dict(token_ids=[[START]], start_id=START, end_id=END, max_length=4)
    greedy_ids, _ = greedy_decode(model, **kwargs)
    token_ids, scores = beam_search(model, **kwargs, beam_width=2, length_penalty=0.6)
    # B (0.4) then the end (0.99): log(0.396) over lp(2) = (7 / 6) ** 0.6.
    np.testing.assert_array_equal(np.asarray(token_ids), [[B, END, 0, 0]])
    np.testing.assert_allclose(np.asarray(scores), [np.log(0.4 * 0.99) / (7 / 6) ** 0.6], rtol=1e-6)
    # Greedy's A A A A never ends: log(0.6 * 0.34 ** 3) over lp(4) = 1.5 ** 0.6.
    np.testing.assert_array_equal(np.asarray(greedy_ids), [[A, A, A, A]])
    greedy_score = np.log(0.6 * 0.34**3) / 1.5**0.6
    assert np.asarray(scores)[0] > greedy_score


def test_padding_follows_the_end_and_a_row_that_never_ends_fills_max_length(rng):
    model = chain_then_never_ending(rng)
    token_ids, scores = beam_search(
        model, [[START]] * 2, start_id=START, end_id=END, max_length=6, beam_width=3
    )
    ended, unended = np.asarray(token_ids)
    np.testing.assert_array_equal(ended, [A, B, END, 0, 0, 0])
    assert (unended != 0).all() and (unended != END).all()
    expected = [
        3 * np.log(0.9) / length_penalty(3, 0.6),
        model.log_prob(unended, row=1) / length_penalty(6, 0.6),
    ]
    np.testing.assert_allclose(np.asarray(scores), expected, rtol=1e-5)


def test_the_stop_rules_differ_where_a_longer_hypothesis_wins_later():
    # After the start: the end or A, 0.5 each; after A: A again (0.98) or the end (0.02).
    # With alpha = 2 length pays: A A A A scores log(0.5 * 0.98 ** 3) / lp(4), lp(4) = 2.25,
    # which beats ending at once, log(0.5) / lp(1).
    next_probs = np.zeros((5, 5))
    next_probs[:, [END, A]] = [0.5, 0.5]
    next_probs[A, [END, A]] = [0.02, 0.98]
    model = TableModel.first_order(next_probs)
    kwargs = dict(token_ids=[[START]], start_id=START, end_id=END, max_length=4, beam_width=2)
    exact_ids, exact_scores = beam_search(
        model, **kwargs, length_penalty=2.0, stop_rule="max_length"
    )
    np.testing.assert_array_equal(np.asarray(exact_ids), [[A, A, A, A]])
    np.testing.assert_allclose(np.asarray(exact_scores), [np.log(0.5 * 0.98**3) / 2.25], rtol=1e-5)
    # The heuristic stops after one step: the alive A, scored at its current length 1,
    # does not beat the finished end token.
    fast_ids, fast_scores = beam_search(model, **kwargs, length_penalty=2.0)
    np.testing.assert_array_equal(np.asarray(fast_ids), [[END, 0, 0, 0]])
    np.testing.assert_allclose(np.asarray(fast_scores), [np.log(0.5)], rtol=1e-5)


def test_an_unknown_stop_rule_is_refused():
    with pytest.raises(ValueError, match="stop_rule"):
        beam_search(
            greedy_trap(), [[START]], start_id=START, end_id=END, max_length=2, stop_rule="exact"
        )


def exhaustive_search(model, row, max_length, alpha):
    """The best `log P(Y) / lp(|Y|)` over every sequence that ends or fills `max_length`."""
    best_tokens, best_score = None, -np.inf
    tokens = [token for token in range(1, model.vocab_size)]
    for length in range(1, max_length + 1):
        for sequence in itertools.product(tokens, repeat=length):
            if END in sequence[:-1] or (length < max_length and sequence[-1] != END):
                continue  # goes on after the end, or stops before max_length without one
            score = model.log_prob(sequence, row) / length_penalty(length, alpha)
            if score > best_score:
                best_tokens, best_score = sequence, score
    return list(best_tokens) + [0] * (max_length - len(best_tokens)), best_score


@pytest.mark.parametrize("alpha", [0.6, 2.0])
def test_a_beam_wider_than_the_tree_is_exhaustive_search(alpha, rng):
    # 4 tokens that can be emitted, 3 steps: at most 36 candidates at the last step, so
    # with 36 beams nothing is ever pruned. Each row has its own random table. Only the
    # exact stop rule guarantees it: the heuristic may stop before a longer, better one.
    model = TableModel.random(rng, num_tables=3)
    token_ids, scores = beam_search(
        model,
        [[START]] * 3,
        start_id=START,
        end_id=END,
        max_length=3,
        beam_width=36,
        length_penalty=alpha,
        stop_rule="max_length",
    )
    for row in range(3):
        expected_ids, expected_score = exhaustive_search(model, row, 3, alpha)
        np.testing.assert_array_equal(np.asarray(token_ids)[row], expected_ids)
        np.testing.assert_allclose(np.asarray(scores)[row], expected_score, rtol=1e-5)


def sharpened_tiny(name, task, rng, batch_size=2, source_length=6, end_bonus=1.0):
    model = zoo.build(name, task=task, preset="tiny", vocab_size=VOCAB_SIZE)
    probe = rng.integers(1, VOCAB_SIZE, (batch_size, source_length)).astype("int32")
    if task == "seq2seq":
        source = rng.integers(1, VOCAB_SIZE, (batch_size, source_length)).astype("int32")
        source[-1, source_length // 2 :] = 0  # a padded row
        probe = {"encoder_token_ids": source, "decoder_token_ids": probe}
        inputs = dict(token_ids=source)
    else:
        source, inputs = None, dict(token_ids=[[START_ID]])
    model = Sharpened(model, probe, END_ID, end_bonus=end_bonus)
    return model, source, inputs


def test_beam_width_one_is_greedy(rng):
    table = TableModel.random(rng, num_tables=3)
    transformer = zoo.build("transformer", task="seq2seq", preset="tiny", vocab_size=VOCAB_SIZE)
    source = rng.integers(1, VOCAB_SIZE, (2, 6)).astype("int32")
    cases = [(table, dict(token_ids=[[START_ID]] * 3)), (transformer, dict(token_ids=source))]
    for model, inputs in cases:
        kwargs = dict(inputs, start_id=START_ID, end_id=END_ID, max_length=6)
        greedy_ids, greedy_scores = greedy_decode(model, **kwargs)
        token_ids, scores = beam_search(model, **kwargs, beam_width=1, length_penalty=0.0)
        np.testing.assert_array_equal(np.asarray(token_ids), np.asarray(greedy_ids))
        np.testing.assert_allclose(np.asarray(scores), np.asarray(greedy_scores), rtol=1e-6)


@pytest.mark.parametrize("compaction_steps", [(), (2, 3)], ids=["whole", "compacted"])
@pytest.mark.parametrize("stop_rule", ["current_length", "max_length"])
@pytest.mark.parametrize("name, task", tiny_decoders())
def test_beam_search_equals_an_independent_one_over_full_forward_passes(
    name, task, stop_rule, compaction_steps, rng
):
    model, source, inputs = sharpened_tiny(name, task, rng)
    max_length, beam_width, alpha = 5, 3, 0.6
    batch_size = 2 if task == "seq2seq" else 1
    expected_ids, expected_scores = reference_beam_search(
        full_pass_next_log_probs(model, source, batch_size * beam_width, max_length),
        batch_size,
        START_ID,
        END_ID,
        max_length,
        beam_width,
        alpha,
        stop_rule,
    )
    token_ids, scores = beam_search(
        model,
        **inputs,
        start_id=START_ID,
        end_id=END_ID,
        max_length=max_length,
        beam_width=beam_width,
        length_penalty=alpha,
        stop_rule=stop_rule,
        compaction_steps=compaction_steps,
    )
    np.testing.assert_array_equal(np.asarray(token_ids), expected_ids)
    np.testing.assert_allclose(np.asarray(scores), expected_scores, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(
    "name, task", [(name, task) for name, task in tiny_decoders() if task == "seq2seq"]
)
def test_dropping_stopped_sentences_from_the_batch_changes_nothing(name, task, rng):
    if keras.config.backend() != "tensorflow":
        pytest.skip("only TensorFlow compacts the batch (JAX's shapes are static)")
    # Sentences of a batch stop at different steps; compacting the batch after steps 1, 2, 4
    # and 6 must give each sentence exactly what the whole-batch loop gives it.
    # A random tiny model may never pick the end token (the GRU's did not, at bonus 1): make
    # the end token likelier until sentences stop at different steps.
    for end_bonus in (1.0, 2.0, 3.0):
        model, source, inputs = sharpened_tiny(name, task, rng, batch_size=5, end_bonus=end_bonus)
        kwargs = dict(inputs, start_id=START_ID, end_id=END_ID, max_length=9, beam_width=3)
        whole_ids, whole_scores = beam_search(model, **kwargs, compaction_steps=())
        lengths = (np.asarray(whole_ids) != 0).sum(1)
        if len(set(lengths.tolist())) > 1:
            break
    assert len(set(lengths.tolist())) > 1, "the test needs sentences that stop at different steps"
    ids, scores = beam_search(model, **kwargs, compaction_steps=(1, 2, 4, 6))
    np.testing.assert_array_equal(np.asarray(ids), np.asarray(whole_ids))
    np.testing.assert_allclose(np.asarray(scores), np.asarray(whole_scores), rtol=1e-6)
