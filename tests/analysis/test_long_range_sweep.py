"""The sweep's bookkeeping (order, seeds, skipping) with training replaced by canned scores,
and one real cell trained twice."""

from __future__ import annotations

import doctest

import pytest

import zoo.analysis.long_range_models
import zoo.analysis.long_range_sweep as long_range_sweep
from zoo.analysis.long_range_models import build_long_range_model
from zoo.analysis.long_range_sweep import (
    NOT_RUN,
    CellResult,
    SweepConfig,
    chance_band,
    failed_completely,
    run_sweep,
    train_cell,
)


def fake_training(scores):
    """A `train_cell` that returns `scores[(model, task, length, seed)]` without training."""

    def train(config, model, task, length, seed, _model=None):
        score = scores[(model, task, length, seed)]
        solved = long_range_sweep.is_solved(task, score)
        result = CellResult(model, task, length, seed, score, solved, 10, "max_steps", 0.1, 1)
        return result, None

    return train


def test_expensive_lengths_are_skipped_after_a_complete_failure(monkeypatch):
    config = SweepConfig(
        models=("lstm",),
        tasks=("recall",),
        lengths=(50, 100, 200, 500),
        seeds=(0, 1),
        multi_seed_lengths=(100,),
        skip_from_length=200,
    )
    scores = {
        ("lstm", "recall", 50, 0): 0.25,  # complete failure at 50 ...
        ("lstm", "recall", 100, 0): 0.9,  # ... but 100 is cheap, so it runs anyway
        ("lstm", "recall", 100, 1): 0.26,
        ("lstm", "recall", 200, 0): 0.4,
    }
    monkeypatch.setattr(long_range_sweep, "train_cell", fake_training(scores))
    results = run_sweep(config, progress=False)
    assert [(r.length, r.seed, r.score) for r in results] == [
        (50, 0, 0.25),
        (100, 0, 0.9),
        (100, 1, 0.26),
        (200, 0, None),
        (500, 0, None),
    ]
    assert {r.stopped_by for r in results if r.score is None} == {NOT_RUN}

    # One seed above chance is not a complete failure: nothing is skipped.
    scores[("lstm", "recall", 50, 0)] = 0.5
    scores[("lstm", "recall", 500, 0)] = 0.3
    results = run_sweep(config, progress=False)
    assert all(r.score is not None for r in results)

    # And with skipping off every cell runs.
    scores[("lstm", "recall", 50, 0)] = 0.25
    everything = SweepConfig(**{**config.__dict__, "skip_after_failure": False})
    assert all(r.score is not None for r in run_sweep(everything, progress=False))


def test_complete_failure_thresholds():
    config = SweepConfig(num_test=500, num_symbols=4)
    low, high = chance_band(config)
    assert failed_completely(config, "recall", high) and failed_completely(config, "recall", low)
    assert not failed_completely(config, "recall", high + 0.01)
    assert not failed_completely(config, "recall", low - 0.01)  # below chance: information
    assert failed_completely(config, "adding", 0.9 / 6)  # within 10 % of the 1/6 baseline
    assert not failed_completely(config, "adding", 0.14)


def test_models_have_similar_weight_counts():
    counts = {
        name: build_long_range_model(name, "recall").count_params()
        for name in ("simple_rnn", "lstm", "transformer")
    }
    assert max(counts.values()) / min(counts.values()) < 1.1, counts


def test_docstring_examples():
    failures, _ = doctest.testmod(zoo.analysis.long_range_models)
    assert failures == 0


@pytest.mark.slow
def test_a_cell_repeats_exactly():
    config = SweepConfig(max_steps=20, check_every=10, num_test=64)
    first, _ = train_cell(config, "lstm", "adding", 8, seed=3)
    again, _ = train_cell(config, "lstm", "adding", 8, seed=3)
    other, _ = train_cell(config, "lstm", "adding", 8, seed=4)
    assert first.score == again.score and first.steps == 20
    assert other.score != first.score
