"""Time one forward + backward pass of a model, compiled the way each backend trains.

`gradient_step(model, loss)` returns a function `(inputs, targets) -> gradients` compiled as
`fit()` would run it: a `tf.function` on TensorFlow (no XLA, Keras's default on CPU), a
`jax.jit` of `jax.grad` over `model.stateless_call` on JAX, eager autograd on PyTorch. The
optimizer update is left out: it costs the same at every sequence length. `median_seconds`
times it after warm-up calls (tracing and compilation are not measured).

Only ratios between numbers measured here, in one process on one machine, mean anything;
absolute times depend on the machine and what else runs on it.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import keras
import numpy as np

from zoo.analysis.gradients import SUPPORTED_BACKENDS


def gradient_step(model: keras.Model, loss: Callable) -> Callable:
    """A compiled `(inputs, targets) -> list of gradients` for `model`'s trainable weights.

    `loss(targets, predictions)` returns a scalar; each call returns once every gradient is
    computed (NumPy arrays on TensorFlow and JAX).

    Example:
    >>> model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1, use_bias=False)])
    >>> model.set_weights([np.ones((3, 1))])
    >>> step = gradient_step(model, lambda y, p: keras.ops.sum((p - y) ** 2))
    >>> gradients = step(np.ones((1, 3), "float32"), np.zeros((1, 1), "float32"))
    >>> [g.ravel().tolist() for g in gradients]
    [[6.0, 6.0, 6.0]]
    """
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        @tf.function(jit_compile=False)
        def tensorflow_step(inputs, targets):
            with tf.GradientTape() as tape:
                value = loss(targets, model(inputs, training=True))
            return tape.gradient(value, model.trainable_variables)

        # Embedding gradients come as `IndexedSlices`; densify them like the optimizer would.
        return lambda inputs, targets: [
            tf.convert_to_tensor(g).numpy() for g in tensorflow_step(inputs, targets)
        ]
    if backend == "jax":
        import jax

        trainable = [variable.value for variable in model.trainable_variables]
        non_trainable = [variable.value for variable in model.non_trainable_variables]

        def jax_loss(trainable, inputs, targets):
            predictions, _ = model.stateless_call(trainable, non_trainable, inputs, training=True)
            return loss(targets, predictions)

        jax_step = jax.jit(jax.grad(jax_loss))
        return lambda inputs, targets: [
            np.asarray(g) for g in jax.block_until_ready(jax_step(trainable, inputs, targets))
        ]
    if backend == "torch":
        import torch

        def torch_step(inputs, targets):
            value = loss(
                keras.ops.convert_to_tensor(targets),
                model(keras.ops.convert_to_tensor(inputs), training=True),
            )
            weights = [variable.value for variable in model.trainable_variables]
            gradients = torch.autograd.grad(value, weights)
            return [g.detach().cpu().numpy() for g in gradients]

        return torch_step
    raise ValueError(
        f"gradient_step supports the {', '.join(SUPPORTED_BACKENDS)} backends; the active "
        f"Keras backend is {backend!r}. Set KERAS_BACKEND to one of them."
    )


def median_seconds(
    step: Callable, inputs, targets, repeats: int = 5, warmup: int = 2, clock=time.perf_counter
) -> float:
    """The median wall time of `step(inputs, targets)` over `repeats` calls, after `warmup`
    untimed calls (tracing, compilation, caches)."""
    if repeats < 1 or warmup < 0:
        raise ValueError(f"Need repeats >= 1 and warmup >= 0, received {repeats}, {warmup}.")
    for _ in range(warmup):
        step(inputs, targets)
    durations = []
    for _ in range(repeats):
        start = clock()
        step(inputs, targets)
        durations.append(clock() - start)
    return float(np.median(durations))


def log_log_slopes(lengths, seconds) -> list[float]:
    """The growth exponent between neighbouring lengths: `log(t2 / t1) / log(T2 / T1)`.

    1 means time grows in proportion to T (one sequential step per token), 2 in proportion
    to T² (attention's score matrix), near 0 that fixed overheads still dominate.

    >>> log_log_slopes([16, 32, 64], [1.0, 2.0, 8.0])
    [1.0, 2.0]
    """
    lengths = np.asarray(lengths, dtype="float64")
    seconds = np.asarray(seconds, dtype="float64")
    return (np.diff(np.log(seconds)) / np.diff(np.log(lengths))).round(6).tolist()
