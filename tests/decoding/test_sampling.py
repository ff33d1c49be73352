"""Sampling draws from the tempered, filtered distribution written out by hand."""

import numpy as np
import pytest

import zoo
from tests.decoding.fake_models import END, START, TableModel
from zoo.decoding import greedy_decode, sample

# After the start token: ids 1..5 with these probabilities (0 is padding).
FIRST_STEP = np.array([0.0, 0.05, 0.1, 0.15, 0.3, 0.4])
DRAWS = 4000


def first_step_model():
    next_probs = np.full((6, 6), 1 / 5)
    next_probs[:, 0] = 0.0
    next_probs[START] = FIRST_STEP
    return TableModel.first_order(next_probs)


def tempered(probs, temperature):
    weights = probs ** (1 / temperature)
    return weights / weights.sum()


def kept(probs, ids):
    weights = np.zeros_like(probs)
    weights[ids] = probs[ids]
    return weights / weights.sum()


CASES = {
    "plain": (dict(), FIRST_STEP),
    "temperature": (dict(temperature=0.5), tempered(FIRST_STEP, 0.5)),
    # The two most likely: 0.4 and 0.3.
    "top_k": (dict(top_k=2), kept(FIRST_STEP, [4, 5])),
    # Smallest set reaching 0.75: 0.4 + 0.3 = 0.7 is short, so 0.15 joins.
    "top_p": (dict(top_p=0.75), kept(FIRST_STEP, [3, 4, 5])),
}


@pytest.mark.parametrize("case", CASES)
def test_first_tokens_follow_the_expected_distribution(case):
    settings, expected = CASES[case]
    token_ids, scores = sample(
        first_step_model(),
        [[START]] * DRAWS,
        start_id=START,
        end_id=END,
        max_length=1,
        seed=1,
        **settings,
    )
    first = np.asarray(token_ids)[:, 0]
    frequencies = np.bincount(first, minlength=len(expected)) / DRAWS
    # Binomial standard deviation <= sqrt(0.25 / 4000) = 0.008.
    np.testing.assert_allclose(frequencies, expected, atol=0.03)
    assert frequencies[expected == 0].sum() == 0
    # Scores are the model's own log-probabilities, untempered and unfiltered.
    np.testing.assert_allclose(np.asarray(scores), np.log(FIRST_STEP[first]), rtol=1e-5)


def test_top_k_one_is_greedy(rng):
    table = TableModel.random(rng, num_tables=3)
    # A zoo model too: on JAX the sampler threads its variables through the loop.
    transformer = zoo.build("transformer", task="lm", preset="tiny", vocab_size=24)
    for model, batch_size in ((table, 3), (transformer, 1)):
        kwargs = dict(token_ids=[[START]] * batch_size, start_id=START, end_id=END, max_length=6)
        token_ids, scores = sample(model, **kwargs, top_k=1, seed=0)
        greedy_ids, greedy_scores = greedy_decode(model, **kwargs)
        np.testing.assert_array_equal(np.asarray(token_ids), np.asarray(greedy_ids))
        np.testing.assert_allclose(np.asarray(scores), np.asarray(greedy_scores), rtol=1e-6)


def test_a_seed_makes_the_draw_reproducible(rng):
    model = TableModel.random(rng, sharpness=0.5)
    kwargs = dict(token_ids=[[START]] * 8, start_id=START, end_id=END, max_length=6)
    first, _ = sample(model, **kwargs, seed=3)
    again, _ = sample(model, **kwargs, seed=3)
    other, _ = sample(model, **kwargs, seed=4)
    np.testing.assert_array_equal(np.asarray(first), np.asarray(again))
    assert not np.array_equal(np.asarray(first), np.asarray(other))
    tokens = np.asarray(first)
    for row in tokens:  # padding only after the end
        ends = np.flatnonzero(row == END)
        length = ends[0] + 1 if len(ends) else len(row)
        assert (row[:length] != 0).all() and (row[length:] == 0).all()


@pytest.mark.parametrize(
    "settings, message",
    [
        (dict(temperature=-0.5), r"number >= 0"),
        (dict(top_k=2.5), "must be an int"),
        (dict(top_p=1.5), r"in \(0, 1\]"),
        (dict(seed=1.5), "`seed` must be an int"),
    ],
)
def test_bad_settings_are_explained(settings, message):
    with pytest.raises(ValueError, match=message):
        sample(first_step_model(), [[START]], start_id=START, end_id=END, max_length=2, **settings)


def test_temperature_zero_is_greedy_and_top_k_zero_filters_nothing(rng):
    """The export's conventions, everywhere: temperature 0 decodes greedily, top_k <= 0 and
    top_p = 1 keep every token."""
    model = TableModel.random(rng, num_tables=3)
    kwargs = dict(token_ids=[[START]] * 3, start_id=START, end_id=END, max_length=6)
    greedy_ids, _ = greedy_decode(model, **kwargs)
    zero_ids, _ = sample(model, **kwargs, temperature=0.0, seed=5)
    np.testing.assert_array_equal(np.asarray(zero_ids), np.asarray(greedy_ids))
    plain, _ = sample(model, **kwargs, seed=9)
    unfiltered, _ = sample(model, **kwargs, seed=9, top_k=0, top_p=1.0)
    np.testing.assert_array_equal(np.asarray(plain), np.asarray(unfiltered))
