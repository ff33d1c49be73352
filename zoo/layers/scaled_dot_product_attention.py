"""Scaled dot-product attention, `softmax(Q Kᵀ / sqrt(d_k)) V` (the paper's equation 1)."""

from __future__ import annotations

import math

from keras import ops


def scaled_dot_product_attention(
    query, key, value, attention_mask=None, dropout_layer=None, training=None
):
    """Attention that also returns its weights — the picture a user wants to look at.

    Args:
        query: `(..., Tq, d_k)`.
        key: `(..., Tk, d_k)`.
        value: `(..., Tk, d_v)`.
        attention_mask: boolean, broadcastable to `(..., Tq, Tk)`; `True` where a query may
            attend to a key.
        dropout_layer: optional `keras.layers.Dropout` applied to the weights (§5.4 applies
            dropout to sub-layer outputs; attention dropout is the common extension).
        training: passed to `dropout_layer`.

    Returns:
        `(output (..., Tq, d_v), weights (..., Tq, Tk))`.

    Example (the worked example: one query matching the second of four keys):
    >>> import numpy as np
    >>> keys = np.eye(4, dtype="float32") * 10.0
    >>> output, weights = scaled_dot_product_attention(keys[1:2] , keys, np.arange(8.0,
    ...     dtype="float32").reshape(4, 2))
    >>> np.round(np.asarray(weights), 3).tolist()
    [[0.0, 1.0, 0.0, 0.0]]
    """
    depth = ops.shape(query)[-1]
    scores = ops.matmul(query, ops.swapaxes(key, -1, -2))  # (..., Tq, Tk)
    # Softmax in float32: bfloat16 logits lose the small differences that decide the weights.
    scores = ops.cast(scores, "float32") / math.sqrt(float(depth))
    if attention_mask is not None:
        scores = ops.where(attention_mask, scores, ops.cast(-1e9, "float32"))
    weights = ops.softmax(scores, axis=-1)
    weights = ops.cast(weights, value.dtype)
    if dropout_layer is not None:
        weights = dropout_layer(weights, training=training)
    return ops.matmul(weights, value), weights
