"""The peers of benchmarks/training_speed are zoo's architecture: the same weights, the same
masking behaviour."""

from __future__ import annotations

import keras
import numpy as np
import pytest

import zoo
from benchmarks.recurrent_speed import keras_stack, recurrent_config
from benchmarks.training_speed import transformer_config
from benchmarks.transformer_peers import PEERS


def config_for(task, norm_first, share_embeddings):
    return transformer_config(
        "tiny", task, max_length=12, norm_first=norm_first, dropout=0.0,
        share_embeddings=share_embeddings, num_decoder_layers=2,
    )  # fmt: skip


@pytest.mark.parametrize("task", ["seq2seq", "lm"])
@pytest.mark.parametrize("norm_first", [True, False])
@pytest.mark.parametrize("share_embeddings", [True, False])
def test_peers_have_exactly_zoos_weight_count(task, norm_first, share_embeddings):
    config = config_for(task, norm_first, share_embeddings)
    expected = zoo.registry.get_family("transformer").builder(config).count_params()
    for name, build in PEERS.items():
        assert build(config).count_params() == expected, name


@pytest.mark.parametrize("preset", ["small", "base"])
def test_peers_match_zoo_at_the_benchmarked_sizes(preset):
    config = transformer_config(preset, "seq2seq", max_length=128, norm_first=True, dropout=0.0)
    expected = zoo.registry.get_family("transformer").builder(config).count_params()
    # By hand for `small` (d 256, d_ff 1024, 3 + 3 layers, vocabulary 8,000, tied):
    # embeddings 8000 * 256 + 128 * 256; an encoder layer 4 * (256 * 256 + 256) (attention)
    # + 2 * 256 * 1024 + 1024 + 256 (feed-forward) + 2 * 2 * 256 (two norms); a decoder
    # layer adds cross-attention and a third norm; two final norms.
    if preset == "small":
        attention = 4 * (256 * 256 + 256)
        feed_forward = 2 * 256 * 1024 + 1024 + 256
        encoder_layer = attention + feed_forward + 2 * 512
        decoder_layer = 2 * attention + feed_forward + 3 * 512
        by_hand = 8000 * 256 + 128 * 256 + 3 * (encoder_layer + decoder_layer) + 2 * 512
        assert expected == by_hand
    for name, build in PEERS.items():
        assert build(config).count_params() == expected, name


@pytest.mark.parametrize("name", ["zoo", *PEERS])
def test_every_contender_is_causal_and_ignores_source_padding(name, rng):
    config = config_for("seq2seq", norm_first=True, share_embeddings=True)
    if name == "zoo":
        model = zoo.registry.get_family("transformer").builder(config)
    else:
        model = PEERS[name](config)
    source = rng.integers(4, config.vocab_size, (2, 6)).astype("int32")
    target = rng.integers(4, config.vocab_size, (2, 5)).astype("int32")
    source[:, 4:] = 0  # two padding positions
    logits = model.predict({"encoder_token_ids": source, "decoder_token_ids": target}, verbose=0)
    assert logits.shape == (2, 5, config.vocab_size) and logits.dtype == np.float32

    changed_future = target.copy()
    last = target[:, -1]
    changed_future[:, -1] = np.where(last == config.vocab_size - 1, 4, last + 1)
    more_padding = np.concatenate([source, np.zeros((2, 3), "int32")], axis=1)
    future = model.predict(
        {"encoder_token_ids": source, "decoder_token_ids": changed_future}, verbose=0
    )
    longer = model.predict(
        {"encoder_token_ids": more_padding, "decoder_token_ids": target}, verbose=0
    )
    np.testing.assert_allclose(future[:, :-1], logits[:, :-1], atol=1e-5)
    assert not np.allclose(future[:, -1], logits[:, -1])
    np.testing.assert_allclose(longer, logits, atol=1e-5)


@pytest.mark.parametrize("family", ["simple_rnn", "lstm", "gru"])
def test_plain_keras_stack_has_zoos_weight_count(family):
    config = recurrent_config(family, "small")
    zoo_model = zoo.registry.get_family(family).builder(config)
    # By hand: embedding V x H, the recurrent layers, the output Dense H x V + V.
    cell = {"simple_rnn": 1, "lstm": 4, "gru": 3}[family]
    bias = 2 if family == "gru" else 1  # Keras's GRU keeps two biases (reset_after=True)
    layer = cell * (256 * 256 + 256 * 256 + bias * 256)
    assert zoo_model.count_params() == 8000 * 256 + 2 * layer + 256 * 8000 + 8000
    assert keras_stack(config, family).count_params() == zoo_model.count_params()
    keras.backend.clear_session()
