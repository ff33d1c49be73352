import keras
import numpy as np
import pytest

from tests.layers.reference_weights import copy_mha_from_keras
from zoo.layers import MultiHeadAttention, causal_mask

BATCH, TARGET, SOURCE, WIDTH, HEADS = 2, 5, 7, 12, 3


def padding(lengths, total):
    return np.arange(total)[None, :] < np.array(lengths)[:, None]


def reference_pair(cross, rng):
    query = rng.normal(size=(BATCH, TARGET, WIDTH)).astype("float32")
    value = rng.normal(size=(BATCH, SOURCE, WIDTH)).astype("float32") if cross else query
    reference = keras.layers.MultiHeadAttention(HEADS, key_dim=WIDTH // HEADS)
    reference(query, value)
    ours = MultiHeadAttention(HEADS, cross_attention=cross)
    ours.build(query.shape, value.shape if cross else None)
    copy_mha_from_keras(reference, ours)
    return reference, ours, query, value


@pytest.mark.parametrize("causal", [False, True])
def test_self_attention_equals_keras_multi_head_attention(rng, causal):
    reference, ours, query, _ = reference_pair(False, rng)
    key_padding = padding([5, 3], TARGET)
    mask = key_padding[:, None, :].repeat(TARGET, 1)
    if causal:
        mask = mask & np.asarray(causal_mask(TARGET))
    expected, expected_scores = reference(
        query, query, attention_mask=mask, return_attention_scores=True
    )
    output, scores = ours(
        query, key_padding_mask=key_padding, use_causal_mask=causal, return_attention_scores=True
    )
    np.testing.assert_allclose(np.asarray(output), np.asarray(expected), atol=1e-5)
    np.testing.assert_allclose(np.asarray(scores), np.asarray(expected_scores), atol=1e-6)
    # The fused-kernel path (no scores asked) gives the same output.
    fast = ours(query, key_padding_mask=key_padding, use_causal_mask=causal)
    np.testing.assert_allclose(np.asarray(fast), np.asarray(expected), atol=1e-5)


def test_keras_causal_mask_agrees_with_ours(rng):
    reference, ours, query, _ = reference_pair(False, rng)
    expected = reference(query, query, use_causal_mask=True)
    np.testing.assert_allclose(
        np.asarray(ours(query, use_causal_mask=True)), np.asarray(expected), atol=1e-5
    )


def test_cross_attention_equals_keras_and_uses_the_encoder_padding_mask(rng):
    reference, ours, query, value = reference_pair(True, rng)
    encoder_padding = padding([7, 4], SOURCE)
    expected = reference(query, value, attention_mask=encoder_padding[:, None, :].repeat(TARGET, 1))
    output = ours(query, value, key_padding_mask=encoder_padding)
    np.testing.assert_allclose(np.asarray(output), np.asarray(expected), atol=1e-5)
    # Padded encoder positions cannot change the output.
    changed = value.copy()
    changed[1, 4:] = rng.normal(size=changed[1, 4:].shape)
    again = ours(query, changed, key_padding_mask=encoder_padding)
    np.testing.assert_allclose(np.asarray(again), np.asarray(output), atol=1e-6)
    # Precomputed encoder keys/values (the decoding cache) give the same output.
    cache = ours.compute_key_value_cache(value)
    cached = ours(query, key_padding_mask=encoder_padding, cache=cache)
    np.testing.assert_allclose(np.asarray(cached[0]), np.asarray(output), atol=1e-5)


def test_cross_attention_shares_one_key_row_among_consecutive_query_rows(rng):
    # Beam search: 3 beams per sentence attend to one copy of the sentence's encoder output,
    # as if it were repeated for each beam.
    reference, ours, query, value = reference_pair(True, rng)
    beams = np.repeat(rng.normal(size=(BATCH, 1, WIDTH)), 3, axis=0).astype("float32")
    beams += 0.1 * rng.normal(size=beams.shape).astype("float32")  # (6, 1, d)
    encoder_padding = padding([7, 4], SOURCE)
    tiled = ours(
        beams, np.repeat(value, 3, axis=0), key_padding_mask=np.repeat(encoder_padding, 3, 0)
    )
    shared = ours(beams, value, key_padding_mask=encoder_padding)
    np.testing.assert_allclose(np.asarray(shared), np.asarray(tiled), atol=1e-5)
    cached = ours(
        beams, key_padding_mask=encoder_padding, cache=ours.compute_key_value_cache(value)
    )
    np.testing.assert_allclose(np.asarray(cached[0]), np.asarray(tiled), atol=1e-5)
    # Each beam row attends to its own sentence: the rows of the two sentences differ.
    assert np.abs(np.asarray(shared)[0] - np.asarray(shared)[3]).max() > 1e-3


def test_causal_self_attention_never_sees_the_future(rng):
    ours = MultiHeadAttention(HEADS)
    query = rng.normal(size=(1, 6, WIDTH)).astype("float32")
    before = np.asarray(ours(query, use_causal_mask=True))
    changed = query.copy()
    changed[:, 4:] += 5.0
    after = np.asarray(ours(changed, use_causal_mask=True))
    np.testing.assert_allclose(after[:, :4], before[:, :4], atol=1e-6)
    assert np.abs(after[:, 4:] - before[:, 4:]).max() > 1e-3


def test_cached_self_attention_one_step_at_a_time_equals_full_pass(rng):
    ours = MultiHeadAttention(HEADS)
    sequence = rng.normal(size=(BATCH, 6, WIDTH)).astype("float32")
    full = np.asarray(ours(sequence, use_causal_mask=True))
    cache = np.zeros((BATCH, 2, 8, HEADS, WIDTH // HEADS), "float32")
    for index in range(6):
        step, cache = ours(
            sequence[:, index : index + 1],
            use_causal_mask=True,
            cache=cache,
            cache_update_index=index,
        )
        np.testing.assert_allclose(np.asarray(step)[:, 0], full[:, index], atol=1e-5)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(num_heads=5, hidden_dim=12), "must divide hidden_dim .12.: .* num_heads=4"),
        (dict(num_heads=0), "positive"),
    ],
)
def test_bad_arguments_say_what_to_do(kwargs, message):
    with pytest.raises(ValueError, match=message):
        MultiHeadAttention(**kwargs)


def test_width_not_divisible_at_build_and_wrong_call_arguments(rng):
    with pytest.raises(ValueError, match="num_heads=4"):
        MultiHeadAttention(5)(np.zeros((1, 2, 12), "float32"))
    self_attention = MultiHeadAttention(2)
    with pytest.raises(ValueError, match="cross_attention=True"):
        self_attention(np.zeros((1, 2, 4), "float32"), np.zeros((1, 3, 4), "float32"))
    cross = MultiHeadAttention(2, cross_attention=True)
    with pytest.raises(ValueError, match="key_value"):
        cross(np.zeros((1, 2, 4), "float32"))


def test_causal_mask_with_a_start_per_row_stacks_the_scalar_masks():
    starts = np.array([0, 3, 1], "int32")
    per_row = np.asarray(causal_mask(2, 6, start_index=starts))
    assert per_row.shape == (3, 2, 6)
    for row, start in enumerate(starts):
        np.testing.assert_array_equal(per_row[row], np.asarray(causal_mask(2, 6, int(start)))[0])
    # Written out: row 1's queries are positions 3 and 4.
    np.testing.assert_array_equal(per_row[1], [[1, 1, 1, 1, 0, 0], [1, 1, 1, 1, 1, 0]])


@pytest.mark.parametrize("stacked", [False, True])
@pytest.mark.parametrize("steps", [1, 2])
def test_cache_update_index_per_row_equals_the_scalar_path_row_by_row(rng, stacked, steps):
    # Rows at different positions (lm prompts of different lengths): each row writes its
    # keys/values at its own index and sees its own causal past.
    ours = MultiHeadAttention(HEADS)
    starts = np.array([2, 0, 5], "int32")
    query = rng.normal(size=(3, steps, WIDTH)).astype("float32")
    key = rng.normal(size=(3, 8, HEADS, WIDTH // HEADS)).astype("float32")
    value = rng.normal(size=key.shape).astype("float32")

    def as_cache(key, value):
        return np.stack([key, value], axis=1) if stacked else (key, value)

    def as_pair(cache):
        if stacked:
            return [np.asarray(cache)[:, 0], np.asarray(cache)[:, 1]]
        return [np.asarray(part) for part in cache]

    output, cache = ours(
        query, use_causal_mask=True, cache=as_cache(key, value), cache_update_index=starts
    )
    for row, start in enumerate(starts):
        expected, expected_cache = ours(
            query[row : row + 1],
            use_causal_mask=True,
            cache=as_cache(key[row : row + 1], value[row : row + 1]),
            cache_update_index=int(start),
        )
        np.testing.assert_allclose(np.asarray(output)[row], np.asarray(expected)[0], atol=1e-6)
        for part, expected_part in zip(as_pair(cache), as_pair(expected_cache)):
            # (The projection of 3 rows and of 1 row may differ in the last bit.)
            np.testing.assert_allclose(part[row], expected_part[0], atol=1e-6)
    # Slots a row did not write are untouched.
    for part, before in zip(as_pair(cache), (key, value)):
        for row, start in enumerate(starts):
            written = slice(start, start + steps)
            np.testing.assert_array_equal(
                np.delete(part[row], written, 0), np.delete(before[row], written, 0)
            )
