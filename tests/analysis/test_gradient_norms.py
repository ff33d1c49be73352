"""‖∂L/∂h_t‖ against hand-computed values and against Keras's own recurrent layers."""

from __future__ import annotations

import doctest

import keras
import numpy as np
import pytest
from keras import ops

import zoo
import zoo.analysis.gradient_norms
import zoo.analysis.gradients
from zoo.analysis.gradient_norms import hidden_state_gradient_norms, recurrent_model_gradient_norms
from zoo.analysis.gradients import value_and_gradient


def test_docstring_examples():
    for module in (zoo.analysis.gradient_norms, zoo.analysis.gradients):
        failures, _ = doctest.testmod(module)
        assert failures == 0


def linear_cell(recurrent_weight, input_weight=1.0, bias=0.0):
    """One unit, no activation: h_t = w h_(t-1) + u x_t + b."""
    cell = keras.layers.SimpleRNNCell(1, activation=None)
    cell.build((None, 1))
    cell.set_weights(
        [np.full((1, 1), input_weight), np.full((1, 1), recurrent_weight), np.array([bias])]
    )
    return cell


@pytest.mark.parametrize("recurrent_weight", [0.9, 1.1, -0.5])
def test_linear_rnn_gradient_is_a_power_of_the_recurrent_weight(recurrent_weight):
    steps = 12
    inputs = np.random.default_rng(0).normal(size=(1, steps, 1)).astype("float32")
    norms = hidden_state_gradient_norms(
        linear_cell(recurrent_weight), inputs, lambda hidden: ops.sum(hidden)
    )
    # L = h_(T-1): ∂L/∂h_t = w^(T-1-t).
    expected = np.abs(recurrent_weight) ** np.arange(steps - 1, -1, -1)
    np.testing.assert_allclose(norms, expected, rtol=1e-5)


def test_linear_rnn_squared_loss_scales_by_the_final_state():
    w, u, b = 0.8, 0.5, 0.1
    x = np.array([1.0, -2.0, 0.5, 3.0], "float32")
    # Forward by hand: h_t = w h_(t-1) + u x_t + b from h_(-1) = 0.
    hidden = 0.0
    for value in x:
        hidden = w * hidden + u * value + b
    norms = hidden_state_gradient_norms(
        linear_cell(w, u, b), x[None, :, None], lambda h: 0.5 * ops.sum(h**2)
    )
    # L = h²/2: ∂L/∂h_(T-1) = h_(T-1), then a factor w per step back.
    np.testing.assert_allclose(norms, abs(hidden) * w ** np.arange(3, -1, -1), rtol=1e-5)


def test_batch_mean_of_per_example_norms():
    # Two examples with their own final states; the norm is averaged over the batch.
    w = 0.5
    x = np.array([[[1.0], [1.0]], [[2.0], [-4.0]]], "float32")
    norms = hidden_state_gradient_norms(linear_cell(w), x, lambda h: 0.5 * ops.sum(h**2))
    final = np.array([w * 1.0 + 1.0, w * 2.0 - 4.0])  # h_1 per example: 1.5 and -3.0
    np.testing.assert_allclose(norms, [np.mean(np.abs(final)) * w, np.mean(np.abs(final))])


def test_lstm_cell_state_gradient_is_a_power_of_the_forget_gate():
    # Zero kernels: every gate is its bias, constant over time, and h does not feed back.
    units, steps = 3, 8
    cell = keras.layers.LSTMCell(units)
    cell.build((None, 2))
    gate_biases = {"input": 0.3, "forget": 1.5, "candidate": 0.7, "output": -0.2}
    bias = np.concatenate([np.full(units, value) for value in gate_biases.values()])
    kernel, recurrent_kernel, _ = cell.get_weights()
    cell.set_weights([np.zeros_like(kernel), np.zeros_like(recurrent_kernel), bias])

    def sigmoid(value):
        return 1.0 / (1.0 + np.exp(-value))

    i, f = sigmoid(gate_biases["input"]), sigmoid(gate_biases["forget"])
    g, o = np.tanh(gate_biases["candidate"]), sigmoid(gate_biases["output"])
    cell_state = 0.0
    for _ in range(steps):
        cell_state = f * cell_state + i * g  # c_t = f c_(t-1) + i g
    inputs = np.ones((1, steps, 2), "float32")

    def loss(hidden):
        return ops.sum(hidden)  # L = Σ h_(T-1) = Σ o tanh(c_(T-1))

    # ∂L/∂c_(T-1) = o (1 - tanh² c) per unit, then a factor f per step back along the cell
    # state; the last c is handed on to no step, so its carried gradient is 0.
    last = np.sqrt(units) * o * (1 - np.tanh(cell_state) ** 2)
    expected = last * f ** np.arange(steps - 1, 0, -1)
    cell_norms = hidden_state_gradient_norms(cell, inputs, loss, state_index=1)
    np.testing.assert_allclose(cell_norms, [*expected, 0.0], rtol=1e-5)
    # h_t reaches the loss only at the last step: nothing flows back through h.
    hidden_norms = hidden_state_gradient_norms(cell, inputs, loss, state_index=0)
    np.testing.assert_allclose(hidden_norms, [0.0] * (steps - 1) + [np.sqrt(units)], atol=1e-6)


@pytest.mark.parametrize("family", ["simple_rnn", "lstm", "gru"])
def test_zoo_model_norms_match_keras_layer_restarted_from_each_state(family):
    """Reference: Keras's own recurrent layer run on steps t+1.. from `initial_state` h_t,
    differentiated with respect to that state; it shares no code with the cell loop."""
    keras.utils.set_random_seed(3)
    model = zoo.build(
        family, task="classify", preset="tiny", num_layers=1, bidirectional=False,
        hidden_dim=8, vocab_size=12, num_classes=3,
    )  # fmt: skip
    rng = np.random.default_rng(1)
    token_ids = rng.integers(1, 12, size=(4, 7)).astype("int32")
    labels = np.array([0, 2, 1, 1])
    norms = recurrent_model_gradient_norms(model, token_ids, labels)

    layer, head = model.encoder_layers[0], model.get_layer("classifier")
    embedded = model.encoder_embedding(token_ids)
    expected = []
    for step in range(token_ids.shape[1]):
        _, *states = layer(embedded[:, : step + 1])  # the states after step `step`
        rest = embedded[:, step + 1 :]

        def loss(hidden, states=states, rest=rest):
            start = [hidden, *states[1:]]
            if rest.shape[1] == 0:
                final = hidden
            else:
                _, final, *_ = layer(rest, initial_state=start)
            logits = head(final)
            return ops.sum(
                keras.losses.sparse_categorical_crossentropy(labels, logits, from_logits=True)
            )

        _, gradient = value_and_gradient(loss, states[0])
        expected.append(np.linalg.norm(gradient, axis=-1).mean())
    np.testing.assert_allclose(norms, expected, rtol=2e-4, atol=1e-7)


def test_regress_model_uses_squared_error():
    keras.utils.set_random_seed(0)
    model = zoo.build(
        "simple_rnn", task="regress", preset="tiny", num_layers=1, bidirectional=False,
        hidden_dim=4, num_features=2,
    )  # fmt: skip
    features = np.random.default_rng(0).uniform(0.1, 1.0, size=(3, 5, 2)).astype("float32")
    targets = np.array([[0.5], [1.0], [1.5]], "float32")
    norms = recurrent_model_gradient_norms(model, features, targets)
    # At the last step ∂L/∂h = 2 (prediction - target) · head kernel, per example.
    head_kernel = model.get_layer("regressor").get_weights()[0][:, 0]
    residual = model.predict(features, verbose=0) - targets
    expected_last = np.mean(np.abs(2 * residual[:, 0])) * np.linalg.norm(head_kernel)
    np.testing.assert_allclose(norms[-1], expected_last, rtol=1e-4)


def test_rejects_models_whose_prediction_does_not_read_every_state():
    transformer = zoo.build("transformer", task="classify", preset="tiny", vocab_size=10)
    with pytest.raises(ValueError, match="'simple_rnn', 'lstm' or 'gru'"):
        recurrent_model_gradient_norms(transformer, np.ones((1, 3), "int32"), [0])
    bidirectional = zoo.build("lstm", task="classify", preset="tiny", vocab_size=10)
    with pytest.raises(ValueError, match="bidirectional=False"):
        recurrent_model_gradient_norms(bidirectional, np.ones((1, 3), "int32"), [0])
    model = zoo.build(
        "lstm", task="classify", preset="tiny", vocab_size=10, bidirectional=False, num_layers=1
    )
    with pytest.raises(ValueError, match="padding"):
        recurrent_model_gradient_norms(model, np.array([[3, 4, 0]], "int32"), [0])
    with pytest.raises(ValueError, match="state_index"):
        recurrent_model_gradient_norms(model, np.array([[3, 4, 5]], "int32"), [0], state_index=2)
