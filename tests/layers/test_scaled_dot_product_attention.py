import numpy as np

from zoo.layers import scaled_dot_product_attention

# The worked example: four keys that are scaled one-hot vectors, values that are easy to read.
KEYS = np.eye(4, dtype="float32") * 10.0
VALUES = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0], [7.0, 8.0]], dtype="float32")


def test_query_matching_the_second_key_returns_the_second_value():
    query = KEYS[1:2]  # matches exactly the second key
    output, weights = scaled_dot_product_attention(query, KEYS, VALUES)
    # scores = [0, 100, 0, 0] / sqrt(4) = [0, 50, 0, 0]: softmax puts e^-50 on the others.
    np.testing.assert_allclose(np.asarray(weights), [[0.0, 1.0, 0.0, 0.0]], atol=1e-6)
    np.testing.assert_allclose(np.asarray(output), [[3.0, 4.0]], atol=1e-5)


def test_queries_matching_two_keys_equally_average_their_values():
    queries = np.array([[10.0, 0.0, 10.0, 0.0], [0.0, 10.0, 0.0, 10.0]], dtype="float32")
    output, weights = scaled_dot_product_attention(queries, KEYS, VALUES)
    np.testing.assert_allclose(
        np.asarray(weights), [[0.5, 0.0, 0.5, 0.0], [0.0, 0.5, 0.0, 0.5]], atol=1e-6
    )
    np.testing.assert_allclose(np.asarray(output), [[3.0, 4.0], [5.0, 6.0]], atol=1e-5)


def test_weights_are_the_softmax_of_scaled_scores(rng):
    query, key, value = (rng.normal(size=(2, 3, 5, 4)).astype("float32") for _ in range(3))
    output, weights = scaled_dot_product_attention(query, key, value)
    scores = query @ key.swapaxes(-1, -2) / np.sqrt(4.0)
    expected = np.exp(scores - scores.max(-1, keepdims=True))
    expected /= expected.sum(-1, keepdims=True)
    np.testing.assert_allclose(np.asarray(weights), expected, atol=1e-6)
    np.testing.assert_allclose(np.asarray(output), expected @ value, atol=1e-5)


def test_masked_keys_get_zero_weight():
    query = np.ones((1, 4), dtype="float32")
    mask = np.array([[True, False, True, False]])
    output, weights = scaled_dot_product_attention(query, KEYS, VALUES, attention_mask=mask)
    np.testing.assert_allclose(np.asarray(weights), [[0.5, 0.0, 0.5, 0.0]], atol=1e-6)
    np.testing.assert_allclose(np.asarray(output), [[3.0, 4.0]], atol=1e-5)
