"""Token embedding + position information, the input of every Transformer stack."""

from __future__ import annotations

import math

import keras
from keras import ops

from zoo.layers.attention_masks import padding_mask_from_ids
from zoo.layers.positional_encoding import PositionEmbedding, SinusoidalPositionEncoding

POSITION_ENCODINGS = ("sinusoidal", "learned")


@keras.saving.register_keras_serializable(package="zoo")
class TokenAndPositionEmbedding(keras.layers.Layer):
    """Token embedding, optionally scaled by `sqrt(hidden_dim)`, plus position information.

    The paper (§3.4) multiplies the embedding weights by `sqrt(d_model)` and adds the
    sinusoidal encoding (§3.5), then applies dropout (§5.4). The token table is a
    `keras.layers.ReversibleEmbedding`, so a model can reuse it as its output projection
    (`layer.token_embedding(hidden, reverse=True)`), as the paper does with a shared vocabulary.

    Args:
        vocabulary_size: number of token ids; id 0 is padding.
        hidden_dim: width of the embeddings.
        position_encoding: `"sinusoidal"` (the paper's, no weights, any length) or
            `"learned"` (a table of `sequence_length` rows).
        sequence_length: the longest sequence for `"learned"` positions.
        scale_embeddings: multiply token embeddings by `sqrt(hidden_dim)`.
        dropout: dropout rate on the sum.
        mask_zero: produce a Keras mask (`True` at real tokens) from id 0.

    Call arguments:
        token_ids: int tensor `(batch, length)`.
        start_index: the position of the first token (cached decoding): a scalar, or a
            `(batch,)` int vector of one start per row (prompts of different lengths).
        training: whether dropout is active.

    Example:
    >>> layer = TokenAndPositionEmbedding(vocabulary_size=10, hidden_dim=4)
    >>> tuple(layer(keras.ops.ones((2, 3), "int32")).shape)
    (2, 3, 4)
    """

    def __init__(
        self,
        vocabulary_size: int,
        hidden_dim: int,
        position_encoding: str = "sinusoidal",
        sequence_length: int | None = None,
        scale_embeddings: bool = True,
        dropout: float = 0.0,
        mask_zero: bool = True,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if position_encoding not in POSITION_ENCODINGS:
            raise ValueError(
                f"`position_encoding` must be one of {POSITION_ENCODINGS}, "
                f"received {position_encoding!r}."
            )
        if position_encoding == "learned" and not sequence_length:
            raise ValueError(
                "`position_encoding='learned'` needs `sequence_length` (the longest sequence "
                "the table can encode); pass it, or use `position_encoding='sinusoidal'`."
            )
        self.vocabulary_size = vocabulary_size
        self.hidden_dim = hidden_dim
        self.position_encoding = position_encoding
        self.sequence_length = sequence_length
        self.scale_embeddings = scale_embeddings
        self.dropout = dropout
        self.mask_zero = mask_zero
        self.supports_masking = mask_zero

        # With the sqrt(d) scale, N(0, d^-1/2) makes scaled embeddings unit-variance, and the
        # same table stays well-scaled when reused as the output projection.
        self.token_embedding = keras.layers.ReversibleEmbedding(
            vocabulary_size,
            hidden_dim,
            tie_weights=True,
            embeddings_initializer=keras.initializers.RandomNormal(stddev=hidden_dim**-0.5),
            dtype=self.dtype_policy,
            name="token_embedding",
        )
        if position_encoding == "sinusoidal":
            self.position_embedding = SinusoidalPositionEncoding(
                dtype=self.dtype_policy, name="position_encoding"
            )
        else:
            self.position_embedding = PositionEmbedding(
                sequence_length, dtype=self.dtype_policy, name="position_embedding"
            )
        self.dropout_layer = keras.layers.Dropout(dropout, dtype=self.dtype_policy)

    def build(self, token_ids_shape):
        self.token_embedding.build(token_ids_shape)
        self.position_embedding.build(tuple(token_ids_shape) + (self.hidden_dim,))
        self.built = True

    def call(self, token_ids, start_index=0, training=None):
        embedded = self.token_embedding(token_ids)  # (B, T, d)
        if self.scale_embeddings:
            embedded = embedded * ops.cast(math.sqrt(self.hidden_dim), embedded.dtype)
        embedded = embedded + self.position_embedding(embedded, start_index=start_index)
        return self.dropout_layer(embedded, training=training)

    def compute_mask(self, token_ids, mask=None):
        if not self.mask_zero:
            return None
        return padding_mask_from_ids(token_ids)

    def compute_output_shape(self, token_ids_shape):
        return tuple(token_ids_shape) + (self.hidden_dim,)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "vocabulary_size": self.vocabulary_size,
                "hidden_dim": self.hidden_dim,
                "position_encoding": self.position_encoding,
                "sequence_length": self.sequence_length,
                "scale_embeddings": self.scale_embeddings,
                "dropout": self.dropout,
                "mask_zero": self.mask_zero,
            }
        )
        return config
