"""The zoo Transformer's architecture, built the two ways a user would build it instead.

Each builder takes a zoo `TransformerConfig` (so the dimensions are the same by
construction) and returns a functional `keras.Model` with zoo's inputs and outputs
(`seq2seq`: `{"encoder_token_ids", "decoder_token_ids"}` -> float32 logits; `lm`:
`token_ids` -> float32 logits):

- `keras_nlp_transformer`: `keras_nlp.layers.TokenAndPositionEmbedding`,
  `TransformerEncoder`, `TransformerDecoder` (`normalize_first` = zoo's `norm_first`);
- `keras_transformer`: blocks written out on `keras.layers.MultiHeadAttention`, `Dense`
  and `LayerNormalization`.

Both have exactly zoo's weights when zoo uses learned positions
(`position_encoding="learned"`, keras-nlp's only kind) with `max_sequence_length` rows:
separate query, key and value kernels hold as many weights as zoo's fused one; tied
embeddings (`share_embeddings`) share one token table and position table between encoder,
decoder and output projection, as zoo does; pre-norm stacks end with a layer norm each.
What differs: zoo multiplies token embeddings by `sqrt(d)` (one multiply per embedded value)
and the initializers (irrelevant to speed).
"""

from __future__ import annotations

import keras
from keras import ops


class TokenAndPositions(keras.layers.Layer):
    """Token embedding plus a learned position embedding, in plain Keras (the layer of
    Keras's text-classification-with-Transformer example, with a reversible token table)."""

    def __init__(self, vocabulary_size, sequence_length, hidden_dim, **kwargs):
        super().__init__(**kwargs)
        self.tokens = keras.layers.ReversibleEmbedding(
            vocabulary_size, hidden_dim, tie_weights=True, dtype=self.dtype_policy, name="tokens"
        )
        self.positions = keras.layers.Embedding(
            sequence_length, hidden_dim, dtype=self.dtype_policy, name="positions"
        )

    def call(self, token_ids):
        length = ops.shape(token_ids)[1]
        return self.tokens(token_ids) + self.positions(ops.arange(length))[None]  # (B, T, d)


def _token_ids(name):
    return keras.Input(shape=(None,), dtype="int32", name=name)


def _padding_mask(token_ids):
    return ops.not_equal(token_ids, 0)  # (B, T), True at real tokens


def _final_norm(config, name):
    """Pre-norm stacks end with a layer norm (zoo's `encoder_norm` / `decoder_norm`)."""
    if not config.norm_first:
        return lambda x: x
    return keras.layers.LayerNormalization(epsilon=config.layer_norm_epsilon, name=name)


def _logits(config, hidden, embedding_table, vocab_size):
    if config.share_embeddings:
        logits = embedding_table(hidden, reverse=True)
    else:
        logits = keras.layers.Dense(vocab_size, name="logits")(hidden)
    return ops.cast(logits, "float32")  # (B, T, V)


def _assemble(config, embed, encoder_block, decoder_block, name):
    """The model around per-layer block functions: embeddings, stacks, final norms, logits.

    `embed(vocab_size, name)` returns `(embedding_fn, token_table)`; `encoder_block(i, x,
    padding)` and `decoder_block(i, y, padding, encoded, encoder_padding)` one layer each.
    """
    target_vocab = config.target_vocab_size or config.vocab_size
    dropout = keras.layers.Dropout(config.dropout, name="embedding_dropout")
    if config.task == "lm":
        token_ids = _token_ids("token_ids")
        embedding, table = embed(config.vocab_size, "embedding")
        padding = _padding_mask(token_ids)
        hidden = dropout(embedding(token_ids))
        for i in range(config.decoder_layers):
            hidden = decoder_block(i, hidden, padding, None, None)
        hidden = _final_norm(config, "final_norm")(hidden)
        logits = _logits(config, hidden, table, config.vocab_size)
        return keras.Model(token_ids, logits, name=name)
    if config.task != "seq2seq":
        raise ValueError(f"Peers are built for 'seq2seq' and 'lm', received {config.task!r}.")
    encoder_ids, decoder_ids = _token_ids("encoder_token_ids"), _token_ids("decoder_token_ids")
    encoder_embedding, encoder_table = embed(config.vocab_size, "encoder_embedding")
    if config.share_embeddings:
        decoder_embedding, table = encoder_embedding, encoder_table
    else:
        decoder_embedding, table = embed(target_vocab, "decoder_embedding")
    encoder_padding, decoder_padding = _padding_mask(encoder_ids), _padding_mask(decoder_ids)
    encoded = dropout(encoder_embedding(encoder_ids))
    for i in range(config.num_layers):
        encoded = encoder_block(i, encoded, encoder_padding)
    encoded = _final_norm(config, "encoder_norm")(encoded)
    hidden = dropout(decoder_embedding(decoder_ids))
    for i in range(config.decoder_layers):
        hidden = decoder_block(i, hidden, decoder_padding, encoded, encoder_padding)
    hidden = _final_norm(config, "decoder_norm")(hidden)
    logits = _logits(config, hidden, table, target_vocab)
    inputs = {"encoder_token_ids": encoder_ids, "decoder_token_ids": decoder_ids}
    return keras.Model(inputs, logits, name=name)


def keras_nlp_transformer(config) -> keras.Model:
    """The architecture from `keras_nlp.layers`, as its guides assemble it."""
    import keras_nlp

    layers = keras_nlp.layers
    block_arguments = dict(
        intermediate_dim=config.intermediate_dim,
        num_heads=config.num_heads,
        dropout=config.dropout,
        activation=config.activation,
        layer_norm_epsilon=config.layer_norm_epsilon,
        normalize_first=config.norm_first,
    )

    def embed(vocab_size, name):
        layer = layers.TokenAndPositionEmbedding(
            vocab_size,
            config.max_sequence_length,
            config.hidden_dim,
            tie_weights=True,
            name=name,
        )
        return layer, layer.token_embedding

    def encoder_block(i, x, padding):
        block = layers.TransformerEncoder(**block_arguments, name=f"encoder_{i}")
        return block(x, padding_mask=padding)

    def decoder_block(i, y, padding, encoded, encoder_padding):
        block = layers.TransformerDecoder(**block_arguments, name=f"decoder_{i}")
        if encoded is None:
            return block(y, decoder_padding_mask=padding)
        return block(y, encoded, decoder_padding_mask=padding, encoder_padding_mask=encoder_padding)

    return _assemble(config, embed, encoder_block, decoder_block, f"keras_nlp_{config.task}")


def keras_transformer(config) -> keras.Model:
    """The architecture on `keras.layers.MultiHeadAttention`, written as a Keras user would:
    `Add & Norm` around each sub-layer (post-norm, or pre-norm when `config.norm_first`)."""
    head_dim = config.hidden_dim // config.num_heads

    def embed(vocab_size, name):
        layer = TokenAndPositions(
            vocab_size, config.max_sequence_length, config.hidden_dim, name=name
        )
        return layer, layer.tokens

    def sublayer(x, compute, name):
        """`LayerNorm(x + Dropout(compute(x)))`, or `x + Dropout(compute(LayerNorm(x)))`."""
        norm = keras.layers.LayerNormalization(epsilon=config.layer_norm_epsilon, name=name)
        inputs = norm(x) if config.norm_first else x
        x = x + keras.layers.Dropout(config.dropout)(compute(inputs))
        return x if config.norm_first else norm(x)

    def attention(name):
        return keras.layers.MultiHeadAttention(
            config.num_heads, head_dim, dropout=config.dropout, name=name
        )

    def feed_forward(name):
        inner = keras.layers.Dense(
            config.intermediate_dim, activation=config.activation, name=f"{name}_inner"
        )
        outer = keras.layers.Dense(config.hidden_dim, name=f"{name}_outer")
        return lambda x: outer(inner(x))

    def encoder_block(i, x, padding):
        self_attention = attention(f"encoder_{i}_self_attention")
        x = sublayer(
            x,
            lambda q: self_attention(q, q, value_mask=padding),
            f"encoder_{i}_self_attention_norm",
        )
        return sublayer(x, feed_forward(f"encoder_{i}_feed_forward"), f"encoder_{i}_ffn_norm")

    def decoder_block(i, y, padding, encoded, encoder_padding):
        self_attention = attention(f"decoder_{i}_self_attention")
        y = sublayer(
            y,
            lambda q: self_attention(q, q, value_mask=padding, use_causal_mask=True),
            f"decoder_{i}_self_attention_norm",
        )
        if encoded is not None:
            cross_attention = attention(f"decoder_{i}_cross_attention")
            y = sublayer(
                y,
                lambda q: cross_attention(q, encoded, value_mask=encoder_padding),
                f"decoder_{i}_cross_attention_norm",
            )
        return sublayer(y, feed_forward(f"decoder_{i}_feed_forward"), f"decoder_{i}_ffn_norm")

    return _assemble(config, embed, encoder_block, decoder_block, f"keras_{config.task}")


PEERS = {"keras_nlp": keras_nlp_transformer, "keras": keras_transformer}
