"""The sweep's bookkeeping (order, seeds, skipping) with training replaced by canned scores,
the models' sizes and gate initialisations, and one real cell trained twice."""

from __future__ import annotations

import doctest

import keras
import numpy as np
import pytest

import experiments.long_range.gradient_experiment
import experiments.long_range.models
import experiments.long_range.sweep as sweep
from experiments.long_range.models import build_long_range_model, gate_overrides
from experiments.long_range.sweep import (
    NOT_RUN,
    CellResult,
    SweepConfig,
    build_cell_model,
    chance_band,
    failed_completely,
    run_sweep,
    train_cell,
)


def fake_training(scores):
    """A `train_cell` that returns `scores[(model, task, length, seed)]` without training."""

    def train(config, model, task, length, seed, _model=None):
        score = scores[(model, task, length, seed)]
        solved = sweep.is_solved(task, score)
        result = CellResult(model, task, length, seed, score, solved, 10, "max_steps", 0.1, 1)
        return result, None

    return train


def test_expensive_lengths_are_skipped_after_a_complete_failure(monkeypatch):
    config = SweepConfig(
        models=("lstm",),
        tasks=("recall",),
        lengths=(50, 100, 200, 500),
        seeds=(0, 1),
        skip_from_length=200,
    )
    scores = {
        ("lstm", "recall", 50, 0): 0.25,  # complete failure at 50, both seeds ...
        ("lstm", "recall", 50, 1): 0.26,
        ("lstm", "recall", 100, 0): 0.9,  # ... but 100 is cheap, so it runs anyway
        ("lstm", "recall", 100, 1): 0.26,
    }
    monkeypatch.setattr(sweep, "train_cell", fake_training(scores))
    results = run_sweep(config, progress=False)
    assert [(r.length, r.seed, r.score) for r in results] == [
        (50, 0, 0.25),
        (50, 1, 0.26),
        (100, 0, 0.9),
        (100, 1, 0.26),
        (200, 0, None),
        (200, 1, None),
        (500, 0, None),
        (500, 1, None),
    ]
    assert {r.stopped_by for r in results if r.score is None} == {NOT_RUN}

    # One seed above chance is not a complete failure: nothing is skipped.
    scores[("lstm", "recall", 50, 1)] = 0.5
    scores.update({("lstm", "recall", 200, s): 0.4 for s in (0, 1)})  # above chance
    scores.update({("lstm", "recall", 500, s): 0.3 for s in (0, 1)})
    results = run_sweep(config, progress=False)
    assert all(r.score is not None for r in results)

    # And with skipping off every cell runs.
    scores[("lstm", "recall", 50, 1)] = 0.25
    everything = SweepConfig(**{**config.__dict__, "skip_after_failure": False})
    assert all(r.score is not None for r in run_sweep(everything, progress=False))


def test_every_cell_runs_every_seed():
    config = SweepConfig(models=("gru", "lstm"), lengths=(100, 10), seeds=(0, 1))
    cells = config.cells()
    assert cells[:4] == [
        ("gru", "recall", 10, 0),
        ("gru", "recall", 10, 1),
        ("lstm", "recall", 10, 0),
        ("lstm", "recall", 10, 1),
    ]
    assert len(cells) == 2 * 2 * 2 * 2
    assert SweepConfig().models == ("simple_rnn", "lstm", "gru", "transformer")
    assert SweepConfig().seeds == (0, 1, 2) and SweepConfig().gate_init == "chrono"


def test_complete_failure_thresholds():
    config = SweepConfig(num_test=500, num_symbols=4)
    low, high = chance_band(config)
    assert failed_completely(config, "recall", high) and failed_completely(config, "recall", low)
    assert not failed_completely(config, "recall", high + 0.01)
    assert not failed_completely(config, "recall", low - 0.01)  # below chance: information
    assert failed_completely(config, "adding", 0.9 / 6)  # within 10 % of the 1/6 baseline
    assert not failed_completely(config, "adding", 0.14)


@pytest.mark.parametrize("task", ["recall", "adding"])
def test_models_have_similar_weight_counts(task):
    counts = {
        name: build_long_range_model(name, task, 50).count_params()
        for name in ("simple_rnn", "lstm", "gru", "transformer")
    }
    assert max(counts.values()) / min(counts.values()) < 1.1, counts
    # The GRU's sequence-mixing weights: 3 gates x (input + recurrent) kernels of 37 x 37.
    gru = build_long_range_model("gru", task, 50).encoder_layers[0].cell
    assert gru.kernel.shape == (37, 111) and gru.recurrent_kernel.shape == (37, 111)


def gate_biases(model):
    """`(keep gate, LSTM input gate or None)` biases of a one-layer lstm or gru."""
    cell = model.encoder_layers[0].cell
    bias = keras.ops.convert_to_numpy(cell.bias)
    units = cell.units
    if isinstance(cell, keras.layers.LSTMCell):  # gates i, f, c, o
        return bias[units : 2 * units], bias[:units]
    return bias.reshape(-1)[:units], None  # GRU: update gate first (input-bias row)


def test_gate_init_reaches_lstm_and_gru_only():
    length = 50
    for name in ("lstm", "gru"):
        config = SweepConfig(gate_init="chrono")
        keep, write = gate_biases(build_cell_model(config, name, "recall", length, seed=0))
        # chrono: log(U(1, T - 1)) per unit; an LSTM's input gate is its negative.
        assert np.all(keep >= 0.0) and np.all(keep <= np.log(length - 1) + 1e-6)
        assert keep.std() > 0.1  # spread over units, not one value
        if write is not None:
            np.testing.assert_allclose(write, -keep)
        again, _ = gate_biases(build_cell_model(config, name, "recall", length, seed=0))
        np.testing.assert_array_equal(keep, again)  # the draw repeats with the seed

        opened, _ = gate_biases(
            build_cell_model(SweepConfig(gate_init="open"), name, "recall", length, seed=0)
        )
        np.testing.assert_array_equal(opened, 3.0)
        default, _ = gate_biases(
            build_cell_model(SweepConfig(gate_init="keras"), name, "recall", length, seed=0)
        )
        np.testing.assert_array_equal(default, 1.0 if name == "lstm" else 0.0)
    # A SimpleRNN has no gates: every gate init builds it the same way.
    for gate_init in ("keras", "chrono", "open"):
        assert gate_overrides("simple_rnn", gate_init, length) == {}
        assert gate_overrides("transformer", gate_init, length) == {}
        build_cell_model(SweepConfig(gate_init=gate_init), "simple_rnn", "recall", length, 0)
    # chrono_init needs T_max >= 3: the shortest sequences still build.
    assert gate_overrides("lstm", "chrono", 2) == {"chrono_init": 3}
    with pytest.raises(ValueError, match="choose from keras, chrono, open"):
        SweepConfig(gate_init="chrono_init")


def test_docstring_examples():
    for module in (experiments.long_range.models, experiments.long_range.gradient_experiment):
        failures, _ = doctest.testmod(module)
        assert failures == 0


@pytest.mark.slow
def test_a_cell_repeats_exactly():
    # The GRU with chrono gates: its draw of biases repeats with the seed too.
    config = SweepConfig(max_steps=20, check_every=10, num_test=64)
    first, _ = train_cell(config, "gru", "adding", 8, seed=3)
    again, _ = train_cell(config, "gru", "adding", 8, seed=3)
    other, _ = train_cell(config, "gru", "adding", 8, seed=4)
    assert first.score == again.score and first.steps == 20
    assert other.score != first.score
