"""Greedy decoding through the cache against argmax over repeated full forward passes."""

import numpy as np
import pytest

import zoo
from tests.decoding.fake_models import END, START, A, B, chain_then_never_ending, greedy_trap
from tests.decoding.reference import (
    cut_at_end,
    full_pass_next_log_probs,
    reference_greedy,
    tiny_decoders,
)
from zoo.decoding import greedy_decode

VOCAB_SIZE = 24
START_ID = 1


@pytest.mark.parametrize("name, task", tiny_decoders())
def test_greedy_equals_argmax_over_full_forward_passes(name, task, rng):
    model = zoo.build(name, task=task, preset="tiny", vocab_size=VOCAB_SIZE)
    max_length = 5
    if task == "seq2seq":
        source = rng.integers(1, VOCAB_SIZE, (3, 6)).astype("int32")
        source[1, 4:] = 0  # a padded row
        inputs = dict(token_ids=source)
    else:
        # A language model's rows all start from the start id alone: one row is enough.
        source, inputs = None, dict(token_ids=[[START_ID]])
    batch_size = 3 if task == "seq2seq" else 1
    next_log_probs = full_pass_next_log_probs(model, source, batch_size, max_length)
    paths, token_log_probs = reference_greedy(next_log_probs, batch_size, START_ID, max_length)
    # The end id: a token row 0 emits at step 2, so at least that row ends early.
    end_id = int(paths[0, 2])
    expected_ids, expected_scores = cut_at_end(paths, token_log_probs, end_id)

    token_ids, scores = greedy_decode(
        model, **inputs, start_id=START_ID, end_id=end_id, max_length=max_length
    )
    np.testing.assert_array_equal(np.asarray(token_ids), expected_ids)
    np.testing.assert_allclose(np.asarray(scores), expected_scores, rtol=1e-5, atol=1e-5)
    assert np.asarray(token_ids).dtype == np.int32
    assert np.asarray(scores).dtype == np.float32


def test_greedy_follows_the_table_into_the_trap():
    model = greedy_trap()
    token_ids, scores = greedy_decode(
        model, [[START]] * 2, start_id=START, end_id=END, max_length=4
    )
    # A (0.6), then A (0.34) after every A: it never ends, so it fills max_length.
    np.testing.assert_array_equal(np.asarray(token_ids), [[A, A, A, A]] * 2)
    np.testing.assert_allclose(np.asarray(scores), [np.log(0.6 * 0.34**3)] * 2, rtol=1e-6)


def test_padding_follows_the_end_and_a_row_that_never_ends_fills_max_length(rng):
    model = chain_then_never_ending(rng)
    token_ids, scores = greedy_decode(
        model, [[START]] * 2, start_id=START, end_id=END, max_length=6
    )
    ended, unended = np.asarray(token_ids)
    np.testing.assert_array_equal(ended, [A, B, END, 0, 0, 0])
    assert (unended != 0).all() and (unended != END).all()
    expected = [3 * np.log(0.9), model.log_prob(unended, row=1)]
    np.testing.assert_allclose(np.asarray(scores), expected, rtol=1e-5)
