"""Every layer: registered, get_config round-trips, build() creates every weight, .keras
save/reload gives identical outputs, and it runs under mixed_bfloat16."""

import keras
import numpy as np
import pytest

from zoo import layers

IDS = np.array([[4, 2, 9, 1, 0, 0], [3, 3, 1, 7, 8, 2]], dtype="int32")
HIDDEN = np.random.default_rng(0).normal(size=(2, 6, 8)).astype("float32")

# name -> (constructor, inputs, call kwargs)
CASES = {
    "sinusoidal": (lambda: layers.SinusoidalPositionEncoding(), HIDDEN, {}),
    "learned_position": (lambda: layers.PositionEmbedding(sequence_length=10), HIDDEN, {}),
    "token_and_position": (
        lambda: layers.TokenAndPositionEmbedding(
            12, 8, position_encoding="learned", sequence_length=6
        ),
        IDS,
        {},
    ),
    "feed_forward": (lambda: layers.PositionwiseFeedForward(16), HIDDEN, {}),
    "self_attention": (lambda: layers.MultiHeadAttention(2), HIDDEN, {"use_causal_mask": True}),
    "encoder": (lambda: layers.TransformerEncoderBlock(16, 2, norm_first=True), HIDDEN, {}),
    "decoder_only": (
        lambda: layers.TransformerDecoderBlock(16, 2, has_cross_attention=False),
        HIDDEN,
        {},
    ),
}


def as_model(layer, inputs, kwargs):
    x = keras.Input(shape=inputs.shape[1:], dtype=inputs.dtype)
    return keras.Model(x, layer(x, **kwargs))


@pytest.mark.parametrize("name", sorted(CASES))
def test_config_round_trip_and_keras_save(name, tmp_path):
    make, inputs, kwargs = CASES[name]
    layer = make()
    model = as_model(layer, inputs, kwargs)
    expected = np.asarray(model(inputs))

    config = layer.get_config()
    clone = type(layer).from_config(config)
    assert clone.get_config() == config
    assert keras.saving.get_registered_object(
        keras.saving.get_registered_name(type(layer))
    ) is type(layer)

    path = tmp_path / f"{name}.keras"
    model.save(path)
    reloaded = keras.saving.load_model(path)
    np.testing.assert_allclose(np.asarray(reloaded(inputs)), expected, atol=1e-6)


@pytest.mark.parametrize("name", sorted(CASES))
def test_build_creates_every_weight(name):
    make, inputs, kwargs = CASES[name]
    layer = make()
    layer.build(inputs.shape)
    before = len(layer.weights)
    layer(inputs, **kwargs)
    assert len(layer.weights) == before


def test_cross_attention_decoder_round_trip(tmp_path):
    block = layers.TransformerDecoderBlock(16, 2)
    target = keras.Input((6, 8))
    source = keras.Input((4, 8))
    model = keras.Model([target, source], block(target, source))
    source_value = np.random.default_rng(1).normal(size=(2, 4, 8)).astype("float32")
    expected = np.asarray(model([HIDDEN, source_value]))
    model.save(tmp_path / "decoder.keras")
    reloaded = keras.saving.load_model(tmp_path / "decoder.keras")
    np.testing.assert_allclose(np.asarray(reloaded([HIDDEN, source_value])), expected, atol=1e-6)


@pytest.mark.parametrize("name", sorted(CASES))
def test_runs_under_mixed_bfloat16(name):
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    make, inputs, kwargs = CASES[name]
    layer = make()
    output = layer(inputs, **kwargs)
    assert keras.backend.standardize_dtype(output.dtype) == "bfloat16"
    assert all(keras.backend.standardize_dtype(w.dtype) == "float32" for w in layer.weights)
    assert np.isfinite(np.asarray(keras.ops.cast(output, "float32"))).all()
