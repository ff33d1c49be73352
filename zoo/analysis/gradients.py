"""One backend-aware `value_and_gradient`: TensorFlow's tape, JAX's `grad`, PyTorch's autograd.

Keras 3 has no backend-neutral gradient call, and the analyses here need the gradient of a
scalar with respect to a tensor that is not a weight (a perturbation of hidden states, a batch
of inputs). Each backend's own mechanism is imported only when that backend is active, so this
module runs wherever Keras runs.
"""

from __future__ import annotations

from collections.abc import Callable

import keras
import numpy as np

SUPPORTED_BACKENDS = ("tensorflow", "jax", "torch")


def value_and_gradient(function: Callable, argument) -> tuple[float, np.ndarray]:
    """`function(argument)` (a scalar) and its gradient with respect to `argument`.

    Args:
        function: maps a tensor of `argument`'s shape to a scalar tensor, with `keras.ops`
            and Keras layers (so it runs on every backend).
        argument: a NumPy array (float32) or backend tensor: where the gradient is taken.

    Returns:
        `(value, gradient)` as a Python float and a NumPy array of `argument`'s shape.

    Example:
    >>> value, gradient = value_and_gradient(
    ...     lambda x: keras.ops.sum(x**2), np.array([1.0, -2.0], "float32"))
    >>> value, gradient.tolist()
    (5.0, [2.0, -4.0])
    """
    backend = keras.backend.backend()
    argument = np.asarray(keras.ops.convert_to_numpy(argument), dtype="float32")
    if backend == "tensorflow":
        import tensorflow as tf

        tensor = tf.convert_to_tensor(argument)
        with tf.GradientTape() as tape:
            tape.watch(tensor)
            value = function(tensor)
        gradient = tape.gradient(value, tensor)
    elif backend == "jax":
        import jax

        value, gradient = jax.value_and_grad(function)(argument)
    elif backend == "torch":
        import torch

        tensor = torch.tensor(argument, requires_grad=True, device=keras.ops.zeros(()).device)
        value = function(tensor)
        (gradient,) = torch.autograd.grad(value, tensor)
    else:
        raise ValueError(
            f"value_and_gradient supports the {', '.join(SUPPORTED_BACKENDS)} backends; the "
            f"active Keras backend is {backend!r}. Set KERAS_BACKEND to one of them."
        )
    return float(keras.ops.convert_to_numpy(value)), keras.ops.convert_to_numpy(gradient)
