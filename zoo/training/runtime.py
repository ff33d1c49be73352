"""Run-time set-up for `fit()`: precision, XLA, seeds, devices and distribution."""

import json
import os

import keras

STRATEGY_KINDS = ("auto", "default", "mirrored", "multi_worker")


def configure_runtime(
    mixed_precision: bool = False,
    jit_compile: bool | str = "auto",
    seed: int | None = None,
) -> dict:
    """Sets the global dtype policy and seeds; returns the arguments for `compile()`.

    Call it first, before building the model: the dtype policy applies to
    layers created afterwards.

    Mixed precision uses `"mixed_bfloat16"` (computations in bfloat16, weights
    in float32): bfloat16 has float32's range, so it needs no loss scaling,
    and CPUs with AMX and recent GPUs run its matmuls several times faster.
    Losses and metrics in `zoo.training` compute in float32 regardless.

    Args:
        mixed_precision: bool. `True` sets the `"mixed_bfloat16"` policy,
            `False` sets `"float32"`.
        jit_compile: `True`, `False` or `"auto"`: whether `compile()` uses XLA.
            `"auto"` lets Keras decide (on TensorFlow it is off on CPU-only
            machines and with `tf.distribute`; on JAX it is on).
        seed: optional int. Seeds Python, NumPy and the backend through
            `keras.utils.set_random_seed`, so that weights and dropout repeat.

    Returns:
        A dict of keyword arguments for `model.compile(...)`.

    Example:

    >>> compile_kwargs = configure_runtime(mixed_precision=True, seed=1)
    >>> model = zoo.build("transformer", preset="tiny")
    >>> model.compile(optimizer="adam", loss=loss, **compile_kwargs)
    """
    if not isinstance(mixed_precision, bool):
        raise TypeError(f"`mixed_precision` must be True or False. Received: {mixed_precision!r}")
    if not any(jit_compile is choice for choice in (True, False)) and jit_compile != "auto":
        raise ValueError(
            f'`jit_compile` must be True, False or "auto". Received: jit_compile={jit_compile!r}'
        )
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or seed < 0):
        raise ValueError(
            f"`seed` must be a non-negative int, or None to leave seeds alone. Received: {seed!r}"
        )
    keras.mixed_precision.set_global_policy("mixed_bfloat16" if mixed_precision else "float32")
    if seed is not None:
        keras.utils.set_random_seed(seed)
    return {"jit_compile": jit_compile}


def distribution_strategy(kind: str = "auto"):
    """A `tf.distribute` strategy for the devices this process sees.

    On the TensorFlow backend, build and compile the model under
    `strategy.scope()`:
    - `"default"`: TensorFlow's default strategy (one device: a GPU if there
      is one, otherwise the CPU);
    - `"mirrored"`: `tf.distribute.MirroredStrategy` over the local GPUs;
    - `"multi_worker"`: `tf.distribute.MultiWorkerMirroredStrategy` over the
      machines that the `TF_CONFIG` environment variable lists. TensorFlow
      needs it created at program start, before any other TensorFlow op;
    - `"auto"` (default): `"multi_worker"` when `TF_CONFIG` is set, else
      `"mirrored"` when more than one GPU is visible, else `"default"`.

    On the JAX (and PyTorch) backend there is no `tf.distribute`: `"auto"` and
    `"default"` return `None`, and the path to several devices is
    `keras.distribution`, e.g.
    `keras.distribution.set_distribution(keras.distribution.DataParallel())`
    before building the model.

    Args:
        kind: one of `"auto"`, `"default"`, `"mirrored"`, `"multi_worker"`.

    Returns:
        A `tf.distribute.Strategy`, or `None` on backends other than TensorFlow.

    Example:

    >>> strategy = distribution_strategy()
    >>> with strategy.scope():
    ...     model = zoo.build("transformer")
    ...     model.compile(optimizer="adam", loss=loss)
    """
    if kind not in STRATEGY_KINDS:
        raise ValueError(f"Unknown strategy kind {kind!r}. Choose one of {STRATEGY_KINDS}.")
    if keras.backend.backend() != "tensorflow":
        if kind in ("auto", "default"):
            return None
        raise ValueError(
            f"distribution_strategy(kind={kind!r}) makes a tf.distribute strategy, which needs "
            f"the TensorFlow backend (this is {keras.backend.backend()!r}). On JAX, use "
            "keras.distribution.set_distribution(keras.distribution.DataParallel()) instead."
        )
    import tensorflow as tf

    # Physical devices: listing them does not start the TensorFlow runtime,
    # which MultiWorkerMirroredStrategy must configure itself.
    num_gpus = len(tf.config.list_physical_devices("GPU"))
    kind = resolve_strategy_kind(kind, num_gpus, os.environ.get("TF_CONFIG"))
    if kind == "multi_worker":
        return tf.distribute.MultiWorkerMirroredStrategy()
    if kind == "mirrored":
        return tf.distribute.MirroredStrategy()
    return tf.distribute.get_strategy()


def resolve_strategy_kind(kind: str, num_gpus: int, tf_config: str | None) -> str:
    """Which strategy `distribution_strategy(kind)` makes, for these devices.

    Args:
        kind: one of `STRATEGY_KINDS`.
        num_gpus: the number of GPUs this machine sees.
        tf_config: the `TF_CONFIG` environment variable, or `None` when unset.

    Returns:
        `"default"`, `"mirrored"` or `"multi_worker"`.
    """
    if kind not in STRATEGY_KINDS:
        raise ValueError(f"Unknown strategy kind {kind!r}. Choose one of {STRATEGY_KINDS}.")
    if tf_config:
        try:
            json.loads(tf_config)
        except json.JSONDecodeError as error:
            raise ValueError(
                "TF_CONFIG is set but is not JSON; set it to the cluster description "
                'that tf.distribute expects, e.g. {"cluster": {"worker": [...]}, '
                f'"task": {{"type": "worker", "index": 0}}}}, or unset it. ({error})'
            ) from None
    if kind != "auto":
        return kind
    if tf_config:
        return "multi_worker"
    if num_gpus > 1:
        return "mirrored"
    return "default"


def describe_devices() -> str:
    """One line on where `fit()` will run, for recipes to print.

    Example:

    >>> print(describe_devices())
    keras 3.15.1, backend tensorflow, dtype policy float32, devices: cpu:0 (no GPU)
    """
    devices = keras.distribution.list_devices()
    return format_devices(
        keras.__version__,
        keras.backend.backend(),
        keras.mixed_precision.global_policy().name,
        devices,
    )


def format_devices(keras_version: str, backend: str, policy: str, devices: list[str]) -> str:
    """The line `describe_devices` prints, from its parts."""
    names = [_short_device_name(device) for device in devices]
    has_accelerator = any(not name.startswith("cpu") for name in names)
    return (
        f"keras {keras_version}, backend {backend}, dtype policy {policy}, "
        f"devices: {', '.join(names)}" + ("" if has_accelerator else " (no GPU)")
    )


def _short_device_name(device: str) -> str:
    # "/job:localhost/replica:0/task:0/device:GPU:1" -> "gpu:1"; JAX gives "cuda:0".
    name = device.rsplit("device:", 1)[-1]
    return name.lower()
