import numpy as np
import pytest

from tests.layers.reference_weights import copy_encoder_from_keras_nlp
from zoo.layers import TransformerDecoderBlock, TransformerEncoderBlock

WIDTH, HEADS, INNER = 8, 2, 16


@pytest.mark.parametrize("norm_first", [False, True])
def test_encoder_block_equals_keras_nlp_transformer_encoder(rng, norm_first):
    keras_nlp = pytest.importorskip("keras_nlp")
    inputs = rng.normal(size=(2, 6, WIDTH)).astype("float32")
    padding_mask = np.array([[1, 1, 1, 1, 1, 1], [1, 1, 1, 0, 0, 0]], bool)
    reference = keras_nlp.layers.TransformerEncoder(INNER, HEADS, normalize_first=norm_first)
    reference(inputs)
    block = TransformerEncoderBlock(INNER, HEADS, norm_first=norm_first)
    block.build(inputs.shape)
    copy_encoder_from_keras_nlp(reference, block)
    expected = np.asarray(reference(inputs, padding_mask=padding_mask))
    output = np.asarray(block(inputs, padding_mask=padding_mask))
    # keras-nlp also masks padded *queries*; real positions must agree exactly.
    np.testing.assert_allclose(output[0], expected[0], atol=1e-5)
    np.testing.assert_allclose(output[1, :3], expected[1, :3], atol=1e-5)


def test_encoder_padding_never_changes_real_positions(rng):
    block = TransformerEncoderBlock(INNER, HEADS)
    inputs = rng.normal(size=(1, 6, WIDTH)).astype("float32")
    padding_mask = np.array([[1, 1, 1, 1, 0, 0]], bool)
    before = np.asarray(block(inputs, padding_mask=padding_mask))
    changed = inputs.copy()
    changed[:, 4:] = rng.normal(size=(1, 2, WIDTH))
    after = np.asarray(block(changed, padding_mask=padding_mask))
    np.testing.assert_allclose(after[:, :4], before[:, :4], atol=1e-6)


@pytest.mark.parametrize("stacked", [True, False])
@pytest.mark.parametrize("cross", [True, False])
def test_decoder_block_cached_steps_equal_full_pass_and_no_future_leak(rng, cross, stacked):
    block = TransformerDecoderBlock(INNER, HEADS, has_cross_attention=cross, norm_first=cross)
    target = rng.normal(size=(2, 5, WIDTH)).astype("float32")
    source = rng.normal(size=(2, 4, WIDTH)).astype("float32") if cross else None
    source_mask = np.array([[1, 1, 1, 1], [1, 1, 0, 0]], bool) if cross else None
    full = np.asarray(block(target, source, encoder_padding_mask=source_mask))

    changed = target.copy()
    changed[:, 3:] += 3.0
    leaked = np.asarray(block(changed, source, encoder_padding_mask=source_mask))
    np.testing.assert_allclose(leaked[:, :3], full[:, :3], atol=1e-6)

    # The cache as keras-hub stacks it, or as a (key, value) pair; it comes back as it went in.
    cache = np.zeros((2, 2, 5, HEADS, WIDTH // HEADS), "float32")
    if not stacked:
        cache = (cache[:, 0], cache[:, 1])
    cross_cache = block.compute_cross_attention_cache(source) if cross else None
    if cross and stacked:
        cross_cache = np.stack([np.asarray(part) for part in cross_cache], axis=1)
    for index in range(5):
        step, cache = block(
            target[:, index : index + 1],
            encoder_padding_mask=source_mask,
            self_attention_cache=cache,
            self_attention_cache_update_index=index,
            cross_attention_cache=cross_cache,
        )
        np.testing.assert_allclose(np.asarray(step)[:, 0], full[:, index], atol=1e-5)
        assert isinstance(cache, tuple) != stacked


def test_decoder_block_returns_cross_attention_weights_that_ignore_encoder_padding(rng):
    block = TransformerDecoderBlock(INNER, HEADS)
    target = rng.normal(size=(1, 3, WIDTH)).astype("float32")
    source = rng.normal(size=(1, 4, WIDTH)).astype("float32")
    _, scores = block(
        target,
        source,
        encoder_padding_mask=np.array([[1, 1, 0, 0]], bool),
        return_attention_scores=True,
    )
    cross = np.asarray(scores["cross_attention"])  # (1, h, 3, 4)
    np.testing.assert_allclose(cross.sum(-1), 1.0, atol=1e-5)
    assert np.abs(cross[..., 2:]).max() < 1e-6
    self_weights = np.asarray(scores["self_attention"])
    assert np.abs(np.triu(self_weights[0, 0], 1)).max() < 1e-6


def test_decoder_block_cross_attention_is_decided_at_construction(rng):
    x = rng.normal(size=(1, 3, WIDTH)).astype("float32")
    with pytest.raises(ValueError, match="has_cross_attention=False"):
        TransformerDecoderBlock(INNER, HEADS)(x)
    decoder_only = TransformerDecoderBlock(INNER, HEADS, has_cross_attention=False)
    with pytest.raises(ValueError, match="without cross-attention"):
        decoder_only(x, x)


def test_block_width_not_divisible_by_heads():
    with pytest.raises(ValueError, match="must divide hidden_dim"):
        TransformerEncoderBlock(INNER, 3)(np.zeros((1, 2, WIDTH), "float32"))


def test_decoder_block_returns_output_scores_cache_in_attentions_order(rng):
    block = TransformerDecoderBlock(INNER, HEADS, has_cross_attention=False)
    target = rng.normal(size=(2, 3, WIDTH)).astype("float32")
    full = np.asarray(block(target))
    cache = (np.zeros((2, 4, HEADS, WIDTH // HEADS), "float32"),) * 2
    output, scores, new_cache = block(
        target,
        self_attention_cache=cache,
        self_attention_cache_update_index=0,
        return_attention_scores=True,
    )
    np.testing.assert_allclose(np.asarray(output), full, atol=1e-5)
    assert np.asarray(scores["self_attention"]).shape == (2, HEADS, 3, 4)
    assert isinstance(new_cache, tuple) and np.asarray(new_cache[0]).shape == (2, 4, HEADS, 4)
    # Post-norm: the self-attention sees the block's input, so its own (output, scores,
    # cache) gives the same weights.
    _, attention_scores, _ = block.self_attention(
        target,
        use_causal_mask=True,
        cache=cache,
        cache_update_index=0,
        return_attention_scores=True,
    )
    np.testing.assert_allclose(
        np.asarray(attention_scores), np.asarray(scores["self_attention"]), atol=1e-6
    )
