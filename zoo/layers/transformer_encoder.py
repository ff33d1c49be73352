"""One Transformer encoder block (§3.1): self-attention, then feed-forward."""

from __future__ import annotations

import keras

from zoo.layers.feed_forward import PositionwiseFeedForward
from zoo.layers.multi_head_attention import MultiHeadAttention, check_heads_divide
from zoo.layers.residual_block import ResidualBlock


@keras.saving.register_keras_serializable(package="zoo")
class TransformerEncoderBlock(ResidualBlock):
    """Self-attention and a feed-forward network, each wrapped in a residual and layer norm.

    Post-norm, as in the paper: `x = LayerNorm(x + Dropout(Sublayer(x)))`. Pre-norm
    (`norm_first=True`), which trains deep stacks without warm-up:
    `x = x + Dropout(Sublayer(LayerNorm(x)))` — the model then needs a final layer norm.

    Args:
        intermediate_dim: feed-forward inner width `d_ff`.
        num_heads: attention heads.
        dropout: the paper's residual dropout `P_drop` (also used on attention weights).
        activation: feed-forward activation.
        layer_norm_epsilon: epsilon of the layer norms.
        norm_first: pre-norm instead of the paper's post-norm.
        kernel_initializer, bias_initializer: for all dense layers.

    Call arguments:
        inputs: `(batch, length, hidden_dim)`.
        padding_mask: `(batch, length)` bool, `True` at real tokens.
        attention_mask: optional extra `(batch, length, length)` bool mask.
        return_attention_scores: also return the attention weights `(batch, h, T, T)`.
        training: whether dropout is active.

    Example:
    >>> block = TransformerEncoderBlock(intermediate_dim=8, num_heads=2)
    >>> tuple(block(keras.ops.ones((1, 3, 4))).shape)
    (1, 3, 4)

    References:
        Vaswani et al., "Attention Is All You Need", 2017.
    """

    def build(self, inputs_shape):
        check_heads_divide(inputs_shape[-1], self.num_heads, where=f"the width of {self.name!r}")
        # Self attention block.
        self.self_attention = MultiHeadAttention(
            self.num_heads, dropout=self.dropout, name="self_attention", **self._initializers()
        )
        self.self_attention.build(inputs_shape)
        self.self_attention_layer_norm = self._layer_norm("self_attention_layer_norm", inputs_shape)
        self.self_attention_dropout = keras.layers.Dropout(self.dropout, dtype=self.dtype_policy)
        # Feed-forward block.
        self.feed_forward = PositionwiseFeedForward(
            self.intermediate_dim, self.activation, name="feed_forward", **self._initializers()
        )
        self.feed_forward.build(inputs_shape)
        self.feed_forward_layer_norm = self._layer_norm("feed_forward_layer_norm", inputs_shape)
        self.feed_forward_dropout = keras.layers.Dropout(self.dropout, dtype=self.dtype_policy)
        self.built = True

    def call(
        self,
        inputs,
        padding_mask=None,
        attention_mask=None,
        return_attention_scores=False,
        training=None,
    ):
        # Self attention block.
        x, attended = self._residual(
            inputs,  # (B, T, d)
            lambda x: self.self_attention(
                x,
                key_padding_mask=padding_mask,
                attention_mask=attention_mask,
                return_attention_scores=return_attention_scores,
                training=training,
            ),
            self.self_attention_layer_norm,
            self.self_attention_dropout,
            training,
        )
        # Feed-forward block.
        x, _ = self._residual(
            x,
            lambda x: self.feed_forward(x, training=training),
            self.feed_forward_layer_norm,
            self.feed_forward_dropout,
            training,
        )
        if return_attention_scores:
            return x, attended[1]
        return x
