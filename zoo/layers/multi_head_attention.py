"""Multi-head attention (§3.2.2): `h` heads of `hidden_dim / h`, self or cross, with a cache."""

from __future__ import annotations

import math

import keras
from keras import ops

from zoo.layers.attention_masks import compute_attention_mask, is_per_row
from zoo.layers.scaled_dot_product_attention import scaled_dot_product_attention


@keras.saving.register_keras_serializable(package="zoo")
class MultiHeadAttention(keras.layers.Layer):
    """`MultiHead(Q, K, V) = Concat(head_1, ..., head_h) W_O`, `head_i = Attention(Q W_Qi, ...)`.

    Self-attention (the default) projects queries, keys and values with one fused
    `(d, 3, h, d/h)` kernel — one matmul instead of three. Cross-attention
    (`cross_attention=True`, decided at construction because it decides the weights) projects
    queries from the decoder and keys/values, fused, from the encoder output.

    The attention itself goes through `keras.ops.dot_product_attention`, which maps to fused
    kernels (cuDNN / XLA) on each backend. When the weights are asked for
    (`return_attention_scores=True`) or attention dropout is active, the explicit
    `scaled_dot_product_attention` computes them instead; both give the same output.

    Args:
        num_heads: number of heads `h`.
        hidden_dim: the model width `d_model`; defaults to the query's last dimension. Must be
            divisible by `num_heads`; each head has `hidden_dim // num_heads` dimensions.
        cross_attention: keys and values come from a second input (the encoder output).
        dropout: dropout on the attention weights.
        use_bias: whether the projections have biases.
        kernel_initializer, bias_initializer: for the projections.

    Call arguments:
        query: `(batch, Tq, d)`.
        key_value: `(batch, Tk, d)`, the encoder output; required for cross-attention (unless
            `cache` holds its projections), not allowed for self-attention.
        key_padding_mask: `(batch, Tk)` bool, `True` at real keys (for cross-attention: the
            encoder's padding mask).
        use_causal_mask: mask the future (decoder self-attention).
        attention_mask: an extra `(batch, Tq, Tk)` bool mask, ANDed with the others.
        cache: self-attention: the keys and values of the positions decoded so far, updated
            at `cache_update_index` — a `(key, value)` pair of `(batch, max_length, h, d/h)`
            tensors, or both stacked as `(batch, 2, max_length, h, d/h)` (keras-hub's
            layout); the updated cache comes back in the form it came in. The pair is
            cheaper: a step updates each tensor without unstacking and restacking them.
            Cross-attention: the projected encoder keys/values from
            `compute_key_value_cache` (or stacked likewise), reused every step. A
            cross-attention cache (or `key_value`) may hold one row per `K` query rows —
            `query` rows `k * K ... k * K + K - 1` attend to row `k` (beam search's beams of
            one sentence share its encoder keys and values).
        cache_update_index: the position of the first query in the cache (self-attention):
            a scalar, or a `(batch,)` int vector of one position per row (prompts of
            different lengths); the causal mask then also starts per row.
        return_attention_scores: also return the weights `(batch, h, Tq, Tk)`.
        training: whether dropout is active.

    Returns:
        `output`, then the weights if `return_attention_scores`, then the cache if one was
        passed — a tuple when more than one.

    Example:
    >>> layer = MultiHeadAttention(num_heads=2)
    >>> tuple(layer(keras.ops.ones((1, 3, 4))).shape)
    (1, 3, 4)
    """

    def __init__(
        self,
        num_heads: int,
        hidden_dim: int | None = None,
        cross_attention: bool = False,
        dropout: float = 0.0,
        use_bias: bool = True,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        **kwargs,
    ):
        super().__init__(**kwargs)
        if int(num_heads) <= 0:
            raise ValueError(f"`num_heads` must be a positive integer, received {num_heads!r}.")
        if hidden_dim is not None:
            check_heads_divide(hidden_dim, num_heads)
        self.num_heads = num_heads
        self.hidden_dim = hidden_dim
        self.cross_attention = cross_attention
        self.dropout = dropout
        self.use_bias = use_bias
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)
        self.supports_masking = True

    def _dense(self, equation, output_shape, bias_axes, name):
        return keras.layers.EinsumDense(
            equation,
            output_shape=output_shape,
            bias_axes=bias_axes if self.use_bias else None,
            kernel_initializer=self.kernel_initializer,
            bias_initializer=self.bias_initializer,
            dtype=self.dtype_policy,
            name=name,
        )

    def _project(self, dense, inputs, input_axes=1):
        """`dense`'s projection as one 2-D matmul over the flattened leading axes.

        The `EinsumDense` layers hold the weights (their shapes and names are the layer's
        format); the product is computed here because TensorFlow runs a kernel broadcast
        over a batch as a batched matmul whose gradient materialises a per-example kernel
        gradient `(B, in, out)` and sums it — the slowest op of a CPU training step.
        """
        kernel = dense.kernel
        fan_in_shape = tuple(kernel.shape[:input_axes])
        out_shape = tuple(kernel.shape[input_axes:])
        fan_in, fan_out = math.prod(fan_in_shape), math.prod(out_shape)
        leading = ops.shape(inputs)[: len(inputs.shape) - input_axes]
        outputs = ops.matmul(
            ops.reshape(inputs, (-1, fan_in)),
            ops.cast(ops.reshape(kernel, (fan_in, fan_out)), inputs.dtype),
        )
        if dense.bias is not None:
            outputs = outputs + ops.cast(ops.reshape(dense.bias, (fan_out,)), outputs.dtype)
        return ops.reshape(outputs, tuple(leading) + out_shape)

    def build(self, query_shape, key_value_shape=None):
        model_dim = query_shape[-1]
        hidden_dim = self.hidden_dim or model_dim
        check_heads_divide(hidden_dim, self.num_heads, where=f"the query width of {self.name!r}")
        self.head_dim = hidden_dim // self.num_heads
        heads = (self.num_heads, self.head_dim)
        if self.cross_attention:
            self.query_dense = self._dense("btd,dnh->btnh", (None,) + heads, "nh", "query")
            self.query_dense.build(query_shape)
            self.key_value_dense = self._dense(
                "bsd,dxnh->bsxnh", (None, 2) + heads, "xnh", "key_value"
            )
            self.key_value_dense.build(key_value_shape or query_shape)
        else:
            self.query_key_value_dense = self._dense(
                "btd,dxnh->btxnh", (None, 3) + heads, "xnh", "query_key_value"
            )
            self.query_key_value_dense.build(query_shape)
        self.output_dense = self._dense("btnh,nhd->btd", (None, model_dim), "d", "output")
        self.output_dense.build(tuple(query_shape[:-1]) + heads)
        self.dropout_layer = keras.layers.Dropout(self.dropout, dtype=self.dtype_policy)
        self.built = True

    def compute_key_value_cache(self, key_value):
        """Project the encoder output once for cross-attention: a `(key, value)` pair of
        `(batch, Tk, h, d/h)` tensors."""
        if not self.cross_attention:
            raise ValueError("`compute_key_value_cache` is for cross-attention layers only.")
        key, value = ops.unstack(self._project(self.key_value_dense, key_value), 2, axis=2)
        return key, value

    def call(
        self,
        query,
        key_value=None,
        key_padding_mask=None,
        use_causal_mask=False,
        attention_mask=None,
        cache=None,
        cache_update_index=None,
        return_attention_scores=False,
        training=None,
    ):
        query_length = ops.shape(query)[1]
        start_index = 0
        # `unstack`, not `x[:, :, 0]`: the gradient of a strided slice writes each part into
        # a zero tensor the size of the whole; unstack's is one stack.
        if self.cross_attention:
            if cache is not None:
                key, value, _ = _split_cache(cache)
            elif key_value is None:
                raise ValueError(
                    "Cross-attention needs `key_value` (the encoder output) or a `cache` from "
                    "`compute_key_value_cache`."
                )
            else:
                key_values = self._project(self.key_value_dense, key_value)  # (B, S, 2, h, d/h)
                key, value = ops.unstack(key_values, 2, axis=2)
            query_heads = self._project(self.query_dense, query)  # (N, T, h, d/h)
            # Beam search keeps one copy of the encoder keys/values per sentence, not one per
            # beam: with `B` key rows for `N = B * K` query rows, fold the `K` consecutive
            # query rows of a sentence into its query axis, (N, T) -> (B, K * T).
            heads_shape = tuple(query_heads.shape[2:])
            query_heads = ops.reshape(query_heads, (ops.shape(key)[0], -1) + heads_shape)
            query_length = ops.shape(query_heads)[1]
        else:
            if key_value is not None:
                raise ValueError(
                    "This layer does self-attention and takes no `key_value`; build it with "
                    "`cross_attention=True` to attend to another sequence."
                )
            projected = self._project(self.query_key_value_dense, query)  # (B, T, 3, h, d/h)
            query_heads, key, value = ops.unstack(projected, 3, axis=2)
            if cache is not None:
                if cache_update_index is None:
                    raise ValueError("A self-attention `cache` needs `cache_update_index`.")
                key_cache, value_cache, stacked = _split_cache(cache)
                if is_per_row(cache_update_index):  # each row writes at its own position
                    key = _write_rows(key_cache, key, cache_update_index)
                    value = _write_rows(value_cache, value, cache_update_index)
                else:
                    start = [0, cache_update_index, 0, 0]
                    key = ops.slice_update(key_cache, start, key)  # (B, max_length, h, d/h)
                    value = ops.slice_update(value_cache, start, value)
                cache = ops.stack([key, value], axis=1) if stacked else (key, value)
                start_index = cache_update_index

        mask = compute_attention_mask(
            query_length,
            key_padding_mask=key_padding_mask,
            use_causal_mask=use_causal_mask,
            attention_mask=attention_mask,
            key_length=ops.shape(key)[1],
            start_index=start_index,
        )
        explicit = return_attention_scores or (training and self.dropout > 0)
        if explicit:
            # (B, h, T, d/h) layout for the explicit matmuls; mask broadcast over heads.
            output, scores = scaled_dot_product_attention(
                ops.transpose(query_heads, (0, 2, 1, 3)),
                ops.transpose(key, (0, 2, 1, 3)),
                ops.transpose(value, (0, 2, 1, 3)),
                attention_mask=None if mask is None else mask[:, None, :, :],
                dropout_layer=self.dropout_layer,
                training=training,
            )
            output = ops.transpose(output, (0, 2, 1, 3))  # (B, T, h, d/h)
        else:
            output = ops.dot_product_attention(
                query_heads,
                key,
                value,
                mask=None if mask is None else mask[:, None, :, :],
            )
        if self.cross_attention:  # unfold the beams: (B, K * T) -> (N, T)
            output = ops.reshape(output, (ops.shape(query)[0], -1) + heads_shape)
        output = self._project(self.output_dense, output, input_axes=2)  # (B, T, d)

        results = (output,)
        if return_attention_scores:
            results += (scores,)
        if cache is not None:
            results += (cache,)
        return results[0] if len(results) == 1 else results

    def compute_output_shape(self, query_shape, key_value_shape=None):
        return query_shape

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "num_heads": self.num_heads,
                "hidden_dim": self.hidden_dim,
                "cross_attention": self.cross_attention,
                "dropout": self.dropout,
                "use_bias": self.use_bias,
                "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
                "bias_initializer": keras.initializers.serialize(self.bias_initializer),
            }
        )
        return config


def _write_rows(cache, update, row_starts):
    """`cache` `(B, L, h, d/h)` with row `b`'s positions `row_starts[b] + t` set to
    `update[b, t]` — a one-hot product, exact (each slot gets `1 * x` plus zeros)."""
    cache_positions = ops.arange(ops.shape(cache)[1], dtype="int32")[None, :, None]
    update_positions = (
        ops.cast(row_starts, "int32")[:, None, None]
        + ops.arange(ops.shape(update)[1], dtype="int32")[None, None, :]
    )
    writes = ops.equal(cache_positions, update_positions)  # (B, L, T)
    written = ops.einsum("blt,bthd->blhd", ops.cast(writes, update.dtype), update)
    return ops.where(ops.any(writes, axis=2)[:, :, None, None], written, cache)


def _split_cache(cache):
    """`(key, value, stacked)` from a `(key, value)` pair or a stacked `(B, 2, ...)` tensor."""
    if isinstance(cache, (tuple, list)):
        if len(cache) != 2:
            raise ValueError(f"A cache pair must be `(key, value)`; received {len(cache)} tensors.")
        return cache[0], cache[1], False
    return *ops.unstack(cache, 2, axis=1), True


def closest_divisor(hidden_dim: int, num_heads: int) -> int:
    """The head count nearest `num_heads` that divides `hidden_dim` (for error messages)."""
    divisors = [n for n in range(1, hidden_dim + 1) if hidden_dim % n == 0]
    return min(divisors, key=lambda n: (abs(n - num_heads), n))


def check_heads_divide(hidden_dim: int, num_heads: int, where: str = "") -> None:
    """Raise a `ValueError` naming the nearest valid head count unless `num_heads` divides
    `hidden_dim` — the one check of it in zoo (layers, blocks and configs call it).

    `where` says which width is meant (e.g. `"the attention over encoder states"`).
    """
    if hidden_dim % num_heads == 0:
        return
    context = f" ({where})" if where else ""
    raise ValueError(
        f"num_heads ({num_heads}) must divide hidden_dim ({hidden_dim}){context}: each head "
        f"gets hidden_dim / num_heads dimensions. Choose e.g. "
        f"num_heads={closest_divisor(hidden_dim, num_heads)}."
    )
