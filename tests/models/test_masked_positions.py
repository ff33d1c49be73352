"""The `mlm` models' masked-only path against their full pass: the same logits at the masked
positions, for every family; the full pass and the saved model unchanged by it."""

import keras
import numpy as np
import pytest

import zoo
from zoo.models.masked_positions import gather_positions

MLM_MODELS = [
    ("transformer", {}),  # post-norm, untied: the encoder ends un-normalised
    ("transformer", dict(norm_first=True, share_embeddings=True)),  # final norm, tied
    ("transformer", dict(position_encoding="learned")),
    ("lstm", {}),
    ("lstm", dict(share_embeddings=True)),  # to_embedding, then the tied projection
    ("simple_rnn", {}),
    ("gru", {}),
]


def batch(rng, vocab_size=64):
    """Ids `(3, 12)` with padding in two rows, positions `(3, 4)` with repeats and a padding
    slot (position 0) as ragged masks give."""
    token_ids = rng.integers(5, vocab_size, size=(3, 12)).astype("int32")
    token_ids[:, 0] = 2
    token_ids[1, 8:] = 0
    token_ids[2, 5:] = 0
    positions = np.array([[1, 3, 11, 6], [2, 7, 5, 0], [4, 1, 4, 0]], "int32")
    return token_ids, positions


@pytest.mark.parametrize("name, overrides", MLM_MODELS)
def test_masked_logits_equal_the_full_pass_at_the_positions(name, overrides, rng):
    model = zoo.build(name, task="mlm", preset="tiny", vocab_size=64, **overrides)
    token_ids, positions = batch(rng)
    full = np.asarray(model(token_ids, training=False))  # (3, 12, 64)
    masked = model({"token_ids": token_ids, "mask_positions": positions}, training=False)
    assert (
        tuple(masked.shape) == (3, 4, 64)
        and keras.backend.standardize_dtype(masked.dtype) == "float32"
    )
    rows = np.arange(3)[:, None]
    np.testing.assert_allclose(np.asarray(masked), full[rows, positions], atol=1e-5, rtol=1e-5)
    # The graph is still the full-sequence one: one input, logits at every position.
    assert [tuple(x.shape) for x in model.inputs] == [(None, None)]
    assert tuple(model.outputs[0].shape) == (None, None, 64)


@pytest.mark.parametrize("name, overrides", MLM_MODELS[:2] + MLM_MODELS[3:5])
def test_a_saved_model_reloads_and_answers_both_ways(name, overrides, tmp_path, rng):
    model = zoo.build(name, task="mlm", preset="tiny", vocab_size=64, **overrides)
    token_ids, positions = batch(rng)
    inputs = {"token_ids": token_ids, "mask_positions": positions}
    model.save(tmp_path / "model.keras")
    loaded = keras.saving.load_model(tmp_path / "model.keras")
    np.testing.assert_array_equal(np.asarray(loaded(token_ids)), np.asarray(model(token_ids)))
    np.testing.assert_array_equal(np.asarray(loaded(inputs)), np.asarray(model(inputs)))
    assert len(loaded.weights) == len(model.weights)  # the masked path adds no weight


def test_gather_positions_picks_each_rows_own_columns():
    hidden = np.arange(2 * 4 * 3, dtype="float32").reshape(2, 4, 3)
    gathered = np.asarray(gather_positions(hidden, np.array([[3, 0], [1, 1]])))
    np.testing.assert_array_equal(gathered, [[hidden[0, 3], hidden[0, 0]], [hidden[1, 1]] * 2])


def test_masked_inputs_are_checked_and_only_for_mlm(rng):
    model = zoo.build("transformer", task="mlm", preset="tiny", vocab_size=64)
    token_ids, positions = batch(rng)
    with pytest.raises(ValueError, match="exactly the keys 'token_ids'"):
        model({"token_ids": token_ids, "mask_positions": positions, "labels": positions})
    spec = model.compute_output_spec(
        {
            "token_ids": keras.KerasTensor((None, 12), "int32"),
            "mask_positions": keras.KerasTensor((None, 4), "int32"),
        }
    )
    assert tuple(spec.shape) == (None, 4, 64) and spec.dtype == "float32"
    classifier = zoo.build("transformer", task="classify", preset="tiny", vocab_size=64)
    assert tuple(classifier(token_ids).shape) == (3, classifier.config.num_classes)
