"""zoo's LayerNormalization against Keras's: the same outputs, gradients and weights."""

import keras
import numpy as np
import pytest

from zoo.layers import LayerNormalization


def pair(rng, width, **kwargs):
    """zoo's layer and Keras's, built with the same random gamma and beta."""
    ours = LayerNormalization(epsilon=1e-5, **kwargs)
    theirs = keras.layers.LayerNormalization(epsilon=1e-5, **kwargs)
    for layer in (ours, theirs):
        layer.build((None, width))
    weights = [rng.normal(size=width).astype("float32") for _ in range(2)]
    ours.set_weights(weights)
    theirs.set_weights(weights)
    return ours, theirs


def gradients(layer, x, upstream):
    """d sum(layer(x) * upstream) / d (x, gamma, beta) on the backend under test."""
    backend = keras.config.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        x = tf.constant(x)
        with tf.GradientTape() as tape:
            tape.watch(x)
            value = tf.reduce_sum(tf.cast(layer(x), tf.float32) * upstream)
        return [np.asarray(g) for g in tape.gradient(value, [x, *layer.trainable_variables])]
    if backend == "jax":
        import jax

        def value(x, gamma, beta):
            outputs, _ = layer.stateless_call([gamma, beta], [], x)
            return (outputs.astype("float32") * upstream).sum()

        weights = [v.value for v in layer.trainable_variables]
        return [np.asarray(g) for g in jax.grad(value, argnums=(0, 1, 2))(x, *weights)]
    pytest.skip(f"no gradient helper for {backend}")


@pytest.mark.parametrize("shape", [(4, 16), (2, 5, 16)])
def test_outputs_and_gradients_equal_keras(rng, shape):
    ours, theirs = pair(rng, shape[-1])
    x = (rng.normal(size=shape) * 3 + 1).astype("float32")
    np.testing.assert_allclose(np.asarray(ours(x)), np.asarray(theirs(x)), atol=1e-5)
    upstream = rng.normal(size=shape).astype("float32")
    for mine, reference in zip(gradients(ours, x, upstream), gradients(theirs, x, upstream)):
        np.testing.assert_allclose(mine, reference, rtol=1e-4, atol=1e-4)


def test_normalises_by_hand():
    # [1, 2, 3]: mean 2, variance 2/3 -> (x - 2) / sqrt(2/3) = [-1.2247, 0, 1.2247].
    layer = LayerNormalization(epsilon=0.0)
    np.testing.assert_allclose(
        np.asarray(layer(np.array([[1.0, 2.0, 3.0]], "float32")))[0],
        [-1.2247449, 0.0, 1.2247449],
        rtol=1e-5,
    )


def test_mixed_bfloat16_computes_in_float32(rng):
    ours = LayerNormalization(epsilon=1e-5, dtype="mixed_bfloat16")
    theirs = keras.layers.LayerNormalization(epsilon=1e-5, dtype="mixed_bfloat16")
    x = (rng.normal(size=(3, 32)) * 5).astype("float32")
    outputs = ours(keras.ops.cast(x, "bfloat16"))
    assert keras.backend.standardize_dtype(outputs.dtype) == "bfloat16"
    assert [v.dtype for v in ours.weights] == ["float32", "float32"]
    expected = np.asarray(keras.ops.cast(theirs(keras.ops.cast(x, "bfloat16")), "float32"))
    np.testing.assert_allclose(np.asarray(keras.ops.cast(outputs, "float32")), expected, atol=0.02)


def test_weights_are_kerass_and_load_either_way(rng, tmp_path):
    ours, theirs = pair(rng, 8)
    assert [v.path.split("/")[-1] for v in ours.weights] == ["gamma", "beta"]
    assert [v.path.split("/")[-1] for v in theirs.weights] == ["gamma", "beta"]
    x = rng.normal(size=(2, 8)).astype("float32")
    inputs = keras.Input((8,))
    model = keras.Model(inputs, LayerNormalization(epsilon=1e-5, name="norm")(inputs))
    model.get_layer("norm").set_weights(theirs.get_weights())
    model.save(tmp_path / "model.keras")
    loaded = keras.saving.load_model(tmp_path / "model.keras")
    assert isinstance(loaded.get_layer("norm"), LayerNormalization)
    np.testing.assert_allclose(np.asarray(loaded(x)), np.asarray(theirs(x)), atol=1e-5)


def test_other_settings_use_kerass_computation(rng):
    x = rng.normal(size=(2, 3, 4)).astype("float32")
    for kwargs in (dict(axis=1), dict(center=False), dict(axis=[1, 2])):
        ours = LayerNormalization(epsilon=1e-5, **kwargs)
        theirs = keras.layers.LayerNormalization(epsilon=1e-5, **kwargs)
        np.testing.assert_allclose(np.asarray(ours(x)), np.asarray(theirs(x)), atol=1e-6)
