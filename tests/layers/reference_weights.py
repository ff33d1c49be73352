"""Copy weights between zoo's layers and their keras / keras-nlp counterparts."""

import numpy as np


def _weights(dense):
    return [np.asarray(w) for w in (dense.kernel, dense.bias)]


def copy_mha_from_keras(keras_mha, zoo_mha):
    """Give `zoo_mha` the weights of a built `keras.layers.MultiHeadAttention`."""
    query_kernel, query_bias = _weights(keras_mha._query_dense)  # (d, h, hd), (h, hd)
    key_kernel, key_bias = _weights(keras_mha._key_dense)
    value_kernel, value_bias = _weights(keras_mha._value_dense)
    if zoo_mha.cross_attention:
        zoo_mha.query_dense.set_weights([query_kernel, query_bias])
        zoo_mha.key_value_dense.set_weights(
            [np.stack([key_kernel, value_kernel], 1), np.stack([key_bias, value_bias], 0)]
        )
    else:
        zoo_mha.query_key_value_dense.set_weights(
            [
                np.stack([query_kernel, key_kernel, value_kernel], 1),
                np.stack([query_bias, key_bias, value_bias], 0),
            ]
        )
    zoo_mha.output_dense.set_weights(_weights(keras_mha._output_dense))


def copy_encoder_from_keras_nlp(reference, block):
    """Give a `TransformerEncoderBlock` the weights of a `keras_nlp.layers.TransformerEncoder`."""
    copy_mha_from_keras(reference._self_attention_layer, block.self_attention)
    block.self_attention_layer_norm.set_weights(reference._self_attention_layer_norm.get_weights())
    block.feed_forward_layer_norm.set_weights(reference._feedforward_layer_norm.get_weights())
    block.feed_forward.intermediate_dense.set_weights(
        reference._feedforward_intermediate_dense.get_weights()
    )
    block.feed_forward.output_dense.set_weights(reference._feedforward_output_dense.get_weights())
