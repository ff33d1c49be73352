"""What the encoder and decoder blocks share: their arguments and the residual sub-layer."""

from __future__ import annotations

import keras


class ResidualBlock(keras.layers.Layer):
    """Base of the Transformer blocks: constructor arguments and `Add & Norm` (§3.1).

    Every sub-layer is wrapped as `LayerNorm(x + Dropout(Sublayer(x)))` (post-norm, the
    paper's) or `x + Dropout(Sublayer(LayerNorm(x)))` (pre-norm, `norm_first=True`).
    """

    def __init__(
        self,
        intermediate_dim: int,
        num_heads: int,
        dropout: float = 0.0,
        activation="relu",
        layer_norm_epsilon: float = 1e-5,
        norm_first: bool = False,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.intermediate_dim = intermediate_dim
        self.num_heads = num_heads
        self.dropout = dropout
        self.activation = keras.activations.get(activation)
        self.layer_norm_epsilon = layer_norm_epsilon
        self.norm_first = norm_first
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)
        self.supports_masking = True

    def _initializers(self):
        return dict(
            kernel_initializer=self.kernel_initializer,
            bias_initializer=self.bias_initializer,
            dtype=self.dtype_policy,
        )

    def _layer_norm(self, name, inputs_shape):
        layer_norm = keras.layers.LayerNormalization(
            epsilon=self.layer_norm_epsilon, name=name, dtype=self.dtype_policy
        )
        layer_norm.build(inputs_shape)
        return layer_norm

    def _residual(self, x, sublayer, layer_norm, dropout_layer, training):
        """`Add & Norm` around `sublayer`; returns the new `x` and what `sublayer` returned."""
        residual = x
        if self.norm_first:
            x = layer_norm(x)
        outputs = sublayer(x)
        main = outputs[0] if isinstance(outputs, tuple) else outputs
        x = residual + dropout_layer(main, training=training)
        if not self.norm_first:
            x = layer_norm(x)
        return x, outputs

    def compute_output_shape(self, inputs_shape, *args, **kwargs):
        return inputs_shape

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "intermediate_dim": self.intermediate_dim,
                "num_heads": self.num_heads,
                "dropout": self.dropout,
                "activation": keras.activations.serialize(self.activation),
                "layer_norm_epsilon": self.layer_norm_epsilon,
                "norm_first": self.norm_first,
                "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
                "bias_initializer": keras.initializers.serialize(self.bias_initializer),
            }
        )
        return config
