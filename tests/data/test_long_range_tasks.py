from __future__ import annotations

import doctest

import numpy as np
import pytest

import zoo.data.long_range_tasks
from zoo.data.long_range_tasks import (
    ADDING_BASELINE_MSE,
    adding_sequences,
    adding_task,
    recall_chance,
    recall_sequences,
    recall_task,
    recall_vocab_size,
)


def test_docstring_examples():
    failures, _ = doctest.testmod(zoo.data.long_range_tasks)
    assert failures == 0


# --- recall -------------------------------------------------------------------------------


def test_recall_sequences_by_hand():
    # Symbols are ids 1..3, distractors ids 4..5 (num_symbols=3, two distractor kinds).
    token_ids, labels = recall_sequences(
        np.array([0, 2, 1]), np.array([[0, 0], [1, 0], [1, 1]]), num_symbols=3
    )
    np.testing.assert_array_equal(token_ids, [[1, 4, 4], [3, 5, 4], [2, 5, 5]])
    np.testing.assert_array_equal(labels, [0, 2, 1])
    assert token_ids.dtype == np.int32 and labels.dtype == np.int32


def test_recall_task_layout_and_labels():
    token_ids, labels = recall_task(400, length=7, num_symbols=4, num_distractors=3, seed=5)
    assert token_ids.shape == (400, 7) and labels.shape == (400,)
    # The label is the first token's symbol; every later token is a distractor id.
    np.testing.assert_array_equal(labels, token_ids[:, 0] - 1)
    assert set(np.unique(token_ids[:, 0])) == {1, 2, 3, 4}
    assert set(np.unique(token_ids[:, 1:])) == {5, 6, 7}
    assert token_ids.max() < recall_vocab_size(4, 3) == 8
    assert not np.any(token_ids == 0)  # no padding: every sequence is full length


def test_recall_task_is_deterministic_and_balanced():
    first = recall_task(2000, length=5, seed=3)
    again = recall_task(2000, length=5, seed=3)
    other = recall_task(2000, length=5, seed=4)
    np.testing.assert_array_equal(first[0], again[0])
    np.testing.assert_array_equal(first[1], again[1])
    assert not np.array_equal(first[0], other[0])
    # Uniform symbols: each of 4 near 1/4 (6 standard errors of 2000 draws is ±0.058).
    frequencies = np.bincount(first[1], minlength=4) / 2000
    np.testing.assert_allclose(frequencies, 0.25, atol=0.058)
    assert recall_chance(4) == 0.25


def test_recall_task_accepts_seed_tuples():
    # The sweep draws batch `step` of a cell from seed (seed, length, stream, step).
    a = recall_task(8, length=6, seed=(0, 6, 1, 0))
    b = recall_task(8, length=6, seed=(0, 6, 1, 1))
    assert not np.array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[0], recall_task(8, length=6, seed=(0, 6, 1, 0))[0])


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(num_examples=0, length=5), "num_examples"),
        (dict(num_examples=2, length=1), "length"),
        (dict(num_examples=2, length=5, num_symbols=1), "num_symbols"),
        (dict(num_examples=2, length=5, num_distractors=0), "num_distractors"),
    ],
)
def test_recall_task_rejects_bad_sizes(kwargs, message):
    with pytest.raises(ValueError, match=message):
        recall_task(**kwargs)


def test_recall_sequences_rejects_out_of_range_symbols():
    with pytest.raises(ValueError, match=r"\[0, 2\)"):
        recall_sequences(np.array([2]), np.array([[0]]), num_symbols=2)


# --- adding -------------------------------------------------------------------------------


def test_adding_sequences_by_hand():
    values = np.array([[0.5, 0.25, 0.125, 1.0, 0.75], [0.1, 0.2, 0.3, 0.4, 0.5]])
    features, targets = adding_sequences(values, np.array([0, 2]), np.array([3, 4]))
    np.testing.assert_array_equal(features[0, :, 1], [1, 0, 0, 1, 0])
    np.testing.assert_array_equal(features[1, :, 1], [0, 0, 1, 0, 1])
    np.testing.assert_allclose(features[..., 0], values.astype("float32"))
    np.testing.assert_allclose(targets, [[1.5], [0.8]], rtol=1e-6)
    assert features.dtype == np.float32 and targets.dtype == np.float32


def test_adding_task_markers_values_and_targets():
    features, targets = adding_task(500, length=20, seed=1)
    values, markers = features[..., 0], features[..., 1]
    assert features.shape == (500, 20, 2) and targets.shape == (500, 1)
    # Exactly two markers, one in each half.
    np.testing.assert_array_equal(markers.sum(axis=1), 2.0)
    np.testing.assert_array_equal(markers[:, :10].sum(axis=1), 1.0)
    # Values in (0, 1]: never 0.0, so no step reads as padding.
    assert values.min() > 0.0 and values.max() <= 1.0
    assert np.all(np.any(features != 0.0, axis=-1))
    # The target is the sum of the marked values, recomputed independently.
    np.testing.assert_allclose(targets[:, 0], (values * markers).sum(axis=1), rtol=1e-6)


def test_adding_baseline_is_the_target_variance():
    # Always answering 1.0 scores Var[U1 + U2] = 1/6 for two uniform values.
    _, targets = adding_task(20000, length=4, seed=2)
    assert ADDING_BASELINE_MSE == pytest.approx(1 / 6)
    assert np.mean((targets - 1.0) ** 2) == pytest.approx(1 / 6, abs=0.006)


def test_adding_task_is_deterministic():
    np.testing.assert_array_equal(adding_task(3, 9, seed=7)[0], adding_task(3, 9, seed=7)[0])
    assert not np.array_equal(adding_task(3, 9, seed=7)[0], adding_task(3, 9, seed=8)[0])


def test_adding_sequences_rejects_what_would_break_the_task():
    with pytest.raises(ValueError, match="different steps"):
        adding_sequences(np.ones((1, 4)), np.array([1]), np.array([1]))
    with pytest.raises(ValueError, match="padding"):
        adding_sequences(np.array([[0.0, 1.0, 1.0]]), np.array([0]), np.array([2]))
