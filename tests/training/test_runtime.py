import keras
import numpy as np
import pytest

from zoo.training import configure_runtime, describe_devices
from zoo.training.runtime import format_devices, has_native_bfloat16, precision_policy


@pytest.fixture(autouse=True)
def restore_float32_policy():
    yield
    keras.mixed_precision.set_global_policy("float32")


def test_mixed_precision_policy_and_compile_arguments():
    assert configure_runtime(mixed_precision=True, jit_compile=False) == {"jit_compile": False}
    assert keras.mixed_precision.global_policy().name == "mixed_bfloat16"
    layer = keras.layers.Dense(2)
    outputs = layer(np.ones((1, 3), "float32"))
    assert layer.compute_dtype == "bfloat16" and layer.kernel.dtype == "float32"
    assert keras.backend.standardize_dtype(outputs.dtype) == "bfloat16"

    assert configure_runtime(mixed_precision=False) == {"jit_compile": "auto"}
    assert keras.mixed_precision.global_policy().name == "float32"
    assert keras.layers.Dense(2).compute_dtype == "float32"


ZEN3 = "processor\t: 0\nflags\t\t: fpu sse avx avx2 fma\n\nprocessor\t: 1\nflags\t\t: fpu avx2\n"
SAPPHIRE_RAPIDS = "flags\t\t: fpu avx2 avx512f avx512_bf16 amx_bf16 amx_tile\n"
ZEN4 = "flags\t\t: fpu avx2 avx512f avx512_bf16\n"


def test_auto_precision_is_bfloat16_only_where_the_hardware_computes_it():
    gpu = any("gpu" in d.lower() or "cuda" in d.lower() for d in keras.distribution.list_devices())
    assert has_native_bfloat16(SAPPHIRE_RAPIDS) and has_native_bfloat16(ZEN4)
    assert has_native_bfloat16(ZEN3) == gpu  # AVX2 alone: bfloat16 is converted, slower
    assert has_native_bfloat16("") == gpu
    expected = "mixed_bfloat16" if has_native_bfloat16() else "float32"
    assert precision_policy("auto") == expected
    configure_runtime(mixed_precision="auto")
    assert keras.mixed_precision.global_policy().name == expected


def test_seed_repeats_numpy_and_keras_draws():
    configure_runtime(seed=0)
    assert np.random.rand() == pytest.approx(0.5488135039273248)  # NumPy's first draw for seed 0
    first = keras.layers.Dense(3, kernel_initializer="glorot_uniform")
    first.build((None, 4))
    configure_runtime(seed=0)
    second = keras.layers.Dense(3, kernel_initializer="glorot_uniform")
    second.build((None, 4))
    np.testing.assert_array_equal(np.array(first.kernel), np.array(second.kernel))
    configure_runtime(seed=1)
    third = keras.layers.Dense(3, kernel_initializer="glorot_uniform")
    third.build((None, 4))
    assert not np.array_equal(np.array(first.kernel), np.array(third.kernel))


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"mixed_precision": "bf16"}, ValueError, r'True or "bfloat16".*Received: .bf16'),
        ({"jit_compile": "xla"}, ValueError, '"auto"'),
        ({"jit_compile": 1}, ValueError, '"auto"'),
        ({"seed": -1}, ValueError, "non-negative int"),
        ({"seed": 1.5}, ValueError, "non-negative int"),
    ],
)
def test_invalid_arguments_say_how_to_fix(kwargs, error, message):
    with pytest.raises(error, match=message):
        configure_runtime(**kwargs)


def test_format_devices():
    assert (
        format_devices("3.15.1", "tensorflow", "float32", ["cpu:0"])
        == "keras 3.15.1, backend tensorflow, dtype policy float32, devices: cpu:0 (no GPU)"
    )
    tensorflow_gpus = [f"/job:localhost/replica:0/task:0/device:GPU:{index}" for index in (0, 1)]
    assert (
        format_devices("3.15.1", "tensorflow", "mixed_bfloat16", tensorflow_gpus)
        == "keras 3.15.1, backend tensorflow, dtype policy mixed_bfloat16, devices: gpu:0, gpu:1"
    )
    assert format_devices("3.15.1", "jax", "float32", ["cuda:0"]).endswith("devices: cuda:0")


def test_describe_devices_on_this_machine():
    configure_runtime(mixed_precision=True)
    line = describe_devices()
    expected_devices = ", ".join(keras.distribution.list_devices()).lower()
    assert line.startswith(
        f"keras {keras.__version__}, backend {keras.backend.backend()}, "
        f"dtype policy mixed_bfloat16, devices: {expected_devices}"
    )
