"""`compile_seq2seq`: the moving average of the weights that `fit()` leaves in the model;
Muon for the matrices."""

import keras
import numpy as np
import pytest

import zoo
from zoo.training import compile_seq2seq
from zoo.training.optimizers import Muon


class RecordWeights(keras.callbacks.Callback):
    """The raw weights after every optimiser step."""

    def __init__(self):
        super().__init__()
        self.after_step = []

    def on_train_batch_end(self, batch, logs=None):
        self.after_step.append([np.array(w) for w in self.model.get_weights()])


def test_fit_ends_with_the_moving_average_of_the_weights(rng):
    keras.utils.set_random_seed(0)
    model = zoo.build("transformer", task="seq2seq", preset="tiny", vocab_size=16)
    compile_seq2seq(model, warmup_steps=2, ema_momentum=0.5)
    inputs = {
        "encoder_token_ids": rng.integers(1, 16, (12, 5)).astype("int32"),
        "decoder_token_ids": rng.integers(1, 16, (12, 6)).astype("int32"),
    }
    labels = rng.integers(1, 16, (12, 6)).astype("int32")
    record = RecordWeights()
    model.fit(inputs, labels, batch_size=4, epochs=1, callbacks=[record], verbose=0)
    # By hand: the average starts at the weights after step 1, then a <- 0.5 a + 0.5 w.
    first, second, third = record.after_step
    expected = [0.25 * a + 0.25 * b + 0.5 * c for a, b, c in zip(first, second, third)]
    for got, want in zip(model.get_weights(), expected):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    assert any(not np.allclose(got, raw) for got, raw in zip(model.get_weights(), third))


def test_an_impossible_momentum_is_refused():
    model = zoo.build("transformer", task="seq2seq", preset="tiny", vocab_size=16)
    with pytest.raises(ValueError, match="ema_momentum"):
        compile_seq2seq(model, ema_momentum=1.0)


def test_muon_takes_the_matrices_and_adam_the_rest(rng):
    keras.utils.set_random_seed(0)
    model = zoo.build("transformer", task="seq2seq", preset="tiny", vocab_size=16)
    compile_seq2seq(model, warmup_steps=4, optimizer="muon", ema_momentum=0.9)
    optimizer = model.optimizer
    assert isinstance(optimizer, Muon)
    assert (optimizer.adam_beta_2, optimizer.epsilon, optimizer.weight_decay) == (0.98, 1e-9, 0.0)
    inputs = {
        "encoder_token_ids": rng.integers(1, 16, (32, 5)).astype("int32"),
        "decoder_token_ids": rng.integers(1, 16, (32, 6)).astype("int32"),
    }
    labels = np.roll(inputs["decoder_token_ids"], -1, axis=1)
    history = model.fit(inputs, labels, batch_size=8, epochs=6, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    adam = {v.path for v in model.trainable_variables if optimizer._should_use_adamw(v)}
    kernels = [v.path for v in model.trainable_variables if v.path.endswith("kernel")]
    assert kernels and not adam.intersection(kernels)
    assert all(p.endswith(("bias", "gamma", "beta", "embeddings")) for p in adam)


def test_an_unknown_optimizer_names_the_choices():
    model = zoo.build("transformer", task="seq2seq", preset="tiny", vocab_size=16)
    with pytest.raises(ValueError, match="adam, muon"):
        compile_seq2seq(model, optimizer="sgd")
