"""The recurrent config's options: gate biases, GRU, a bidirectional first encoder layer and
residual connections, each against a hand-computed value or an invariant."""

import keras
import numpy as np
import pytest

import zoo
from zoo.data.toy_tasks import padded_ids
from zoo.models.gate_bias import GateBias


def tiny(name, task="seq2seq", **overrides):
    return zoo.build(name, task=task, preset="tiny", **overrides)


def predict(model, inputs):
    return np.asarray(model(inputs, training=False))


def cells(model):
    layers = list(getattr(model, "encoder_layers", [])) + list(getattr(model, "decoder_layers", []))
    found = []
    for layer in layers:
        if isinstance(layer, keras.layers.Bidirectional):
            found += [layer.forward_layer.cell, layer.backward_layer.cell]
        else:
            found.append(layer.cell)
    return found


def test_forget_bias_sets_every_lstm_forget_gate_and_nothing_else():
    model = tiny("lstm", forget_bias=3.0, bidirectional_encoder=True)
    assert len(cells(model)) == 3  # encoder forward + backward, decoder
    for cell in cells(model):
        bias = keras.ops.convert_to_numpy(cell.bias).reshape(4, cell.units)  # i, f, c, o
        np.testing.assert_array_equal(bias[1], 3.0)
        np.testing.assert_array_equal(bias[[0, 2, 3]], 0.0)


def test_keras_default_without_the_options():
    lstm, gru = cells(tiny("lstm"))[0], cells(tiny("gru"))[0]
    bias = keras.ops.convert_to_numpy(lstm.bias).reshape(4, lstm.units)
    np.testing.assert_array_equal(bias[1], 1.0)  # unit_forget_bias
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(gru.bias), 0.0)


def test_chrono_init_draws_log_uniform_forget_and_opposite_input_biases():
    keras.utils.set_random_seed(3)
    t_max = 100
    model = tiny("lstm", task="lm", hidden_dim=256, chrono_init=t_max)
    cell = cells(model)[0]
    bias = keras.ops.convert_to_numpy(cell.bias).reshape(4, cell.units)
    forget = bias[1]
    assert forget.min() >= 0.0 and forget.max() <= np.log(t_max - 1) + 1e-6
    np.testing.assert_allclose(bias[0], -forget)
    np.testing.assert_array_equal(bias[2:], 0.0)
    # exp(b_f) is uniform on (1, T_max - 1): its mean is T_max / 2 within sampling error
    # (256 draws, standard error 28.6 / 16 = 1.8).
    assert abs(np.exp(forget).mean() - t_max / 2) < 4 * 1.8
    assert len(np.unique(forget)) == cell.units


def test_gru_gate_bias_sits_on_the_update_gate_of_the_input_bias():
    model = tiny("gru", task="classify", forget_bias=2.0)
    for cell in cells(model):
        bias = keras.ops.convert_to_numpy(cell.bias)  # reset_after: (2, 3 units), z r h
        assert bias.shape == (2, 3 * cell.units)
        np.testing.assert_array_equal(bias[0, : cell.units], 2.0)
        np.testing.assert_array_equal(bias[0, cell.units :], 0.0)
        np.testing.assert_array_equal(bias[1], 0.0)


def test_gate_bias_initializer_round_trips_and_refuses_other_cells():
    initializer = GateBias("gru", chrono_init=50, seed=7)
    clone = GateBias.from_config(initializer.get_config())
    np.testing.assert_array_equal(
        keras.ops.convert_to_numpy(initializer((6,))), keras.ops.convert_to_numpy(clone((6,)))
    )
    with pytest.raises(ValueError, match="'lstm' and 'gru'"):
        GateBias("simple_rnn", forget_bias=1.0)


def test_gru_matches_a_plain_keras_gru_stack_with_the_same_weights(rng):
    """The zoo GRU classifier is a Keras GRU over the embedding, read at its final state."""
    model = tiny("gru", task="classify", bidirectional=False, num_layers=2)
    ids = padded_ids(rng, 4, 9, model.config.vocab_size, min_length=9)
    embedded = model.encoder_embedding(ids)
    first = keras.layers.GRU(32, return_sequences=True)
    second = keras.layers.GRU(32)
    first.build(embedded.shape)
    second.build((None, None, 32))
    first.set_weights(model.encoder_layers[0].get_weights())
    second.set_weights(model.encoder_layers[1].get_weights())
    final = second(first(embedded))
    head = model.get_layer("classifier")
    np.testing.assert_allclose(predict(model, ids), np.asarray(head(final)), atol=1e-5)


def zero_layer(layer):
    layer.set_weights([np.zeros_like(w) for w in layer.get_weights()])


@pytest.mark.parametrize("name", ["lstm", "gru", "simple_rnn"])
def test_residual_layers_add_their_input(name, rng):
    """A second layer that outputs zeros (all its weights zero: an LSTM's cell stays 0,
    a GRU keeps its zero state, tanh(0) = 0) passes the first layer's output through a
    residual connection unchanged: the model equals one layer alone."""
    ids = padded_ids(rng, 3, 8, 50, min_length=8)
    two = tiny(name, task="lm", vocab_size=50, num_layers=2, residual=True)
    one = tiny(name, task="lm", vocab_size=50, num_layers=1, residual=True)
    zero_layer(two.decoder_layers[1])
    for layer in one.layers:
        if layer.weights and layer.name != "layer_1":
            layer.set_weights(two.get_layer(layer.name).get_weights())
    np.testing.assert_allclose(predict(two, ids), predict(one, ids), atol=1e-5)
    plain = tiny(name, task="lm", vocab_size=50, num_layers=2)
    plain.set_weights(two.get_weights())  # the same weights without the connection differ
    assert np.abs(predict(plain, ids) - predict(two, ids)).max() > 1e-3


@pytest.mark.parametrize("name", ["lstm", "gru"])
def test_bidirectional_encoder_reads_the_whole_source_and_ignores_padding(name, rng):
    model = tiny(name, bidirectional_encoder=True, residual=True, num_layers=2)
    vocab = model.config.vocab_size
    source = padded_ids(rng, 3, 7, vocab, min_length=7)
    padding = np.zeros_like(source)
    encoded, states = model._encode_ids(source, source != 0)
    changed = source.copy()
    changed[:, -1] = (changed[:, -1] % (vocab - 4)) + 4
    encoded_changed, _ = model._encode_ids(changed, changed != 0)
    # The first position's output already depends on the last token (the backward reader).
    assert np.abs(np.asarray(encoded_changed)[:, 0] - np.asarray(encoded)[:, 0]).max() > 1e-4
    # Padding on the right changes no real position and no final state.
    padded = np.concatenate([source, padding], axis=1)
    encoded_padded, states_padded = model._encode_ids(padded, padded != 0)
    np.testing.assert_allclose(np.asarray(encoded_padded)[:, :7], np.asarray(encoded), atol=1e-5)
    for layer_states, layer_states_padded in zip(states, states_padded):
        assert len(layer_states) == len(zoo.models.recurrent.STATE_NAMES[name])
        for state, state_padded in zip(layer_states, layer_states_padded):
            np.testing.assert_allclose(np.asarray(state_padded), np.asarray(state), atol=1e-5)


@pytest.mark.parametrize("name", ["lstm", "gru"])
def test_cached_decoding_equals_the_full_pass_with_every_option(name, rng, tmp_path):
    model = tiny(
        name, num_layers=2, bidirectional_encoder=True, residual=True, chrono_init=20, dropout=0.1
    )
    source = padded_ids(rng, 3, 7, model.config.vocab_size)
    target = padded_ids(rng, 3, 6, model.config.vocab_size, min_length=6)
    inputs = {"encoder_token_ids": source, "decoder_token_ids": target}
    full = predict(model, inputs)
    state = model.init_decode_state(source, max_length=6)
    for index in range(target.shape[1]):
        logits, state = model.decode_step(state, target[:, index], index)
        np.testing.assert_allclose(np.asarray(logits), full[:, index], atol=1e-5)
    path = tmp_path / "model.keras"
    model.save(path)
    reloaded = keras.saving.load_model(path)  # safe_mode: GateBias is registered
    assert reloaded.config == model.config
    np.testing.assert_allclose(predict(reloaded, inputs), full, atol=1e-6)


def test_recurrent_initializer_reaches_every_layer():
    model = tiny("simple_rnn", recurrent_initializer="zeros", num_layers=2)
    for cell in cells(model):
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(cell.recurrent_kernel), 0.0)


def test_embedding_stddev_sets_the_scale_of_every_embedding():
    scaled = tiny("lstm", embedding_stddev=1.0, vocab_size=500)
    for layer in (scaled.encoder_embedding, scaled.decoder_embedding):
        values = keras.ops.convert_to_numpy(layer.embeddings)  # 500 x 32 draws
        assert abs(values.std() - 1.0) < 0.05 and abs(values.mean()) < 0.05
    default = keras.ops.convert_to_numpy(tiny("lstm").encoder_embedding.embeddings)
    assert np.abs(default).max() <= 0.05  # Keras's uniform(-0.05, 0.05)


@pytest.mark.parametrize("pooling", ["max", "mean"])
def test_pooling_reads_the_last_layer_over_real_steps_only(pooling, rng):
    model = tiny("lstm", task="classify", vocab_size=50, pooling=pooling, num_layers=2)
    ids = padded_ids(rng, 4, 9, 50, min_length=3)
    sequence = np.asarray(model.backbone(ids)["sequence_output"])
    real = ids != 0
    expected = np.stack(
        [
            (np.max if pooling == "max" else np.mean)(sequence[row][real[row]], axis=0)
            for row in range(len(ids))
        ]
    )
    np.testing.assert_allclose(
        np.asarray(model.backbone(ids)["pooled_output"]), expected, rtol=1e-5, atol=1e-6
    )
    # Padding never changes the class logits.
    padded = np.concatenate([ids, np.zeros_like(ids)], axis=1)
    np.testing.assert_allclose(predict(model, padded), predict(model, ids), atol=1e-5)
    # It is not the final state: the same weights with pooling="final" answer otherwise.
    final = tiny("lstm", task="classify", vocab_size=50, num_layers=2)
    final.set_weights(model.get_weights())
    assert np.abs(predict(final, ids) - predict(model, ids)).max() > 1e-4


def test_an_unknown_pooling_is_explained():
    with pytest.raises(ValueError, match="pooling must be one of 'final', 'max', 'mean'"):
        tiny("lstm", task="classify", vocab_size=50, pooling="attention")
