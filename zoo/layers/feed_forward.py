"""Position-wise feed-forward network (§3.3): `FFN(x) = max(0, x W1 + b1) W2 + b2`."""

from __future__ import annotations

import keras


@keras.saving.register_keras_serializable(package="zoo")
class PositionwiseFeedForward(keras.layers.Layer):
    """Two dense layers applied to every position alike, with an activation between.

    Args:
        intermediate_dim: the inner width `d_ff` (2048 in the base model).
        activation: the inner activation (`"relu"` in the paper).
        dropout: dropout on the inner activations (0 in the paper; the block applies the
            paper's dropout to this layer's output).
        kernel_initializer, bias_initializer: for both dense layers.

    Call arguments:
        inputs: `(batch, length, hidden_dim)`.

    Returns:
        `(batch, length, hidden_dim)`.
    """

    def __init__(
        self,
        intermediate_dim: int,
        activation="relu",
        dropout: float = 0.0,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.intermediate_dim = intermediate_dim
        self.activation = keras.activations.get(activation)
        self.dropout = dropout
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)
        self.supports_masking = True

    def build(self, inputs_shape):
        hidden_dim = inputs_shape[-1]
        dense = dict(
            kernel_initializer=self.kernel_initializer,
            bias_initializer=self.bias_initializer,
            dtype=self.dtype_policy,
        )
        self.intermediate_dense = keras.layers.Dense(
            self.intermediate_dim, activation=self.activation, name="intermediate_dense", **dense
        )
        self.intermediate_dense.build(inputs_shape)
        self.dropout_layer = keras.layers.Dropout(self.dropout, dtype=self.dtype_policy)
        self.output_dense = keras.layers.Dense(hidden_dim, name="output_dense", **dense)
        self.output_dense.build(tuple(inputs_shape[:-1]) + (self.intermediate_dim,))
        self.built = True

    def call(self, inputs, training=None):
        hidden = self.intermediate_dense(inputs)  # (B, T, d_ff)
        hidden = self.dropout_layer(hidden, training=training)
        return self.output_dense(hidden)  # (B, T, d)

    def compute_output_shape(self, inputs_shape):
        return inputs_shape

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "intermediate_dim": self.intermediate_dim,
                "activation": keras.activations.serialize(self.activation),
                "dropout": self.dropout,
                "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
                "bias_initializer": keras.initializers.serialize(self.bias_initializer),
            }
        )
        return config
