"""The recurrent families: SimpleRNN and LSTM stacks for every task.

`seq2seq` is the encoder-decoder of Sutskever et al. 2014 (the decoder starts from the
encoder's final states), with optional attention over the encoder states in the style of
Luong et al. 2015 (the decoder output attends, then `tanh(W [output; context])`), which keeps
the full pass and step-by-step decoding identical. `lm` is a unidirectional stack; `mlm` and
`classify` read both directions by default; `classify`/`regress` predict from the final state.
The recurrent layers are Keras's own (cuDNN on GPUs).

What the config adds to the plain stacks (GNMT, Wu et al. 2016, and README's measurements):
`bidirectional_encoder` (a seq2seq encoder's first layer reads both ways; its two directions
are summed, outputs and final states), `residual` (layers after the first add their input to
their output), `embedding_stddev` (Keras's embeddings start at ±0.05, so an RNN's inputs, and
its states, start 16 times smaller than a Transformer's `sqrt(d)`-scaled ones), and the gate
biases of `zoo.models.gate_bias` (`forget_bias`, `chrono_init`).
"""

from __future__ import annotations

import keras
from keras import ops

from zoo.layers import MultiHeadAttention, padding_mask_from_ids
from zoo.models.backbone import make_backbone, reuse_layers
from zoo.models.base import (
    ZooModel,
    feature_padding_mask,
    features_input,
    masked_pool,
    pooled_head,
    to_float32,
    token_ids_input,
)
from zoo.models.gate_bias import GateBias
from zoo.models.masked_positions import MaskedPositionsMixin, gather_positions
from zoo.models.recurrent_config import RecurrentConfig

CELL_TYPES = {
    "simple_rnn": keras.layers.SimpleRNN,
    "lstm": keras.layers.LSTM,
    "gru": keras.layers.GRU,
}
# Names of the state tensors each cell carries, in Keras's order.
STATE_NAMES = {"simple_rnn": ("hidden",), "lstm": ("hidden", "cell"), "gru": ("hidden",)}


class RecurrentModel(ZooModel):
    """Shared by the recurrent task models: the layers and the passes over them."""

    config_class = RecurrentConfig

    def _prepare(self, config, cell_type):
        """Record what to build; runs first in each subclass's `__init__`."""
        if cell_type not in CELL_TYPES:
            raise ValueError(
                f"Unknown cell_type {cell_type!r}; valid: {', '.join(sorted(CELL_TYPES))}."
            )
        self.cell_type = cell_type
        self.config = self.coerce_config(config)
        gates = (self.config.forget_bias, self.config.chrono_init)
        if cell_type == "simple_rnn" and gates != (None, None):
            raise ValueError(
                "A simple_rnn has no gates: forget_bias and chrono_init set the gate biases of "
                "'lstm' and 'gru'. Leave them None for simple_rnn."
            )
        return self.config

    def _recurrent_layer(self, name, bidirectional=False, merge_mode="concat"):
        config = self.config
        options = {}
        if config.forget_bias is not None or config.chrono_init is not None:
            options["bias_initializer"] = GateBias(
                self.cell_type, forget_bias=config.forget_bias, chrono_init=config.chrono_init
            )
            if self.cell_type == "lstm":
                options["unit_forget_bias"] = False  # the initializer sets the forget gate
        layer = CELL_TYPES[self.cell_type](
            config.hidden_dim,
            return_sequences=True,
            return_state=True,
            recurrent_initializer=config.recurrent_initializer,
            name=name,
            **options,
        )
        if bidirectional:
            return keras.layers.Bidirectional(
                layer, merge_mode=merge_mode, name=f"bidirectional_{name}"
            )
        return layer

    def _embedding(self, vocab_size, name):
        stddev = self.config.embedding_stddev
        return keras.layers.ReversibleEmbedding(
            vocab_size,
            self.config.hidden_dim,
            tie_weights=True,
            embeddings_initializer=(
                "uniform" if stddev is None else keras.initializers.RandomNormal(stddev=stddev)
            ),
            name=name,
        )

    def _output_projection(self, vocab_size, embedding):
        if self.config.share_embeddings:
            return lambda hidden: embedding(hidden, reverse=True)
        dense = keras.layers.Dense(vocab_size, name="logits")
        self.output_dense = dense
        return dense

    def _run_stack(self, layers, x, mask=None, initial_states=None, training=None):
        """Run stacked recurrent layers; returns the last outputs and each layer's states."""
        all_states = []
        for index, layer in enumerate(layers):
            initial_state = None if initial_states is None else initial_states[index]
            outputs, *states = layer(x, mask=mask, initial_state=initial_state, training=training)
            all_states.append(list(states))
            outputs = self.dropout_layer(outputs, training=training)
            # Residual connections (GNMT): from the second layer on, inputs and outputs have
            # the same width.
            x = x + outputs if self.config.residual and index > 0 else outputs
        # Masks travel explicitly in zoo; drop the implicit Keras mask the RNN attached, which
        # layers without mask support (the attention's projections) would warn about.
        return ops.copy(x), all_states

    def get_config(self):
        config = super().get_config()
        config["cell_type"] = self.cell_type
        return config


class RecurrentDecoderMixin:
    """Incremental decoding over the decoder stack: states carried from step to step."""

    def _state_from_layers(self, layer_states):
        """[[h, c] per layer] -> {"hidden": (B, L, H), "cell": (B, L, H)}."""
        names = STATE_NAMES[self.cell_type]
        return {
            name: ops.stack([states[i] for states in layer_states], axis=1)
            for i, name in enumerate(names)
        }

    def _layers_from_state(self, state):
        names = STATE_NAMES[self.cell_type]
        return [
            [state[name][:, index] for name in names] for index in range(len(self.decoder_layers))
        ]

    def _head(self, hidden, encoder_outputs=None, encoder_padding_mask=None):
        """Decoder outputs -> token logits; a seq2seq model with attention overrides it."""
        return to_float32(self.output_projection(hidden))

    def decode_step(self, state, token_ids, index):
        """`(B,)` ids -> `(B, V)` logits; `index` is unused: the state knows the position."""
        hidden = self.decoder_embedding(token_ids[:, None])  # (B, 1, H)
        hidden, layer_states = self._run_stack(
            self.decoder_layers, hidden, initial_states=self._layers_from_state(state)
        )
        logits = self._head(hidden, state.get("encoder_outputs"), state.get("encoder_padding_mask"))
        return logits[:, 0], dict(state, **self._state_from_layers(layer_states))


@keras.saving.register_keras_serializable(package="zoo")
class RecurrentSeq2Seq(RecurrentDecoderMixin, RecurrentModel):
    """Encoder-decoder RNN: `{"encoder_token_ids", "decoder_token_ids"}` -> target logits."""

    def __init__(self, config, cell_type="lstm", backbone=None, **kwargs):
        config = self._prepare(config, cell_type)
        target_vocab = config.target_vocab_size or config.vocab_size
        body_layers = (
            "encoder_embedding",
            "decoder_embedding",
            "dropout_layer",
            "encoder_layers",
            "decoder_layers",
            "attention",
        ) + (("attention_combine",) if config.use_attention else ())
        # === Layers: the backbone's (reused, or made here), then the head ===
        if not reuse_layers(self, backbone, config):
            self.encoder_embedding = self._embedding(config.vocab_size, "encoder_embedding")
            self.decoder_embedding = (
                self.encoder_embedding
                if config.share_embeddings
                else self._embedding(target_vocab, "decoder_embedding")
            )
            self.dropout_layer = keras.layers.Dropout(config.dropout)
            # GNMT: the first encoder layer reads both ways; summing the directions keeps the
            # width (and the decoder's initial states) at hidden_dim.
            self.encoder_layers = [
                self._recurrent_layer(
                    f"encoder_{i}",
                    bidirectional=config.bidirectional_encoder and i == 0,
                    merge_mode="sum",
                )
                for i in range(config.num_layers)
            ]
            self.decoder_layers = [
                self._recurrent_layer(f"decoder_{i}") for i in range(config.num_layers)
            ]
            self.attention = None
            if config.use_attention:
                self.attention = MultiHeadAttention(
                    config.num_heads, cross_attention=True, name="attention"
                )
                self.attention_combine = keras.layers.Dense(
                    config.hidden_dim, activation="tanh", name="attention_combine"
                )
        self.output_projection = self._output_projection(target_vocab, self.decoder_embedding)

        # === Functional model ===
        encoder_token_ids = token_ids_input("encoder_token_ids")
        decoder_token_ids = token_ids_input("decoder_token_ids")
        encoder_padding_mask = padding_mask_from_ids(encoder_token_ids)
        encoder_outputs, encoder_states = self._encode_ids(encoder_token_ids, encoder_padding_mask)
        hidden = self.dropout_layer(self.decoder_embedding(decoder_token_ids))
        hidden, _ = self._run_stack(
            self.decoder_layers,
            hidden,
            mask=padding_mask_from_ids(decoder_token_ids),
            initial_states=encoder_states,
        )
        body = self._attend(hidden, encoder_outputs, encoder_padding_mask)  # the backbone's
        logits = to_float32(self.output_projection(body))
        inputs = {"encoder_token_ids": encoder_token_ids, "decoder_token_ids": decoder_token_ids}
        self.backbone = make_backbone(self, config, inputs, body, body_layers, cell_type, backbone)
        super().__init__(
            inputs=inputs,
            outputs=logits,
            config=config,
            **kwargs,
        )

    def _attend(self, hidden, encoder_outputs=None, encoder_padding_mask=None):
        """Luong: attend, then `tanh(W [output; context])`; the outputs alone without
        attention. Part of the backbone: the head reads what it returns."""
        if self.attention is None:
            return hidden
        context = self.attention(hidden, encoder_outputs, key_padding_mask=encoder_padding_mask)
        return self.attention_combine(ops.concatenate([hidden, context], axis=-1))

    def _head(self, hidden, encoder_outputs=None, encoder_padding_mask=None):
        return super()._head(self._attend(hidden, encoder_outputs, encoder_padding_mask))

    def _encode_ids(self, encoder_token_ids, padding_mask, training=None):
        embedded = self.dropout_layer(self.encoder_embedding(encoder_token_ids), training=training)
        outputs, states = self._run_stack(
            self.encoder_layers, embedded, mask=padding_mask, training=training
        )
        if self.config.bidirectional_encoder:  # [forward states, backward states] -> summed
            per_direction = len(STATE_NAMES[self.cell_type])
            first = states[0]
            states[0] = [a + b for a, b in zip(first[:per_direction], first[per_direction:])]
        return outputs, states

    def cross_attention_weights(self, encoder_token_ids, decoder_token_ids):
        """The decoder's attention over encoder states, `[(B, h, T, S)]`, for heatmaps; an
        empty list when the model has no attention (`use_attention=False`)."""
        if self.attention is None:
            return []
        padding_mask = padding_mask_from_ids(encoder_token_ids)
        encoder_outputs, encoder_states = self._encode_ids(encoder_token_ids, padding_mask)
        hidden = self.decoder_embedding(decoder_token_ids)
        hidden, _ = self._run_stack(
            self.decoder_layers,
            hidden,
            mask=padding_mask_from_ids(decoder_token_ids),
            initial_states=encoder_states,
        )
        _, weights = self.attention(
            hidden, encoder_outputs, key_padding_mask=padding_mask, return_attention_scores=True
        )
        return [weights]

    def init_decode_state(self, encoder_token_ids, max_length):
        """Encoder final states start the decoder; `max_length` is unused (no cache)."""
        padding_mask = padding_mask_from_ids(encoder_token_ids)
        encoder_outputs, encoder_states = self._encode_ids(encoder_token_ids, padding_mask)
        state = self._state_from_layers(encoder_states)
        if self.attention is not None:
            state["encoder_outputs"] = encoder_outputs
            state["encoder_padding_mask"] = padding_mask
        return state


@keras.saving.register_keras_serializable(package="zoo")
class RecurrentLM(RecurrentDecoderMixin, RecurrentModel):
    """A unidirectional recurrent language model: `token_ids` -> next-token logits."""

    BODY = ("decoder_embedding", "dropout_layer", "decoder_layers")

    def __init__(self, config, cell_type="lstm", backbone=None, **kwargs):
        config = self._prepare(config, cell_type)
        # === Layers: the backbone's (reused, or made here), then the head ===
        if not reuse_layers(self, backbone, config):
            self.decoder_embedding = self._embedding(config.vocab_size, "embedding")
            self.dropout_layer = keras.layers.Dropout(config.dropout)
            self.decoder_layers = [
                self._recurrent_layer(f"layer_{i}") for i in range(config.num_layers)
            ]
        self.output_projection = self._output_projection(config.vocab_size, self.decoder_embedding)

        # === Functional model ===
        token_ids = token_ids_input()
        hidden = self.dropout_layer(self.decoder_embedding(token_ids))
        hidden, _ = self._run_stack(
            self.decoder_layers, hidden, mask=padding_mask_from_ids(token_ids)
        )
        self.backbone = make_backbone(
            self, config, token_ids, hidden, self.BODY, cell_type, backbone
        )
        super().__init__(inputs=token_ids, outputs=self._head(hidden), config=config, **kwargs)

    def init_decode_state(self, token_ids, max_length):
        """Prefill: each layer's states after all of row `b`'s prompt but its last token.

        Args:
            token_ids: prompt ids `(B, P)` int32, right-padded with 0, at least one real
                token per row.
            max_length: unused (the state has no length axis).

        Returns:
            `{"hidden": (B, num_layers, H)}` (and `"cell"` for an LSTM). The first step feeds
            each row's last prompt token; a one-token prompt leaves the zero initial states.
        """
        token_ids = ops.convert_to_tensor(token_ids, "int32")
        lengths = ops.sum(ops.cast(padding_mask_from_ids(token_ids), "int32"), axis=1)  # (B,)
        positions = ops.arange(ops.shape(token_ids)[1], dtype="int32")
        # Masked steps carry the states through, so each row stops before its last token.
        before_last = ops.less(positions[None, :], lengths[:, None] - 1)  # (B, P)
        hidden = self.dropout_layer(self.decoder_embedding(token_ids))
        _, layer_states = self._run_stack(self.decoder_layers, hidden, mask=before_last)
        return self._state_from_layers(layer_states)


@keras.saving.register_keras_serializable(package="zoo")
class RecurrentEncoderModel(MaskedPositionsMixin, RecurrentModel):
    """A (bi)directional recurrent stack with a task head.

    `mlm`: `token_ids` -> token logits at every position `(B, T, V)`, or `{"token_ids",
    "mask_positions" (B, M)}` -> logits at those positions only, `(B, M, V)` (training:
    `zoo.models.masked_positions`); `classify`: `token_ids` -> class logits; `regress`:
    `features (B, T, num_features)` -> `(B, num_outputs)`. Classification and regression read
    the final state of each direction (at the last real step), or, with
    `pooling="max"`/`"mean"`, the max/mean of the last layer's outputs over the real steps.
    """

    def __init__(self, config, cell_type="lstm", backbone=None, **kwargs):
        config = self._prepare(config, cell_type)
        bidirectional = config.is_bidirectional
        body_layers = (
            "feature_projection" if config.task == "regress" else "encoder_embedding",
            "dropout_layer",
            "encoder_layers",
        )
        # === Layers: the backbone's (reused, or made here), then the head ===
        if not reuse_layers(self, backbone, config):
            if config.task == "regress":
                self.feature_projection = keras.layers.Dense(config.hidden_dim, name="projection")
            else:
                self.encoder_embedding = self._embedding(config.vocab_size, "embedding")
            self.dropout_layer = keras.layers.Dropout(config.dropout)
            self.encoder_layers = [
                self._recurrent_layer(f"layer_{i}", bidirectional) for i in range(config.num_layers)
            ]

        # === Functional model ===
        if config.task == "regress":
            inputs = features_input(config.num_features)
            padding_mask = feature_padding_mask(inputs)
            embedded = self.feature_projection(inputs)
        else:
            inputs = token_ids_input()
            padding_mask = padding_mask_from_ids(inputs)
            embedded = self.encoder_embedding(inputs)
        embedded = self.dropout_layer(embedded)
        hidden, states = self._run_stack(self.encoder_layers, embedded, mask=padding_mask)
        # Final hidden state of each direction: Keras returns the forward states, then the
        # backward ones; the hidden state is the first of each group.
        per_direction = len(STATE_NAMES[cell_type])
        final = states[-1][0::per_direction]
        pooled = final[0] if len(final) == 1 else ops.concatenate(final, axis=-1)
        if config.pooling != "final":
            pooled = masked_pool(hidden, padding_mask, config.pooling)
        self.backbone = make_backbone(
            self,
            config,
            inputs,
            {"sequence_output": hidden, "pooled_output": pooled},
            body_layers,
            cell_type,
            backbone,
        )
        if config.task == "mlm":
            # Tied to the embedding, whose width the bidirectional states (2 x hidden_dim)
            # are brought back to first.
            self.to_embedding = None
            if config.share_embeddings:
                self.to_embedding = keras.layers.Dense(config.hidden_dim, name="to_embedding")
            self.output_projection = self._output_projection(
                config.vocab_size, self.encoder_embedding
            )
            outputs = self._token_logits(hidden)
        else:
            outputs = to_float32(pooled_head(config, pooled))
        super().__init__(inputs=inputs, outputs=outputs, config=config, **kwargs)

    def _token_logits(self, hidden):
        """`mlm`'s head: hidden states `(B, ..., H)` -> token logits `(B, ..., V)`, float32."""
        if self.to_embedding is not None:
            hidden = self.to_embedding(hidden)
        return to_float32(self.output_projection(hidden))

    def masked_token_logits(self, token_ids, mask_positions, training=None):
        """`mlm`: token logits `(B, M, V)` at `mask_positions (B, M)` of `token_ids (B, T)`,
        equal to the full pass's at those positions; the head runs on the `M` gathered
        states only."""
        padding_mask = padding_mask_from_ids(token_ids)
        embedded = self.dropout_layer(self.encoder_embedding(token_ids), training=training)
        hidden, _ = self._run_stack(
            self.encoder_layers, embedded, mask=padding_mask, training=training
        )
        return self._token_logits(gather_positions(hidden, mask_positions))  # (B, M, V)


def build_recurrent(config: RecurrentConfig, cell_type: str, backbone=None) -> keras.Model:
    name = f"{cell_type}_{config.task}"
    if config.task == "seq2seq":
        return RecurrentSeq2Seq(config, cell_type, backbone, name=name)
    if config.task == "lm":
        return RecurrentLM(config, cell_type, backbone, name=name)
    return RecurrentEncoderModel(config, cell_type, backbone, name=name)
