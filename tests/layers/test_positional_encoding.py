import keras
import numpy as np
import pytest

from zoo.layers import PositionEmbedding, SinusoidalPositionEncoding, TokenAndPositionEmbedding


def paper_encoding(length, d):
    """PE(pos, 2i) = sin(pos / 10000^(2i/d)), PE(pos, 2i+1) = cos(pos / 10000^(2i/d))."""
    encoding = np.zeros((length, d))
    for pos in range(length):
        for i in range(d // 2):
            encoding[pos, 2 * i] = np.sin(pos / 10000 ** (2 * i / d))
            encoding[pos, 2 * i + 1] = np.cos(pos / 10000 ** (2 * i / d))
    return encoding


@pytest.mark.parametrize("length, d", [(7, 8), (50, 16), (3, 2)])
def test_sinusoidal_encoding_is_the_papers_formula(length, d):
    encoding = SinusoidalPositionEncoding()(np.zeros((2, length, d), "float32"))
    np.testing.assert_allclose(np.asarray(encoding)[0], paper_encoding(length, d), atol=2e-5)


def test_encoding_from_start_index_is_a_slice_of_the_full_encoding():
    layer = SinusoidalPositionEncoding()
    full = np.asarray(layer(np.zeros((1, 40, 12), "float32")))[0]
    for start in (0, 1, 17, 39):
        one = np.asarray(layer(np.zeros((1, 1, 12), "float32"), start_index=start))[0]
        np.testing.assert_allclose(one, full[start : start + 1], atol=1e-5)
    tail = np.asarray(layer(np.zeros((1, 5, 12), "float32"), start_index=30))[0]
    np.testing.assert_allclose(tail, full[30:35], atol=1e-5)


def test_sinusoidal_encoding_has_no_weights_and_any_length():
    layer = SinusoidalPositionEncoding()
    assert np.asarray(layer(np.zeros((1, 5000, 4), "float32"))).shape == (1, 5000, 4)
    assert layer.weights == []


def test_learned_position_embedding_start_index_and_bad_length():
    layer = PositionEmbedding(sequence_length=10)
    full = np.asarray(layer(np.zeros((1, 10, 4), "float32")))[0]
    np.testing.assert_allclose(full, np.asarray(layer.position_embeddings))
    part = np.asarray(layer(np.zeros((1, 3, 4), "float32"), start_index=6))[0]
    np.testing.assert_allclose(part, full[6:9])
    with pytest.raises(ValueError, match="sequence_length"):
        PositionEmbedding(sequence_length=0)


def test_token_and_position_embedding_scales_by_sqrt_d_and_masks_id_zero():
    layer = TokenAndPositionEmbedding(vocabulary_size=11, hidden_dim=8)
    ids = np.array([[3, 5, 0]])
    out = np.asarray(layer(ids))
    table = np.asarray(layer.token_embedding.embeddings)
    expected = table[ids] * np.sqrt(8.0) + paper_encoding(3, 8)[None]
    np.testing.assert_allclose(out, expected, atol=1e-5)
    np.testing.assert_array_equal(np.asarray(layer.compute_mask(ids)), [[True, True, False]])

    unscaled = TokenAndPositionEmbedding(11, 8, scale_embeddings=False)
    out = np.asarray(unscaled(ids))
    table = np.asarray(unscaled.token_embedding.embeddings)
    np.testing.assert_allclose(out, table[ids] + paper_encoding(3, 8)[None], atol=1e-5)


def test_token_and_position_embedding_rejects_bad_choices():
    with pytest.raises(ValueError, match="sinusoidal"):
        TokenAndPositionEmbedding(10, 4, position_encoding="rotary")
    with pytest.raises(ValueError, match="sequence_length"):
        TokenAndPositionEmbedding(10, 4, position_encoding="learned")


def test_learned_token_and_position_embedding_cached_step_equals_full():
    layer = TokenAndPositionEmbedding(11, 8, position_encoding="learned", sequence_length=6)
    ids = np.array([[1, 2, 3, 4]])
    full = np.asarray(layer(ids))
    step = np.asarray(layer(ids[:, 2:3], start_index=2))
    np.testing.assert_allclose(step[0, 0], full[0, 2], atol=1e-6)
    assert isinstance(layer.token_embedding, keras.layers.ReversibleEmbedding)


STARTS = np.array([0, 4, 1], "int32")  # one start per row: prompts of different lengths


@pytest.mark.parametrize(
    "make",
    [
        lambda: SinusoidalPositionEncoding(),
        lambda: PositionEmbedding(sequence_length=10),
    ],
    ids=["sinusoidal", "learned"],
)
def test_position_start_per_row_equals_the_scalar_start_row_by_row(make):
    layer = make()
    inputs = np.zeros((3, 2, 6), "float32")
    per_row = np.asarray(layer(inputs, start_index=STARTS))
    assert per_row.shape == (3, 2, 6)
    for row, start in enumerate(STARTS):
        expected = np.asarray(layer(inputs[row : row + 1], start_index=int(start)))[0]
        np.testing.assert_array_equal(per_row[row], expected)


@pytest.mark.parametrize("position_encoding", ["sinusoidal", "learned"])
def test_token_and_position_embedding_start_per_row(position_encoding):
    layer = TokenAndPositionEmbedding(
        11, 8, position_encoding=position_encoding, sequence_length=10
    )
    ids = np.array([[3], [5], [7]], "int32")
    per_row = np.asarray(layer(ids, start_index=STARTS))  # (3, 1, 8)
    tokens = np.asarray(layer.token_embedding.embeddings)[ids[:, 0]] * np.sqrt(8.0)
    if position_encoding == "sinusoidal":
        positions = paper_encoding(10, 8)[STARTS]
    else:
        positions = np.asarray(layer.position_embedding.position_embeddings)[STARTS]
    np.testing.assert_allclose(per_row[:, 0], tokens + positions, atol=1e-5)
    for row, start in enumerate(STARTS):
        expected = np.asarray(layer(ids[row : row + 1], start_index=int(start)))[0]
        np.testing.assert_array_equal(per_row[row], expected)
