"""How close a training step comes to the machine's limit: its FLOPs, counted from the
architecture, and the machine's matmul peak, measured through Keras.

The count is the usual one (Kaplan et al. 2020; nanoGPT's `estimate_mfu`): every matmul
`(m, k) x (k, n)` costs `2 m k n` FLOPs, attention costs its two matmuls (`Q Kᵀ` and the
weighted sum of values) over the whole score matrix — causal or not, dense kernels compute
it all — and a training step costs 3 forward passes (the backward pass computes a gradient
for both operands of every matmul: twice the forward). Layer norms, softmax, biases,
activations, embedding look-ups and the optimizer update are left out: each costs
O(tokens x width) or O(weights), a few percent at most of the matmuls.

    >>> transformer_training_flops(task="lm", batch_size=1, source_length=0,
    ...     target_length=2, hidden_dim=2, intermediate_dim=4, num_encoder_layers=0,
    ...     num_decoder_layers=1, vocab_size=3)
    552
"""

from __future__ import annotations

import time

import keras
import numpy as np

# A training step (forward, then the gradient of both operands of every matmul) as a
# multiple of the forward pass.
TRAINING_MULTIPLIER = 3


def matmul_flops(m: int, k: int, n: int) -> int:
    """`(m, k) x (k, n)`: `m n` dot products of length `k`, a multiply and an add each."""
    return 2 * m * k * n


def attention_flops(query_tokens: int, key_length: int, hidden_dim: int) -> int:
    """Scores `Q Kᵀ` and `weights V` for `query_tokens` queries over `key_length` keys.

    Each of `h` heads does `(1, d/h) x (d/h, S)` and `(1, S) x (S, d/h)` per query; summed
    over heads that is two `(1, d) x (d, S)`-sized products, whatever `h` is.
    """
    return 2 * matmul_flops(query_tokens, hidden_dim, key_length)


def feed_forward_flops(tokens: int, hidden_dim: int, intermediate_dim: int) -> int:
    return matmul_flops(tokens, hidden_dim, intermediate_dim) + matmul_flops(
        tokens, intermediate_dim, hidden_dim
    )


def self_attention_block_flops(tokens: int, length: int, hidden_dim: int) -> int:
    """Query, key and value projections, attention over `length` keys, output projection."""
    projections = matmul_flops(tokens, hidden_dim, 3 * hidden_dim)
    output = matmul_flops(tokens, hidden_dim, hidden_dim)
    return projections + attention_flops(tokens, length, hidden_dim) + output


def cross_attention_block_flops(
    target_tokens: int, source_tokens: int, source_length: int, hidden_dim: int
) -> int:
    """Queries from the target, keys and values projected from every source token."""
    queries = matmul_flops(target_tokens, hidden_dim, hidden_dim)
    keys_values = matmul_flops(source_tokens, hidden_dim, 2 * hidden_dim)
    output = matmul_flops(target_tokens, hidden_dim, hidden_dim)
    attention = attention_flops(target_tokens, source_length, hidden_dim)
    return queries + keys_values + attention + output


def transformer_forward_flops(
    *,
    task: str,
    batch_size: int,
    source_length: int,
    target_length: int,
    hidden_dim: int,
    intermediate_dim: int,
    num_encoder_layers: int,
    num_decoder_layers: int,
    vocab_size: int,
) -> int:
    """Matmul and attention FLOPs of one forward pass of an encoder-decoder (`seq2seq`) or a
    decoder-only (`lm`, no cross-attention, `source_length` unused) Transformer, up to the
    logits (`(B T, d) x (d, V)`, tied or not)."""
    if task not in ("seq2seq", "lm"):
        raise ValueError(f"task must be 'seq2seq' or 'lm', received {task!r}.")
    source_tokens = batch_size * source_length
    target_tokens = batch_size * target_length
    total = 0
    if task == "seq2seq":
        encoder_layer = self_attention_block_flops(
            source_tokens, source_length, hidden_dim
        ) + feed_forward_flops(source_tokens, hidden_dim, intermediate_dim)
        total += num_encoder_layers * encoder_layer
    decoder_layer = self_attention_block_flops(target_tokens, target_length, hidden_dim)
    decoder_layer += feed_forward_flops(target_tokens, hidden_dim, intermediate_dim)
    if task == "seq2seq":
        decoder_layer += cross_attention_block_flops(
            target_tokens, source_tokens, source_length, hidden_dim
        )
    total += num_decoder_layers * decoder_layer
    return total + matmul_flops(target_tokens, hidden_dim, vocab_size)


def transformer_training_flops(**shape) -> int:
    """`transformer_forward_flops(**shape)` x 3: forward and backward."""
    return TRAINING_MULTIPLIER * transformer_forward_flops(**shape)


def config_training_flops(config, batch_size: int, length: int) -> int:
    """Training FLOPs of a step of a zoo `TransformerConfig`'s model on `(batch_size,
    length)` batches (source and target alike)."""
    return transformer_training_flops(
        task=config.task,
        batch_size=batch_size,
        source_length=length,
        target_length=length,
        hidden_dim=config.hidden_dim,
        intermediate_dim=config.intermediate_dim,
        num_encoder_layers=config.num_layers if config.task == "seq2seq" else 0,
        num_decoder_layers=config.decoder_layers,
        vocab_size=config.target_vocab_size or config.vocab_size,
    )


class MatmulPeak:
    """The FLOP/s of one large square matmul through `keras.ops`, the machine's practical
    peak for this backend and dtype (what oneDNN / XLA reach on an ideal shape).

    Each `sample()` times `calls` back-to-back products and returns FLOP/s; call it between
    the contenders' steps, so that it sees the same machine load they do.
    """

    def __init__(self, dtype: str = "float32", size: int = 2048, calls: int = 3, seed: int = 0):
        rng = np.random.default_rng(seed)
        operands = rng.standard_normal((2, size, size)).astype("float32")
        self.dtype, self.size, self.calls = dtype, size, calls
        self.a = keras.ops.cast(keras.ops.convert_to_tensor(operands[0]), dtype)
        self.b = keras.ops.cast(keras.ops.convert_to_tensor(operands[1]), dtype)
        self.flops = matmul_flops(size, size, size)
        self.sample()  # warm up (oneDNN picks and caches its kernel on the first call)

    def _product(self):
        product = keras.ops.matmul(self.a, self.b)
        # Reading one element waits for the product on every backend (JAX dispatches
        # asynchronously) without copying the whole result; as float32, because NumPy
        # cannot take a bfloat16 scalar from TensorFlow.
        keras.ops.convert_to_numpy(keras.ops.cast(product[0, 0], "float32"))

    def sample(self) -> float:
        start = time.perf_counter()
        for _ in range(self.calls):
            self._product()
        return self.calls * self.flops / (time.perf_counter() - start)
