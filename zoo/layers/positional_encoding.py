"""Position information: the paper's sinusoidal encoding and a learned position embedding."""

from __future__ import annotations

import math

import keras
from keras import ops

from zoo.layers.attention_masks import is_per_row


@keras.saving.register_keras_serializable(package="zoo")
class SinusoidalPositionEncoding(keras.layers.Layer):
    """The fixed sinusoidal encoding of "Attention Is All You Need" (§3.5).

    `PE(pos, 2i) = sin(pos / 10000^(2i / d))` and `PE(pos, 2i + 1) = cos(pos / 10000^(2i / d))`
    for `d = hidden_dim`. It has no weights and works for any sequence length.

    Args:
        max_wavelength: the base of the geometric progression of wavelengths (10000).

    Call arguments:
        inputs: a tensor `(batch, length, hidden_dim)`; only its shape is used.
        start_index: the position of the first step, for one-token-at-a-time decoding:
            the encoding from `start_index = k` equals rows `k...` of the full encoding.
            A scalar, or a `(batch,)` int vector of one start per row.

    Returns:
        The encoding, shape `(1, length, hidden_dim)` (`(batch, length, hidden_dim)` for a
        per-row `start_index`), broadcastable onto `inputs`.

    Example:
    >>> encoding = SinusoidalPositionEncoding()(keras.ops.zeros((2, 5, 8)))
    >>> tuple(encoding.shape)
    (1, 5, 8)
    """

    def __init__(self, max_wavelength: float = 10000.0, **kwargs):
        super().__init__(**kwargs)
        self.max_wavelength = max_wavelength
        self.built = True

    def call(self, inputs, start_index=0):
        shape = ops.shape(inputs)
        length, hidden_dim = shape[1], shape[2]
        if is_per_row(start_index):  # (B, T)
            positions = ops.cast(ops.arange(length), "float32")[None, :]
            positions = positions + ops.cast(start_index, "float32")[:, None]
        else:  # (1, T)
            positions = ops.cast(ops.arange(length), "float32") + ops.cast(start_index, "float32")
            positions = positions[None, :]
        # Pair i of dimensions (2i, 2i + 1) shares the frequency 1 / max_wavelength^(2i / d).
        dims = ops.cast(ops.arange(hidden_dim), "float32")
        pair_index = ops.floor(dims / 2.0)
        inverse_frequency = ops.exp(
            -(2.0 * pair_index / ops.cast(hidden_dim, "float32")) * math.log(self.max_wavelength)
        )
        angles = positions[:, :, None] * inverse_frequency[None, None, :]  # (1 or B, T, d)
        is_even = ops.equal(ops.mod(ops.arange(hidden_dim), 2), 0)
        encoding = ops.where(is_even[None, None, :], ops.sin(angles), ops.cos(angles))
        return ops.cast(encoding, self.compute_dtype)

    def compute_output_shape(self, input_shape):
        return (1, input_shape[1], input_shape[2])

    def get_config(self):
        config = super().get_config()
        config.update({"max_wavelength": self.max_wavelength})
        return config


@keras.saving.register_keras_serializable(package="zoo")
class PositionEmbedding(keras.layers.Layer):
    """A learned embedding per position, up to `sequence_length` positions.

    Args:
        sequence_length: the largest number of positions the layer can encode.
        initializer: initializer of the `(sequence_length, hidden_dim)` table.

    Call arguments:
        inputs: a tensor `(batch, length, hidden_dim)`; only its shape is used.
        start_index: position of the first step (for cached decoding); a scalar, or a
            `(batch,)` int vector of one start per row.

    Returns:
        `(1, length, hidden_dim)` position embeddings (`(batch, length, hidden_dim)` for a
        per-row `start_index`).
    """

    def __init__(self, sequence_length: int, initializer="glorot_uniform", **kwargs):
        super().__init__(**kwargs)
        if sequence_length is None or int(sequence_length) <= 0:
            raise ValueError(
                f"`sequence_length` must be a positive integer, received {sequence_length!r}."
            )
        self.sequence_length = int(sequence_length)
        self.initializer = keras.initializers.get(initializer)

    def build(self, inputs_shape):
        hidden_dim = inputs_shape[-1]
        self.position_embeddings = self.add_weight(
            name="embeddings",
            shape=(self.sequence_length, hidden_dim),
            initializer=self.initializer,
        )
        self.built = True

    def call(self, inputs, start_index=0):
        length = ops.shape(inputs)[1]
        table = ops.convert_to_tensor(self.position_embeddings)
        if is_per_row(start_index):
            positions = ops.cast(start_index, "int32")[:, None] + ops.arange(length, dtype="int32")
            return ops.cast(ops.take(table, positions, axis=0), self.compute_dtype)  # (B, T, d)
        rows = ops.slice(table, (start_index, 0), (length, ops.shape(table)[1]))
        return ops.cast(rows[None, :, :], self.compute_dtype)

    def compute_output_shape(self, input_shape):
        return (1, input_shape[1], input_shape[2])

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "sequence_length": self.sequence_length,
                "initializer": keras.initializers.serialize(self.initializer),
            }
        )
        return config
