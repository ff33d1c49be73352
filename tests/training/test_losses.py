import math

import keras
import numpy as np
import pytest

from zoo.training import MaskedSparseCategoricalCrossentropy

LN2 = math.log(2.0)
# Two real tokens (targets 1 and 2) and one padding position (target 0) whose
# logits are arbitrary. softmax([0, ln2, 0]) = [1/4, 1/2, 1/4].
Y_TRUE = np.array([[1, 2, 0]])
LOGITS = np.array([[[0.0, LN2, 0.0], [0.0, LN2, 0.0], [5.0, -3.0, 1.0]]], dtype="float32")
# Per real token, -log p[target] is ln2 and ln4; the smoothing term
# -mean_v log p[v] = (ln4 + ln2 + ln4) / 3 = 5 ln2 / 3 for both.
# label_smoothing=0.1: 0.9 ln2 + 0.1 * 5 ln2 / 3 = 1.0666667 ln2 and
# 0.9 * 2 ln2 + 0.1 * 5 ln2 / 3 = 1.9666667 ln2; their mean is 1.5166667 ln2.
SMOOTHED = 1.5166667 * LN2  # 1.0512768
# label_smoothing=0: (ln2 + ln4) / 2 = 1.5 ln2.
UNSMOOTHED = 1.5 * LN2  # 1.0397208


def test_hand_computed_values_with_padding():
    np.testing.assert_allclose(
        float(MaskedSparseCategoricalCrossentropy()(Y_TRUE, LOGITS)), SMOOTHED, rtol=1e-6
    )
    np.testing.assert_allclose(
        float(MaskedSparseCategoricalCrossentropy(label_smoothing=0.0)(Y_TRUE, LOGITS)),
        UNSMOOTHED,
        rtol=1e-6,
    )


def test_padding_changes_nothing():
    loss = MaskedSparseCategoricalCrossentropy()
    reference = float(loss(Y_TRUE, LOGITS))
    # Any logits at the padding position, even infinite ones.
    for pad_logits in ([100.0, -100.0, 0.0], [-np.inf, 0.0, np.inf], [0.0, 0.0, 0.0]):
        logits = LOGITS.copy()
        logits[0, 2] = pad_logits
        np.testing.assert_allclose(float(loss(Y_TRUE, logits)), reference, rtol=1e-6)
    # More padding: a longer sequence and an all-padding row in the batch.
    y_true = np.array([[1, 2, 0, 0, 0], [0, 0, 0, 0, 0]])
    logits = np.random.default_rng(0).normal(size=(2, 5, 3)).astype("float32")
    logits[0, :2] = LOGITS[0, :2]
    np.testing.assert_allclose(float(loss(y_true, logits)), reference, rtol=1e-6)


def test_all_padding_is_zero():
    loss = MaskedSparseCategoricalCrossentropy()
    assert float(loss(np.zeros((2, 3), "int32"), LOGITS.repeat(2, axis=0))) == 0.0


def test_pad_id_outside_vocabulary():
    loss = MaskedSparseCategoricalCrossentropy(pad_id=-100)
    np.testing.assert_allclose(float(loss(np.array([[1, 2, -100]]), LOGITS)), SMOOTHED, rtol=1e-6)


def test_equals_keras_losses_on_the_real_tokens():
    rng = np.random.default_rng(1)
    y_true = rng.integers(1, 7, size=(3, 5))
    y_true[0, 3:] = 0
    y_true[2, 1:] = 0
    logits = rng.normal(scale=3.0, size=(3, 5, 7)).astype("float32")
    real = y_true != 0
    # Without smoothing: Keras's sparse cross-entropy over the 8 real tokens.
    expected = keras.losses.SparseCategoricalCrossentropy(from_logits=True)(
        y_true[real], logits[real]
    )
    actual = MaskedSparseCategoricalCrossentropy(label_smoothing=0.0)(y_true, logits)
    np.testing.assert_allclose(float(actual), float(expected), rtol=1e-6)
    # With smoothing: Keras's categorical cross-entropy, whose smoothing is the same.
    expected = keras.losses.CategoricalCrossentropy(from_logits=True, label_smoothing=0.1)(
        np.eye(7)[y_true[real]], logits[real]
    )
    actual = MaskedSparseCategoricalCrossentropy(label_smoothing=0.1)(y_true, logits)
    np.testing.assert_allclose(float(actual), float(expected), rtol=1e-6)
    # From probabilities instead of logits.
    probabilities = keras.ops.softmax(logits, axis=-1)
    actual = MaskedSparseCategoricalCrossentropy(from_logits=False)(y_true, probabilities)
    np.testing.assert_allclose(float(actual), float(expected), rtol=1e-5)


def _gradient(loss_of_logits, logits):
    """d loss / d logits on the backend under test."""
    backend = keras.config.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        variable = tf.constant(logits)
        with tf.GradientTape() as tape:
            tape.watch(variable)
            value = loss_of_logits(variable)
        return np.asarray(tape.gradient(value, variable))
    if backend == "jax":
        import jax

        return np.asarray(jax.grad(lambda x: loss_of_logits(x))(logits))
    pytest.skip(f"no gradient helper for {backend}")


@pytest.mark.parametrize("label_smoothing", [0.0, 0.1, 0.3])
def test_gradient_equals_keras_losses_on_the_real_tokens(label_smoothing):
    # The loss writes its gradient out (softmax - smoothed one-hot); Keras's loss is
    # differentiated by autodiff. Padding gets no gradient.
    rng = np.random.default_rng(2)
    y_true = rng.integers(1, 9, size=(2, 4))
    y_true[1, 2:] = 0
    logits = rng.normal(scale=3.0, size=(2, 4, 9)).astype("float32")
    real = y_true != 0
    keras_loss = keras.losses.CategoricalCrossentropy(
        from_logits=True, label_smoothing=label_smoothing
    )
    expected = _gradient(
        lambda z: keras_loss(np.eye(9, dtype="float32")[y_true[real]], z[real]), logits
    )
    zoo_loss = MaskedSparseCategoricalCrossentropy(label_smoothing=label_smoothing)
    actual = _gradient(lambda z: zoo_loss(y_true, z), logits)
    np.testing.assert_allclose(actual, expected, atol=1e-6)
    assert np.all(actual[~real] == 0.0)
    # By hand at one real position: softmax minus the smoothed target, over the 6 real tokens.
    probabilities = np.exp(logits[0, 0]) / np.exp(logits[0, 0]).sum()
    target = np.full(9, label_smoothing / 9)
    target[y_true[0, 0]] += 1.0 - label_smoothing
    np.testing.assert_allclose(actual[0, 0], (probabilities - target) / 6, atol=1e-6)


def test_sample_weight_per_sequence_and_per_token():
    loss = MaskedSparseCategoricalCrossentropy()
    y_true = np.concatenate([Y_TRUE, np.array([[2, 0, 0]])])  # second row: one token, ln4-ish
    logits = np.concatenate([LOGITS, LOGITS])
    per_token = np.array([1.0666667, 1.9666667, 1.9666667]) * LN2  # the three real tokens
    # Weights (1, 3) per sequence: (1 * t0 + 1 * t1 + 3 * t2) / (1 + 1 + 3).
    expected = (per_token[0] + per_token[1] + 3 * per_token[2]) / 5
    actual = loss(y_true, logits, sample_weight=np.array([1.0, 3.0]))
    np.testing.assert_allclose(float(actual), expected, rtol=1e-6)
    # Per-token weights: the weight on padding does not matter.
    token_weights = np.array([[0.0, 2.0, 9.0], [1.0, 9.0, 9.0]])
    expected = (2 * per_token[1] + per_token[2]) / 3
    actual = loss(y_true, logits, sample_weight=token_weights)
    np.testing.assert_allclose(float(actual), expected, rtol=1e-6)


def test_bfloat16_logits_are_computed_in_float32():
    rng = np.random.default_rng(2)
    y_true = rng.integers(1, 50, size=(2, 8))
    y_true[1, 5:] = 0
    logits = keras.ops.cast(rng.normal(scale=20.0, size=(2, 8, 50)), "bfloat16")
    loss = MaskedSparseCategoricalCrossentropy()
    # The same bfloat16 values, given as float32: the result must be the same
    # to float32 precision (bfloat16 arithmetic would be off by ~1e-2).
    expected = loss(y_true, keras.ops.cast(logits, "float32"))
    actual = loss(y_true, logits)
    assert keras.backend.standardize_dtype(actual.dtype) == "float32"
    np.testing.assert_allclose(float(actual), float(expected), rtol=1e-6)


def test_in_a_compiled_model_with_a_keras_mask():
    # Embedding rows are the logits: id 1 -> [0, ln2, 0], id 0 -> padding logits.
    # mask_zero=True gives the output a Keras mask, which must not count twice.
    embedding = keras.layers.Embedding(3, 3, mask_zero=True)
    model = keras.Sequential([keras.Input((3,), dtype="int32"), embedding])
    embedding.set_weights([np.array([[5.0, -3.0, 1.0], [0.0, LN2, 0.0], [0.0, 0.0, 0.0]])])
    model.compile(loss=MaskedSparseCategoricalCrossentropy())
    inputs = np.array([[1, 1, 0], [1, 0, 0]])
    targets = np.array([[1, 2, 0], [2, 0, 0]])
    result = model.evaluate(inputs, targets, batch_size=2, verbose=0, return_dict=True)
    expected = np.mean([1.0666667, 1.9666667, 1.9666667]) * LN2
    np.testing.assert_allclose(result["loss"], expected, rtol=1e-5)


def test_get_config_round_trip():
    loss = MaskedSparseCategoricalCrossentropy(label_smoothing=0.2, pad_id=3, from_logits=False)
    config = loss.get_config()
    assert config == {
        "name": "masked_sparse_categorical_crossentropy",
        "label_smoothing": 0.2,
        "pad_id": 3,
        "from_logits": False,
    }
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(loss))
    assert isinstance(restored, MaskedSparseCategoricalCrossentropy)
    assert restored.get_config() == config


@pytest.mark.parametrize("label_smoothing", [-0.1, 1.0])
def test_invalid_label_smoothing_says_how_to_fix(label_smoothing):
    with pytest.raises(ValueError, match=r"label_smoothing.*\[0, 1\)"):
        MaskedSparseCategoricalCrossentropy(label_smoothing=label_smoothing)


def test_translation_scores_match_sacrebleu_by_hand():
    from zoo.training import translation_scores

    perfect = translation_scores(["la balle est rouge"], ["la balle est rouge"])
    assert perfect["bleu"] == 100.0 and perfect["chrf"] == 100.0
    # n-gram precisions 3/4, 2/3, 1/2 and 0/1, which sacreBLEU's default 'exp' smoothing
    # turns into 1/2: BLEU = (3/4 * 2/3 * 1/2 * 1/2) ** (1/4) = 59.46, brevity penalty 1.
    partial = translation_scores(["la balle est verte"], ["la balle est rouge"])
    assert partial["bleu"] == pytest.approx(100 * (0.75 * 2 / 3 * 0.5 * 0.5) ** 0.25, abs=0.01)
    case = translation_scores(["La balle est rouge"], ["la balle est rouge"])
    assert case["bleu"] < 100.0
    assert (
        translation_scores(["La balle est rouge"], ["la balle est rouge"], lowercase=True)["bleu"]
        == 100.0
    )


def test_a_compiled_zoo_checkpoint_loads_after_import_zoo(tmp_path):
    import zoo
    from zoo.training import compile_seq2seq

    model = zoo.build("transformer", preset="tiny")
    compile_seq2seq(model, warmup_steps=10)
    model.save(tmp_path / "compiled.keras")
    reloaded = keras.saving.load_model(tmp_path / "compiled.keras")
    assert type(reloaded.optimizer._learning_rate).__name__ == "TransformerSchedule"
    assert type(reloaded.loss).__name__ == "MaskedSparseCategoricalCrossentropy"
