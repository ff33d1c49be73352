"""zoo's Muon against Keras's: a kernel of more than two axes is updated exactly as Keras's
Muon updates the matrix it multiplies by; everything else exactly as Keras's Muon."""

import keras
import numpy as np
import pytest

import zoo
from zoo.training.optimizers import Muon, make_optimizer, muon

SETTINGS = dict(learning_rate=0.02, weight_decay=0.1, adam_weight_decay=0.1)


def one_step(optimizer, value, gradient, variable=None):
    variable = keras.Variable(value) if variable is None else variable
    optimizer.apply_gradients([(keras.ops.convert_to_tensor(gradient), variable)])
    return keras.ops.convert_to_numpy(variable)


@pytest.fixture(scope="module")
def variables():
    model = zoo.build("transformer", task="lm", preset="tiny", vocab_size=50)
    return {variable.path: variable for variable in model.trainable_variables}


@pytest.mark.parametrize(
    "path, matrix",
    [
        ("block_0/self_attention/query_key_value/kernel", lambda s: (s[0], -1)),
        ("block_0/self_attention/output/kernel", lambda s: (-1, s[-1])),
        ("block_0/feed_forward/intermediate_dense/kernel", lambda s: s),
    ],
)
def test_kernels_are_updated_as_the_matrix_they_multiply_by(variables, path, matrix):
    variable = variables[path]
    shape = tuple(variable.shape)
    rng = np.random.default_rng(0)
    start = rng.normal(size=shape).astype("float32")
    gradient = rng.normal(size=shape).astype("float32")
    variable.assign(start)
    ours = one_step(Muon(**SETTINGS), start, gradient, variable)
    two_d = matrix(shape)
    reference = one_step(
        keras.optimizers.Muon(**SETTINGS), start.reshape(two_d), gradient.reshape(two_d)
    )
    assert Muon(**SETTINGS)._should_use_adamw(variable) is False
    np.testing.assert_allclose(ours, reference.reshape(shape), rtol=1e-5, atol=1e-6)
    assert not np.allclose(ours, start)


@pytest.mark.parametrize(
    "path",
    [
        "embedding/token_embedding/embeddings",
        "block_0/self_attention/output/bias",
        "block_0/self_attention/query_key_value/bias",  # (3, heads, head_dim): no matrix
    ],
)
def test_embeddings_and_vectors_take_the_adamw_path(variables, path):
    variable = variables[path]
    assert Muon(**SETTINGS)._should_use_adamw(variable) is True
    rng = np.random.default_rng(1)
    start = rng.normal(size=variable.shape).astype("float32")
    gradient = rng.normal(size=variable.shape).astype("float32")
    variable.assign(start)
    ours = one_step(Muon(**SETTINGS), start, gradient, variable)
    variable.assign(start)
    reference = one_step(keras.optimizers.Muon(**SETTINGS), start, gradient, variable)
    np.testing.assert_allclose(ours, reference, rtol=1e-6)


def test_the_helper_excludes_the_output_layer_and_keeps_the_schedule():
    optimizer = muon(1e-3, warmup_steps=10, decay="cosine", decay_steps=110, min_learning_rate=1e-4)
    np.testing.assert_allclose(
        [float(optimizer._learning_rate(step)) for step in (0, 5, 10, 110)],
        [0.0, 5e-4, 1e-3, 1e-4],
        atol=1e-9,
    )
    model = zoo.build("lstm", task="lm", preset="tiny", vocab_size=50, share_embeddings=False)
    adamw_path = {v.path for v in model.trainable_variables if optimizer._should_use_adamw(v)}
    assert "logits/kernel" in adamw_path
    assert not any("lstm_cell/kernel" in path for path in adamw_path)
    restored = keras.optimizers.deserialize(keras.optimizers.serialize(optimizer))
    assert type(restored) is Muon and restored.exclude_layers == ["logits", "classifier"]


def test_unknown_optimizer_names_the_choices():
    with pytest.raises(ValueError, match="adamw, muon"):
        make_optimizer("sgd", 1e-3)


def test_a_model_trains_with_it():
    model = zoo.build("transformer", task="lm", preset="tiny", vocab_size=20)
    model.compile(optimizer=muon(1e-2, decay="constant"), loss="sparse_categorical_crossentropy")
    x = np.tile(np.arange(1, 9), (16, 1))
    history = model.fit(x, np.roll(x, -1, axis=1), epochs=8, verbose=0)
    assert history.history["loss"][-1] < 0.7 * history.history["loss"][0]


def test_the_tasks_compile_with_it_by_name():
    from zoo.tasks.classify import CLASSIFY
    from zoo.tasks.generate import GENERATE

    lm = zoo.build("transformer", task="lm", preset="tiny", vocab_size=20)
    assert isinstance(GENERATE.compile(lm, optimizer="muon").optimizer, Muon)
    classifier = zoo.build("lstm", task="classify", preset="tiny", vocab_size=20)
    assert isinstance(CLASSIFY.compile(classifier, optimizer="muon").optimizer, Muon)
    assert not isinstance(CLASSIFY.compile(classifier).optimizer, Muon)


def test_bfloat16_iterations_orthogonalise_as_float32_does_and_the_policy_picks_them():
    rng = np.random.default_rng(2)
    gradient = rng.normal(size=(64, 96)).astype("float32")
    iterate = Muon().zeropower_via_newtonschulz5
    exact = keras.ops.convert_to_numpy(iterate(keras.ops.convert_to_tensor(gradient), 5))
    rounded = keras.ops.convert_to_numpy(
        keras.ops.cast(iterate(keras.ops.cast(gradient, "bfloat16"), 5), "float32")
    )
    # Five quintic iterations leave the singular values in about [0.68, 1.13] (not exactly
    # 1); bfloat16's rounding keeps them in that band and moves the result by ~5 %.
    for result in (exact, rounded):
        singular = np.linalg.svd(result, compute_uv=False)
        assert 0.6 < singular.min() and singular.max() < 1.25, singular
    assert 0 < np.linalg.norm(rounded - exact) / np.linalg.norm(exact) < 0.1
    start = rng.normal(size=(64, 96)).astype("float32")
    step = one_step(Muon(ns_dtype="bfloat16", **SETTINGS), start, gradient)
    assert step.dtype == np.float32 and not np.allclose(step, start)
    assert muon(1e-3, decay="constant").ns_dtype is None
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy("mixed_bfloat16")
    try:
        optimizer = muon(1e-3, decay="constant")
    finally:
        keras.config.set_dtype_policy(previous)
    assert optimizer.ns_dtype == "bfloat16"
    restored = keras.optimizers.deserialize(keras.optimizers.serialize(optimizer))
    assert restored.ns_dtype == "bfloat16"
