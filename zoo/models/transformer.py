"""The Transformer family: the paper's encoder-decoder, a decoder-only LM, an encoder."""

from __future__ import annotations

import keras
from keras import ops

from zoo.layers import (
    SinusoidalPositionEncoding,
    TokenAndPositionEmbedding,
    TransformerDecoderBlock,
    TransformerEncoderBlock,
    padding_mask_from_ids,
)
from zoo.models.backbone import make_backbone, reuse_layers
from zoo.models.base import (
    ZooModel,
    feature_padding_mask,
    features_input,
    pooled_head,
    to_float32,
    token_ids_input,
)
from zoo.models.masked_positions import MaskedPositionsMixin, gather_positions
from zoo.models.transformer_config import (
    TRANSFORMER_PRESETS,
    TRANSFORMER_TUNINGS,
    TransformerConfig,
)
from zoo.registry import register


class TransformerStacks:
    """The layers of one Transformer and the passes over them, shared by the task models."""

    def _make_embedding(self, config, vocab_size, name):
        return TokenAndPositionEmbedding(
            vocab_size,
            config.hidden_dim,
            position_encoding=config.position_encoding,
            sequence_length=config.max_sequence_length,
            dropout=config.dropout,
            mask_zero=False,  # masks are passed explicitly, from id 0
            name=name,
        )

    def _block_arguments(self, config):
        return dict(
            intermediate_dim=config.intermediate_dim,
            num_heads=config.num_heads,
            dropout=config.dropout,
            activation=config.activation,
            layer_norm_epsilon=config.layer_norm_epsilon,
            norm_first=config.norm_first,
        )

    def _make_final_norm(self, config, name):
        # Pre-norm stacks end un-normalised: the final norm is part of the pre-norm recipe.
        if not config.norm_first:
            return None
        return keras.layers.LayerNormalization(epsilon=config.layer_norm_epsilon, name=name)

    def _make_output_projection(self, config, vocab_size, embedding):
        if config.share_embeddings:
            return lambda hidden: embedding.token_embedding(hidden, reverse=True)
        dense = keras.layers.Dense(vocab_size, name="logits")
        self.output_dense = dense
        return dense

    def _encode(self, embedded, padding_mask, training=None, positions=None):
        """The encoder stack `(B, S, d)`; with `positions (B, M)`, only those rows' states,
        gathered before the final norm: `(B, M, d)`."""
        x = embedded  # (B, S, d)
        for block in self.encoder_blocks:
            x = block(x, padding_mask=padding_mask, training=training)
        if positions is not None:
            x = gather_positions(x, positions)  # (B, M, d)
        return x if self.encoder_norm is None else self.encoder_norm(x)

    def _final_decoder_norm(self, hidden):
        """The decoder's final norm (pre-norm stacks only)."""
        return hidden if self.decoder_norm is None else self.decoder_norm(hidden)

    def _decoder_head(self, hidden):
        """The decoder's final norm (pre-norm stacks), then the token logits."""
        return self._token_logits(self._final_decoder_norm(hidden))

    def _token_logits(self, hidden):
        return to_float32(self.output_projection(hidden))  # (B, T, V)

    def _check_positions(self, num_positions, described_as):
        """With learned positions, refuse (when it is known in Python) to decode past the
        table; `described_as` says where `num_positions` came from, for the message."""
        limit = self.config.max_sequence_length
        if (
            self.config.position_encoding == "learned"
            and isinstance(num_positions, int)
            and num_positions > limit
        ):
            raise ValueError(
                f"{described_as} exceeds the {limit} positions this model learned "
                "(position_encoding='learned'); decode at most max_sequence_length positions, "
                "or use position_encoding='sinusoidal'."
            )

    def _empty_self_attention_caches(self, batch_size, max_length):
        """A `(B, max_length, h, d/h)` key cache and value cache per decoder layer. Separate
        entries, not one stacked tensor, so a step copies nothing it does not update."""
        config = self.config
        shape = (batch_size, max_length, config.num_heads, config.hidden_dim // config.num_heads)
        state = {}
        for i in range(len(self.decoder_blocks)):
            for kind in ("key", "value"):
                state[f"self_attention_{kind}_cache_{i}"] = ops.zeros(
                    shape, dtype=self.compute_dtype
                )
        return state

    def resize_decode_state(self, state, max_length):
        """The decode state with room for `max_length` positions: the self-attention caches
        padded with zeros at the end (masked: they lie in the future). Never shrinks them.

        Optional in the decoding protocol; beam search uses it to start on short caches.
        """
        resized = dict(state)
        for key, value in state.items():
            if key.startswith("self_attention_"):
                length = ops.shape(value)[1]
                if isinstance(max_length, int) and isinstance(length, int):
                    extra = max(max_length - length, 0)  # static, as JAX needs
                else:
                    extra = ops.maximum(max_length - length, 0)
                resized[key] = ops.pad(value, [[0, 0], [0, extra], [0, 0], [0, 0]])
        return resized

    def _cached_decoder_step(self, state, token_ids, index, encoder_padding_mask=None):
        """One token through the decoder stack: `(B,)` ids at position `index` -> `(B, V)`.

        `index` is a scalar (every row at the same position: seq2seq) or a `(B,)` vector
        (one position per row: an lm after prompts of different lengths). It must be below
        the cache length the state was made for (it is a tensor inside compiled loops, so it
        cannot be checked here), and `token_ids` must not be 0: the full pass treats id 0 as
        padding, so feeding it breaks cached == full.
        """
        hidden = self.decoder_embedding(token_ids[:, None], start_index=index)  # (B, 1, d)
        state = dict(state)
        for i, block in enumerate(self.decoder_blocks):
            keys, values = f"self_attention_key_cache_{i}", f"self_attention_value_cache_{i}"
            cross_cache = None
            if f"cross_attention_key_cache_{i}" in state:
                cross_cache = (
                    state[f"cross_attention_key_cache_{i}"],
                    state[f"cross_attention_value_cache_{i}"],
                )
            hidden, (state[keys], state[values]) = block(
                hidden,
                encoder_padding_mask=encoder_padding_mask,
                self_attention_cache=(state[keys], state[values]),
                self_attention_cache_update_index=index,
                cross_attention_cache=cross_cache,
            )
        return self._decoder_head(hidden)[:, 0], state


@keras.saving.register_keras_serializable(package="zoo")
class TransformerSeq2Seq(TransformerStacks, ZooModel):
    """The paper's encoder-decoder: `{"encoder_token_ids", "decoder_token_ids"}` -> logits.

    Incremental decoding (the protocol of `zoo.decoding`):
    `state = model.init_decode_state(encoder_token_ids, max_length)`, then
    `logits, state = model.decode_step(state, token_ids, index)` for `index = 0, 1, ...`.
    The state holds each layer's self-attention key/value cache, each layer's encoder
    keys/values projected once, and the encoder padding mask — every entry batch-first, so
    beam search can tile and reorder it along axis 0.
    """

    config_class = TransformerConfig

    BODY = (
        "encoder_embedding",
        "decoder_embedding",
        "encoder_blocks",
        "decoder_blocks",
        "encoder_norm",
        "decoder_norm",
    )

    def __init__(self, config, backbone=None, **kwargs):
        config = self.coerce_config(config)
        target_vocab = config.target_vocab_size or config.vocab_size
        # === Layers: the backbone's (reused, or made here), then the head ===
        if not reuse_layers(self, backbone, config):
            self.encoder_embedding = self._make_embedding(
                config, config.vocab_size, "encoder_embedding"
            )
            self.decoder_embedding = (
                self.encoder_embedding
                if config.share_embeddings
                else self._make_embedding(config, target_vocab, "decoder_embedding")
            )
            self.encoder_blocks = [
                TransformerEncoderBlock(**self._block_arguments(config), name=f"encoder_block_{i}")
                for i in range(config.num_layers)
            ]
            self.decoder_blocks = [
                TransformerDecoderBlock(**self._block_arguments(config), name=f"decoder_block_{i}")
                for i in range(config.decoder_layers)
            ]
            self.encoder_norm = self._make_final_norm(config, "encoder_norm")
            self.decoder_norm = self._make_final_norm(config, "decoder_norm")
        self.output_projection = self._make_output_projection(
            config, target_vocab, self.decoder_embedding
        )

        # === Functional model ===
        encoder_token_ids = token_ids_input("encoder_token_ids")
        decoder_token_ids = token_ids_input("decoder_token_ids")
        encoder_padding_mask = padding_mask_from_ids(encoder_token_ids)
        decoder_padding_mask = padding_mask_from_ids(decoder_token_ids)
        encoded = self._encode(self.encoder_embedding(encoder_token_ids), encoder_padding_mask)
        hidden = self.decoder_embedding(decoder_token_ids)
        for block in self.decoder_blocks:
            hidden = block(
                hidden,
                encoded,
                decoder_padding_mask=decoder_padding_mask,
                encoder_padding_mask=encoder_padding_mask,
            )
        body = self._final_decoder_norm(hidden)  # (B, T, d): the backbone's output
        logits = self._token_logits(body)
        inputs = {"encoder_token_ids": encoder_token_ids, "decoder_token_ids": decoder_token_ids}
        self.backbone = make_backbone(
            self, config, inputs, body, self.BODY, "transformer", backbone
        )
        super().__init__(
            inputs=inputs,
            outputs=logits,
            config=config,
            **kwargs,
        )

    def encode(self, encoder_token_ids, training=False):
        """Encoder output `(B, S, d)` and the source padding mask `(B, S)`."""
        padding_mask = padding_mask_from_ids(encoder_token_ids)
        embedded = self.encoder_embedding(encoder_token_ids, training=training)
        return self._encode(embedded, padding_mask, training=training), padding_mask

    def init_decode_state(self, encoder_token_ids, max_length):
        self._check_positions(max_length, f"max_length={max_length}")
        encoded, padding_mask = self.encode(encoder_token_ids)
        state = self._empty_self_attention_caches(ops.shape(encoder_token_ids)[0], max_length)
        for i, block in enumerate(self.decoder_blocks):
            # The encoder keys/values each layer attends to, projected once: (B, S, h, d/h).
            key, value = block.compute_cross_attention_cache(encoded)
            state[f"cross_attention_key_cache_{i}"] = key
            state[f"cross_attention_value_cache_{i}"] = value
        state["encoder_padding_mask"] = padding_mask
        return state

    def decode_step(self, state, token_ids, index):
        return self._cached_decoder_step(
            state, token_ids, index, encoder_padding_mask=state["encoder_padding_mask"]
        )

    def cross_attention_weights(self, encoder_token_ids, decoder_token_ids):
        """Per-layer encoder-decoder attention weights `(B, h, T, S)`, for heatmaps."""
        encoded, encoder_padding_mask = self.encode(encoder_token_ids)
        hidden = self.decoder_embedding(decoder_token_ids)
        weights = []
        for block in self.decoder_blocks:
            hidden, scores = block(
                hidden,
                encoded,
                decoder_padding_mask=padding_mask_from_ids(decoder_token_ids),
                encoder_padding_mask=encoder_padding_mask,
                return_attention_scores=True,
            )
            weights.append(scores["cross_attention"])
        return weights


@keras.saving.register_keras_serializable(package="zoo")
class TransformerLM(TransformerStacks, ZooModel):
    """A decoder-only, causal language model: `token_ids` -> next-token logits."""

    config_class = TransformerConfig

    BODY = ("decoder_embedding", "decoder_blocks", "decoder_norm")

    def __init__(self, config, backbone=None, **kwargs):
        config = self.coerce_config(config)
        # === Layers: the backbone's (reused, or made here), then the head ===
        if not reuse_layers(self, backbone, config):
            self.decoder_embedding = self._make_embedding(config, config.vocab_size, "embedding")
            self.decoder_blocks = [
                TransformerDecoderBlock(
                    **self._block_arguments(config), has_cross_attention=False, name=f"block_{i}"
                )
                for i in range(config.decoder_layers)
            ]
            self.decoder_norm = self._make_final_norm(config, "final_norm")
        self.output_projection = self._make_output_projection(
            config, config.vocab_size, self.decoder_embedding
        )

        # === Functional model ===
        token_ids = token_ids_input()
        padding_mask = padding_mask_from_ids(token_ids)
        hidden = self.decoder_embedding(token_ids)
        for block in self.decoder_blocks:
            hidden = block(hidden, decoder_padding_mask=padding_mask)
        body = self._final_decoder_norm(hidden)  # (B, T, d): the backbone's output
        self.backbone = make_backbone(
            self, config, token_ids, body, self.BODY, "transformer", backbone
        )
        super().__init__(
            inputs=token_ids, outputs=self._token_logits(body), config=config, **kwargs
        )

    def init_decode_state(self, token_ids, max_length):
        """Prefill: the prompt's keys and values in caches with room for `max_length` steps.

        Args:
            token_ids: prompt ids `(B, P)` int32, right-padded with 0, at least one real
                token per row (`L_b` of them in row `b`).
            max_length: the number of decode steps that will follow.

        Returns:
            The state: per layer, self-attention key and value caches `(B, P + max_length,
            h, d/h)` holding the prompt at positions `0 .. L_b - 1`, and `"start_positions"`
            `(B,)` int32 = `L_b - 1`, where the first step (each row's last prompt token,
            fed again at `index = 0`) goes; step `index` is at `start_positions + index`.
        """
        token_ids = ops.convert_to_tensor(token_ids, "int32")
        batch_size, prompt_width = ops.shape(token_ids)[0], ops.shape(token_ids)[1]
        if isinstance(prompt_width, int):
            self._check_positions(
                prompt_width + max_length, f"prompt width {prompt_width} + max_length={max_length}"
            )
        else:  # a dynamic width, inside a traced function: check what is known
            self._check_positions(max_length, f"max_length={max_length}")
        cache_length = prompt_width + max_length
        lengths = ops.sum(ops.cast(padding_mask_from_ids(token_ids), "int32"), axis=1)  # (B,)
        # `True` at the prompt's real tokens, over the whole cache: the keys' padding mask.
        key_padding_mask = ops.less(
            ops.arange(cache_length, dtype="int32")[None, :], lengths[:, None]
        )
        state = self._empty_self_attention_caches(batch_size, cache_length)
        # The whole prompt, as the full forward pass runs it: every real query sees real keys
        # only (right padding, causal mask), and no query is fully masked. The first step
        # writes the last real token's keys/values again (the protocol feeds it at index 0);
        # slots past it hold finite values from padding, hidden by the causal mask until a
        # step overwrites them.
        hidden = self.decoder_embedding(token_ids)  # (B, P, d)
        for i, block in enumerate(self.decoder_blocks):
            keys, values = f"self_attention_key_cache_{i}", f"self_attention_value_cache_{i}"
            hidden, (state[keys], state[values]) = block(
                hidden,
                decoder_padding_mask=key_padding_mask,
                self_attention_cache=(state[keys], state[values]),
                self_attention_cache_update_index=0,
            )
        state["start_positions"] = lengths - 1  # (B,)
        return state

    def decode_step(self, state, token_ids, index):
        """Row `b`'s token at position `state["start_positions"][b] + index`."""
        return self._cached_decoder_step(state, token_ids, state["start_positions"] + index)


@keras.saving.register_keras_serializable(package="zoo")
class TransformerEncoderModel(MaskedPositionsMixin, TransformerStacks, ZooModel):
    """An encoder-only, bidirectional Transformer with a task head.

    `mlm`: `token_ids` -> token logits `(B, T, V)`, or `{"token_ids", "mask_positions" (B, M)}`
    -> logits at those positions only, `(B, M, V)` (training: `zoo.models.masked_positions`);
    `classify`: `token_ids` -> class logits (mean over real tokens); `regress`: `features (B,
    T, num_features)` -> `(B, num_outputs)` values.
    """

    config_class = TransformerConfig

    def __init__(self, config, backbone=None, **kwargs):
        config = self.coerce_config(config)
        if config.task == "regress":
            body_layers = ("feature_projection", "position_encoding")
        else:
            body_layers = ("encoder_embedding",)
        body_layers += ("encoder_blocks", "encoder_norm")
        # === Layers: the backbone's (reused, or made here), then the head ===
        if not reuse_layers(self, backbone, config):
            if config.task == "regress":
                self.feature_projection = keras.layers.Dense(
                    config.hidden_dim, name="feature_projection"
                )
                self.position_encoding = SinusoidalPositionEncoding(name="position_encoding")
            else:
                self.encoder_embedding = self._make_embedding(
                    config, config.vocab_size, "embedding"
                )
            self.encoder_blocks = [
                TransformerEncoderBlock(**self._block_arguments(config), name=f"block_{i}")
                for i in range(config.num_layers)
            ]
            self.encoder_norm = self._make_final_norm(config, "final_norm")

        # === Functional model ===
        if config.task == "regress":
            inputs = features_input(config.num_features)
            padding_mask = feature_padding_mask(inputs)
            embedded = self.feature_projection(inputs)
            embedded = embedded + self.position_encoding(embedded)
        else:
            inputs = token_ids_input()
            padding_mask = padding_mask_from_ids(inputs)
            embedded = self.encoder_embedding(inputs)
        encoded = self._encode(embedded, padding_mask)  # (B, T, d): the backbone's output
        self.backbone = make_backbone(
            self, config, inputs, encoded, body_layers, "transformer", backbone
        )
        if config.task == "mlm":
            self.output_projection = self._make_output_projection(
                config, config.vocab_size, self.encoder_embedding
            )
            outputs = self._token_logits(encoded)  # `_encode` applied the final norm
        else:
            pooled = keras.layers.GlobalAveragePooling1D(name="pool")(encoded, mask=padding_mask)
            outputs = to_float32(pooled_head(config, pooled))
        super().__init__(inputs=inputs, outputs=outputs, config=config, **kwargs)

    def masked_token_logits(self, token_ids, mask_positions, training=None):
        """`mlm`: token logits `(B, M, V)` at `mask_positions (B, M)` of `token_ids (B, T)`,
        equal to the full pass's at those positions; the final norm and the projection run
        on the `M` gathered states only."""
        padding_mask = padding_mask_from_ids(token_ids)
        embedded = self.encoder_embedding(token_ids, training=training)
        encoded = self._encode(embedded, padding_mask, training=training, positions=mask_positions)
        return self._token_logits(encoded)  # (B, M, V)


@register(
    "transformer",
    config_class=TransformerConfig,
    tasks=("seq2seq", "lm", "mlm", "classify", "regress"),
    presets=TRANSFORMER_PRESETS,
    default_task="seq2seq",
    default_preset="base",
    tunings=TRANSFORMER_TUNINGS,
)
def build_transformer(config: TransformerConfig, backbone=None) -> keras.Model:
    """Vaswani et al. 2017, "Attention Is All You Need"; `base` and `big` are its Table 3."""
    if config.task == "seq2seq":
        return TransformerSeq2Seq(config, backbone, name="transformer_seq2seq")
    if config.task == "lm":
        return TransformerLM(config, backbone, name="transformer_lm")
    return TransformerEncoderModel(config, backbone, name=f"transformer_{config.task}")
