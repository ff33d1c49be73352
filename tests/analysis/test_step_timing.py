from __future__ import annotations

import doctest
import itertools
import os
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest

import zoo
import zoo.analysis.step_timing
from zoo.analysis.step_timing import gradient_step, log_log_slopes, median_seconds

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_docstring_examples():
    failures, _ = doctest.testmod(zoo.analysis.step_timing)
    assert failures == 0


def test_gradient_step_matches_finite_differences_on_a_zoo_model():
    keras.utils.set_random_seed(0)
    model = zoo.build(
        "lstm", task="regress", preset="tiny", num_layers=1, bidirectional=False,
        hidden_dim=3, num_features=2,
    )  # fmt: skip
    features = np.random.default_rng(0).uniform(0.1, 1, size=(2, 4, 2)).astype("float32")
    targets = np.array([[0.3], [-0.2]], "float32")

    def loss(y, p):
        return keras.ops.mean((p - y) ** 2)

    gradients = gradient_step(model, loss)(features, targets)
    # Central differences on the output bias, a weight every prediction reads linearly.
    bias = model.get_layer("regressor").bias
    index = [id(v) for v in model.trainable_variables].index(id(bias))
    original = bias.numpy().copy()

    def loss_at(value):
        bias.assign(value)
        return float(loss(targets, model.predict(features, verbose=0)))

    epsilon = 1e-2
    difference = (loss_at(original + epsilon) - loss_at(original - epsilon)) / (2 * epsilon)
    bias.assign(original)
    np.testing.assert_allclose(gradients[index], [difference], rtol=1e-3)
    assert len(gradients) == len(model.trainable_variables)


def test_median_seconds_reads_the_clock_around_each_timed_call():
    calls = []
    ticks = itertools.count()
    # Each timed call spans clock readings (start, end): durations 1 tick each.
    seconds = median_seconds(
        lambda x, y: calls.append(x), "x", "y", repeats=3, warmup=2, clock=lambda: next(ticks)
    )
    assert seconds == 1.0 and len(calls) == 5
    with pytest.raises(ValueError, match="repeats"):
        median_seconds(lambda x, y: None, 0, 0, repeats=0)


def test_log_log_slopes_of_power_laws():
    lengths = [16, 32, 64, 128]
    np.testing.assert_allclose(log_log_slopes(lengths, [3.0 * t for t in lengths]), [1, 1, 1])
    np.testing.assert_allclose(log_log_slopes(lengths, [t**2 for t in lengths]), [2, 2, 2])
    np.testing.assert_allclose(log_log_slopes(lengths, [5.0] * 4), [0, 0, 0], atol=1e-12)


@pytest.mark.slow
def test_jax_backend_gradients_and_step():
    """The backend-aware pieces on JAX, in a fresh process (the backend is fixed at import)."""
    pytest.importorskip("jax")
    script = """
import keras, numpy as np, zoo
from keras import ops
from zoo.analysis.gradient_norms import hidden_state_gradient_norms
from zoo.analysis.step_timing import gradient_step
assert keras.backend.backend() == "jax"
cell = keras.layers.SimpleRNNCell(1, activation=None, use_bias=False)
cell.build((None, 1))
cell.set_weights([np.ones((1, 1)), np.full((1, 1), 0.5)])
norms = hidden_state_gradient_norms(cell, np.ones((1, 4, 1), "float32"), lambda h: ops.sum(h))
np.testing.assert_allclose(norms, [0.125, 0.25, 0.5, 1.0], rtol=1e-6)
model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1, use_bias=False)])
model.set_weights([np.ones((3, 1))])
step = gradient_step(model, lambda y, p: ops.sum((p - y) ** 2))
np.testing.assert_allclose(step(np.ones((1, 3), "float32"), np.zeros((1, 1)))[0].ravel(), 6.0)
print("ok")
"""
    environment = dict(os.environ, KERAS_BACKEND="jax", JAX_PLATFORMS="cpu")
    completed = subprocess.run(
        [sys.executable, "-c", script],
        cwd=REPO_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert completed.stdout.strip().endswith("ok")
