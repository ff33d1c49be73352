"""The FLOP counter against counts written out by hand and against a zoo model's weights."""

from __future__ import annotations

import pytest

import zoo
from benchmarks.flops import (
    config_training_flops,
    transformer_forward_flops,
    transformer_training_flops,
)

TINY = dict(hidden_dim=4, intermediate_dim=8, vocab_size=10)


def test_seq2seq_forward_flops_by_hand():
    # One sentence, source length 2, target length 3, d = 4, d_ff = 8, V = 10, 1 + 1 layers.
    # Every (m, k) x (k, n) matmul costs 2 m k n.
    encoder = (
        2 * 2 * 4 * 12  # query, key, value projections of 2 tokens: 192
        + 2 * 2 * 4 * 4  # output projection: 64
        + 2 * (2 * 2 * 4 * 2)  # Q K^T (2 x 4 x 2) and weights V (2 x 2 x 4): 64
        + 2 * 2 * 4 * 8  # feed-forward in: 128
        + 2 * 2 * 8 * 4  # feed-forward out: 128
    )
    assert encoder == 576
    decoder = (
        2 * 3 * 4 * 12  # self-attention projections of 3 tokens: 288
        + 2 * 3 * 4 * 4  # self-attention output: 96
        + 2 * (2 * 3 * 4 * 3)  # causal self-attention, the full 3 x 3 scores: 144
        + 2 * 3 * 4 * 4  # cross-attention queries: 96
        + 2 * 2 * 4 * 8  # cross-attention keys and values of the 2 source tokens: 128
        + 2 * 3 * 4 * 4  # cross-attention output: 96
        + 2 * (2 * 3 * 4 * 2)  # 3 queries over 2 source keys: 96
        + 2 * 3 * 4 * 8 * 2  # feed-forward in and out: 384
    )
    assert decoder == 1328
    logits = 2 * 3 * 4 * 10  # 240
    shape = dict(
        task="seq2seq", batch_size=1, source_length=2, target_length=3,
        num_encoder_layers=1, num_decoder_layers=1, **TINY,
    )  # fmt: skip
    assert transformer_forward_flops(**shape) == encoder + decoder + logits == 2144
    assert transformer_training_flops(**shape) == 3 * 2144


def test_lm_has_no_encoder_and_no_cross_attention():
    # Batch 2, length 3: 6 tokens through one decoder layer without cross-attention.
    layer = 2 * 6 * 4 * 12 + 2 * 6 * 4 * 4 + 2 * (2 * 6 * 4 * 3) + 2 * 6 * 4 * 8 * 2  # 1824
    shape = dict(
        task="lm", batch_size=2, source_length=99, target_length=3,
        num_encoder_layers=5, num_decoder_layers=2, **TINY,
    )  # fmt: skip
    assert transformer_forward_flops(**shape) == 2 * layer + 2 * 6 * 4 * 10 == 4128


def test_unknown_task_is_refused():
    with pytest.raises(ValueError, match="seq2seq"):
        transformer_forward_flops(
            task="mlm", batch_size=1, source_length=1, target_length=1,
            num_encoder_layers=1, num_decoder_layers=1, **TINY,
        )  # fmt: skip


@pytest.mark.parametrize("task", ["seq2seq", "lm"])
def test_projection_flops_match_the_kernels_of_a_zoo_model(task):
    """Independently of the formula: 2 FLOPs per kernel weight per token it is applied to
    (encoder kernels and cross-attention keys and values to source tokens, every other
    decoder kernel and the output projection to target tokens), plus the attention
    matmuls."""
    batch, source, target = 2, 5, 7
    model = zoo.build(
        "transformer", task=task, preset="tiny", num_decoder_layers=2, share_embeddings=False
    )
    config = model.config
    flops = 0
    for layer in model.layers:
        for weight in layer.trainable_weights:
            if weight.name != "kernel":
                continue
            size = 1
            for dimension in weight.shape:
                size *= dimension
            from_source = layer.name.startswith("encoder_block") or (
                "cross_attention/key_value" in weight.path
            )
            flops += 2 * size * batch * (source if from_source else target)
    d = config.hidden_dim
    if task == "seq2seq":
        attention = config.num_layers * source * source + config.decoder_layers * (
            target * target + target * source
        )
    else:
        attention = config.decoder_layers * target * target
    flops += 4 * d * batch * attention

    forward = transformer_forward_flops(
        task=task, batch_size=batch, source_length=source, target_length=target,
        hidden_dim=d, intermediate_dim=config.intermediate_dim,
        num_encoder_layers=config.num_layers if task == "seq2seq" else 0,
        num_decoder_layers=config.decoder_layers, vocab_size=config.vocab_size,
    )  # fmt: skip
    assert forward == flops


def test_config_training_flops_reads_the_config():
    config = zoo.get_config("transformer", task="seq2seq", preset="tiny", vocab_size=10)
    expected = transformer_training_flops(
        task="seq2seq", batch_size=3, source_length=4, target_length=4,
        hidden_dim=config.hidden_dim, intermediate_dim=config.intermediate_dim,
        num_encoder_layers=config.num_layers, num_decoder_layers=config.decoder_layers,
        vocab_size=10,
    )  # fmt: skip
    assert config_training_flops(config, 3, 4) == expected > 0
