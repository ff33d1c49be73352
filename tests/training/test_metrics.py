import keras
import numpy as np

from zoo.training import MaskedTokenAccuracy


def one_hot_logits(predicted_ids, vocabulary_size=4):
    """Logits whose argmax is `predicted_ids`."""
    return np.eye(vocabulary_size, dtype="float32")[np.array(predicted_ids)] * 3.0 - 1.0


# Row 0: targets 1, 2 and padding; predictions 1, 1 (1 of 2 right), padding predicted 0.
# Row 1: targets 2, 2, 1; predictions 2, 0, 1 (2 of 3 right).
Y_TRUE = np.array([[1, 2, 0], [2, 2, 1]])
Y_PRED = one_hot_logits([[1, 1, 0], [2, 0, 1]])


def test_hand_computed_accuracy_over_batches():
    metric = MaskedTokenAccuracy()
    metric.update_state(Y_TRUE, Y_PRED)
    assert float(metric.correct.numpy()) == 3.0 and float(metric.total.numpy()) == 5.0
    np.testing.assert_allclose(float(metric.result()), 3 / 5)
    # A second batch accumulates: 1 more right out of 1 real token -> 4 / 6.
    metric.update_state(np.array([[3, 0, 0]]), one_hot_logits([[3, 3, 3]]))
    np.testing.assert_allclose(float(metric.result()), 4 / 6, rtol=1e-6)
    metric.reset_state()
    assert float(metric.result()) == 0.0  # nothing seen yet: 0, not NaN


def test_padding_never_counts():
    # Predicting padding right or wrong changes nothing.
    for padding_prediction in (0, 3):
        metric = MaskedTokenAccuracy()
        metric.update_state(Y_TRUE, one_hot_logits([[1, 1, padding_prediction], [2, 0, 1]]))
        np.testing.assert_allclose(float(metric.result()), 3 / 5)
    # With pad_id=None, every position counts: 4 right out of 6.
    metric = MaskedTokenAccuracy(pad_id=None)
    metric.update_state(Y_TRUE, Y_PRED)
    np.testing.assert_allclose(float(metric.result()), 4 / 6, rtol=1e-6)


def test_sample_weight():
    metric = MaskedTokenAccuracy()
    # Row weights (1, 2): right = 1 * 1 + 2 * 2 = 5, total = 1 * 2 + 2 * 3 = 8.
    metric.update_state(Y_TRUE, Y_PRED, sample_weight=np.array([1.0, 2.0]))
    np.testing.assert_allclose(float(metric.result()), 5 / 8)


def test_in_a_compiled_model():
    model = keras.Sequential([keras.Input((3, 4)), keras.layers.Identity()])
    model.compile(loss="sparse_categorical_crossentropy", metrics=[MaskedTokenAccuracy()])
    # Two batches of one row each: the metric is 3 / 5 overall, not the mean of 1/2 and 2/3.
    result = model.evaluate(Y_PRED, Y_TRUE, batch_size=1, verbose=0, return_dict=True)
    np.testing.assert_allclose(result["masked_token_accuracy"], 3 / 5, rtol=1e-6)


def test_get_config_round_trip():
    metric = MaskedTokenAccuracy(pad_id=5, name="accuracy")
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(metric))
    assert isinstance(restored, MaskedTokenAccuracy)
    assert restored.pad_id == 5 and restored.name == "accuracy"
