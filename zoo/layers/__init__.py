"""zoo's building blocks: the seed's mechanisms, one file each, `keras.ops` only."""

from zoo.layers.attention_masks import (
    causal_mask,
    compute_attention_mask,
    merge_attention_masks,
    padding_mask_from_ids,
)
from zoo.layers.feed_forward import PositionwiseFeedForward
from zoo.layers.multi_head_attention import MultiHeadAttention
from zoo.layers.positional_encoding import PositionEmbedding, SinusoidalPositionEncoding
from zoo.layers.scaled_dot_product_attention import scaled_dot_product_attention
from zoo.layers.token_and_position_embedding import TokenAndPositionEmbedding
from zoo.layers.transformer_decoder import TransformerDecoderBlock
from zoo.layers.transformer_encoder import TransformerEncoderBlock

__all__ = [
    "MultiHeadAttention",
    "PositionEmbedding",
    "PositionwiseFeedForward",
    "SinusoidalPositionEncoding",
    "TokenAndPositionEmbedding",
    "TransformerDecoderBlock",
    "TransformerEncoderBlock",
    "causal_mask",
    "compute_attention_mask",
    "merge_attention_masks",
    "padding_mask_from_ids",
    "scaled_dot_product_attention",
]
