"""One Transformer decoder block (§3.1): masked self-attention, cross-attention, feed-forward."""

from __future__ import annotations

import keras

from zoo.layers.feed_forward import PositionwiseFeedForward
from zoo.layers.multi_head_attention import MultiHeadAttention, check_heads_divide
from zoo.layers.residual_block import ResidualBlock


@keras.saving.register_keras_serializable(package="zoo")
class TransformerDecoderBlock(ResidualBlock):
    """Causal self-attention, then attention over the encoder output, then feed-forward.

    Whether the block has cross-attention is decided at construction
    (`has_cross_attention`): the paper's decoder has it, a decoder-only language model does
    not. Each sub-layer is wrapped in a residual and layer norm, post-norm (the paper's) or
    pre-norm (`norm_first=True`).

    Args:
        intermediate_dim, num_heads, dropout, activation, layer_norm_epsilon, norm_first,
        kernel_initializer, bias_initializer: as for `TransformerEncoderBlock`.
        has_cross_attention: attend to an encoder output.

    Call arguments:
        decoder_sequence: `(batch, T, hidden_dim)`.
        encoder_sequence: `(batch, S, hidden_dim)`; required with cross-attention (unless
            `cross_attention_cache` is given).
        decoder_padding_mask: `(batch, T)` bool, `True` at real target tokens.
        encoder_padding_mask: `(batch, S)` bool, `True` at real source tokens — the mask
            cross-attention uses.
        self_attention_cache: for incremental decoding, a `(key, value)` pair of
            `(batch, max_length, h, d/h)` tensors, or both stacked as
            `(batch, 2, max_length, h, d/h)`; returned updated, in the same form.
        self_attention_cache_update_index: position of the first token of
            `decoder_sequence` in that cache.
        cross_attention_cache: the encoder keys/values, from `compute_cross_attention_cache`
            (a `(key, value)` pair).
        return_attention_scores: also return a dict of the attention weights
            (`"self_attention"`, and `"cross_attention"` when the block has it).
        training: whether dropout is active.

    Returns:
        The output `(batch, T, hidden_dim)`, then the weights dict if
        `return_attention_scores`, then the updated `self_attention_cache` if one was passed
        — a tuple when more than one, in `MultiHeadAttention`'s order.
    """

    def __init__(self, intermediate_dim: int, num_heads: int, has_cross_attention=True, **kwargs):
        super().__init__(intermediate_dim, num_heads, **kwargs)
        self.has_cross_attention = has_cross_attention

    def build(self, decoder_sequence_shape, encoder_sequence_shape=None):
        check_heads_divide(
            decoder_sequence_shape[-1], self.num_heads, where=f"the width of {self.name!r}"
        )
        # Masked self attention block.
        self.self_attention = MultiHeadAttention(
            self.num_heads, dropout=self.dropout, name="self_attention", **self._initializers()
        )
        self.self_attention.build(decoder_sequence_shape)
        self.self_attention_layer_norm = self._layer_norm(
            "self_attention_layer_norm", decoder_sequence_shape
        )
        self.self_attention_dropout = keras.layers.Dropout(self.dropout, dtype=self.dtype_policy)
        # Cross attention block.
        if self.has_cross_attention:
            self.cross_attention = MultiHeadAttention(
                self.num_heads,
                cross_attention=True,
                dropout=self.dropout,
                name="cross_attention",
                **self._initializers(),
            )
            self.cross_attention.build(
                decoder_sequence_shape, encoder_sequence_shape or decoder_sequence_shape
            )
            self.cross_attention_layer_norm = self._layer_norm(
                "cross_attention_layer_norm", decoder_sequence_shape
            )
            self.cross_attention_dropout = keras.layers.Dropout(
                self.dropout, dtype=self.dtype_policy
            )
        # Feed-forward block.
        self.feed_forward = PositionwiseFeedForward(
            self.intermediate_dim, self.activation, name="feed_forward", **self._initializers()
        )
        self.feed_forward.build(decoder_sequence_shape)
        self.feed_forward_layer_norm = self._layer_norm(
            "feed_forward_layer_norm", decoder_sequence_shape
        )
        self.feed_forward_dropout = keras.layers.Dropout(self.dropout, dtype=self.dtype_policy)
        self.built = True

    def compute_cross_attention_cache(self, encoder_sequence):
        """The encoder keys/values this block attends to, projected once per sequence."""
        return self.cross_attention.compute_key_value_cache(encoder_sequence)

    def call(
        self,
        decoder_sequence,
        encoder_sequence=None,
        decoder_padding_mask=None,
        encoder_padding_mask=None,
        self_attention_cache=None,
        self_attention_cache_update_index=None,
        cross_attention_cache=None,
        return_attention_scores=False,
        training=None,
    ):
        uses_encoder = encoder_sequence is not None or cross_attention_cache is not None
        if self.has_cross_attention and not uses_encoder:
            raise ValueError(
                "This decoder block has cross-attention: pass `encoder_sequence` (or a "
                "`cross_attention_cache`), or build it with `has_cross_attention=False`."
            )
        if uses_encoder and not self.has_cross_attention:
            raise ValueError(
                "This decoder block was built without cross-attention "
                "(`has_cross_attention=False`) and cannot attend to an encoder output."
            )
        scores = {}

        # Masked self attention block.
        x, outputs = self._residual(
            decoder_sequence,  # (B, T, d)
            lambda x: _as_tuple(
                self.self_attention(
                    x,
                    key_padding_mask=decoder_padding_mask,
                    use_causal_mask=True,
                    cache=self_attention_cache,
                    cache_update_index=self_attention_cache_update_index,
                    return_attention_scores=return_attention_scores,
                    training=training,
                )
            ),
            self.self_attention_layer_norm,
            self.self_attention_dropout,
            training,
        )
        if return_attention_scores:
            scores["self_attention"] = outputs[1]
        if self_attention_cache is not None:
            self_attention_cache = outputs[-1]

        # Cross attention block: queries from the decoder, keys/values from the encoder.
        if self.has_cross_attention:
            x, outputs = self._residual(
                x,
                lambda x: _as_tuple(
                    self.cross_attention(
                        x,
                        key_value=encoder_sequence,
                        key_padding_mask=encoder_padding_mask,
                        cache=cross_attention_cache,
                        return_attention_scores=return_attention_scores,
                        training=training,
                    )
                ),
                self.cross_attention_layer_norm,
                self.cross_attention_dropout,
                training,
            )
            if return_attention_scores:
                scores["cross_attention"] = outputs[1]

        # Feed-forward block.
        x, _ = self._residual(
            x,
            lambda x: self.feed_forward(x, training=training),
            self.feed_forward_layer_norm,
            self.feed_forward_dropout,
            training,
        )

        results = (x,)
        if return_attention_scores:
            results += (scores,)
        if self_attention_cache is not None:
            results += (self_attention_cache,)
        return results[0] if len(results) == 1 else results

    def get_config(self):
        config = super().get_config()
        config.update({"has_cross_attention": self.has_cross_attention})
        return config


def _as_tuple(outputs):
    return outputs if isinstance(outputs, tuple) else (outputs,)
