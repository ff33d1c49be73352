"""Run-time set-up for `fit()`: precision, XLA, seeds and devices (distribution:
`zoo.training.distribution`)."""

import keras

# CPU flags (Linux /proc/cpuinfo) of instructions that compute bfloat16 matmuls natively:
# AVX-512 BF16 (Intel Cooper Lake+, AMD Zen 4+) and AMX (Intel Sapphire Rapids+). Without
# them TensorFlow converts bfloat16 to float32 around every matmul, and mixed precision
# runs slower than float32 (measured: LSTM 1.98 vs 2.92 s per step on an AMD Zen 3).
NATIVE_BFLOAT16_CPU_FLAGS = ("avx512_bf16", "amx_bf16")

# What `configure_runtime(mixed_precision=...)` accepts, and the Keras dtype policy of each
# ("auto" is resolved by `precision_policy` from the hardware).
PRECISION_POLICIES = {
    False: "float32",
    True: "mixed_bfloat16",
    "float32": "float32",
    "bfloat16": "mixed_bfloat16",
    "float16": "mixed_float16",
}


def configure_runtime(
    mixed_precision: bool | str = False,
    jit_compile: bool | str = "auto",
    seed: int | None = None,
) -> dict:
    """Sets the global dtype policy and seeds; returns the arguments for `compile()`.

    Call it first, before building the model: the dtype policy applies to
    layers created afterwards.

    Mixed precision computes in 16 bits and keeps the weights in float32.
    `True` or `"bfloat16"` is `"mixed_bfloat16"`: bfloat16 has float32's
    range, so it needs no loss scaling, and CPUs with AMX and recent GPUs run
    its matmuls several times faster. `"float16"` is `"mixed_float16"`, for
    GPUs without bfloat16 (before NVIDIA's Ampere): float16 underflows below
    6e-8, so `compile()` wraps the optimizer in a
    `keras.optimizers.LossScaleOptimizer` (Keras's `auto_scale_loss`), which
    scales the loss up before the gradients and skips steps whose gradients
    overflow. Losses and metrics in `zoo.training` compute in float32 regardless.

    Args:
        mixed_precision: `False` (float32), `True` or `"bfloat16"`, `"float16"`, or
            `"auto"`: bfloat16 where the hardware computes it natively (a GPU, a CPU with
            AVX-512 BF16 or AMX; `has_native_bfloat16`), float32 elsewhere.
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
    policy = precision_policy(mixed_precision)
    if not any(jit_compile is choice for choice in (True, False)) and jit_compile != "auto":
        raise ValueError(
            f'`jit_compile` must be True, False or "auto". Received: jit_compile={jit_compile!r}'
        )
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or seed < 0):
        raise ValueError(
            f"`seed` must be a non-negative int, or None to leave seeds alone. Received: {seed!r}"
        )
    keras.mixed_precision.set_global_policy(policy)
    if seed is not None:
        keras.utils.set_random_seed(seed)
    return {"jit_compile": jit_compile}


def precision_policy(mixed_precision: bool | str) -> str:
    """The Keras dtype policy name for `configure_runtime`'s `mixed_precision`; `"auto"` is
    `"mixed_bfloat16"` where the hardware computes bfloat16 natively, else `"float32"`."""
    if isinstance(mixed_precision, str) and mixed_precision == "auto":
        return "mixed_bfloat16" if has_native_bfloat16() else "float32"
    for choice, policy in PRECISION_POLICIES.items():
        if type(choice) is type(mixed_precision) and choice == mixed_precision:
            return policy
    raise ValueError(
        '`mixed_precision` must be False (float32), True or "bfloat16" (mixed_bfloat16), '
        '"float16" (mixed_float16, with loss scaling) or "auto" (bfloat16 where the hardware '
        f"computes it natively). Received: {mixed_precision!r}"
    )


def has_native_bfloat16(cpuinfo: str | None = None) -> bool:
    """Whether bfloat16 mixed precision pays off here: a GPU or TPU is visible (the recipes'
    GPUs, from Ampere on, compute it natively), or the CPU has AVX-512 BF16 or AMX
    (`cpuinfo`: the text of /proc/cpuinfo, read when not given; unreadable: no)."""
    devices = keras.distribution.list_devices()
    if any(
        "gpu" in device.lower() or "cuda" in device.lower() or "tpu" in device.lower()
        for device in devices
    ):
        return True
    if cpuinfo is None:
        try:
            with open("/proc/cpuinfo") as file:
                cpuinfo = file.read()
        except OSError:
            return False
    flags = set()
    for line in cpuinfo.splitlines():
        if line.startswith("flags"):
            flags.update(line.partition(":")[2].split())
    return any(flag in flags for flag in NATIVE_BFLOAT16_CPU_FLAGS)


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
