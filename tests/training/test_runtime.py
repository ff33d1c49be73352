import json

import keras
import numpy as np
import pytest

from zoo.training import configure_runtime, describe_devices, distribution_strategy
from zoo.training.runtime import format_devices, resolve_strategy_kind

TENSORFLOW_ONLY = pytest.mark.skipif(
    keras.backend.backend() != "tensorflow", reason="tf.distribute needs the TensorFlow backend"
)
TF_CONFIG = json.dumps(
    {"cluster": {"worker": ["host1:2222", "host2:2222"]}, "task": {"type": "worker", "index": 0}}
)


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
        ({"mixed_precision": "bf16"}, TypeError, "True or False"),
        ({"jit_compile": "xla"}, ValueError, '"auto"'),
        ({"jit_compile": 1}, ValueError, '"auto"'),
        ({"seed": -1}, ValueError, "non-negative int"),
        ({"seed": 1.5}, ValueError, "non-negative int"),
    ],
)
def test_invalid_arguments_say_how_to_fix(kwargs, error, message):
    with pytest.raises(error, match=message):
        configure_runtime(**kwargs)


@pytest.mark.parametrize(
    "kind, num_gpus, tf_config, expected",
    [
        ("auto", 0, None, "default"),  # CPU only
        ("auto", 1, None, "default"),  # one GPU: no need to mirror
        ("auto", 2, None, "mirrored"),
        ("auto", 8, "", "mirrored"),  # an empty TF_CONFIG counts as unset
        ("auto", 0, TF_CONFIG, "multi_worker"),
        ("auto", 4, TF_CONFIG, "multi_worker"),
        ("mirrored", 0, None, "mirrored"),  # explicit kinds are kept
        ("default", 4, TF_CONFIG, "default"),
    ],
)
def test_resolve_strategy_kind(kind, num_gpus, tf_config, expected):
    assert resolve_strategy_kind(kind, num_gpus, tf_config) == expected


def test_strategy_errors_say_how_to_fix():
    with pytest.raises(ValueError, match="Choose one of"):
        resolve_strategy_kind("tpu", 0, None)
    with pytest.raises(ValueError, match="TF_CONFIG is set but is not JSON"):
        resolve_strategy_kind("auto", 0, "worker0:2222")
    with pytest.raises(ValueError, match="Choose one of"):
        distribution_strategy("tpu")


@TENSORFLOW_ONLY
def test_default_strategy_on_one_device(monkeypatch):
    import tensorflow as tf

    monkeypatch.delenv("TF_CONFIG", raising=False)
    if len(tf.config.list_physical_devices("GPU")) > 1:
        pytest.skip("this machine has several GPUs: auto picks MirroredStrategy")
    strategy = distribution_strategy()
    assert strategy is tf.distribute.get_strategy()
    assert strategy.num_replicas_in_sync == 1
    mirrored = distribution_strategy("mirrored")
    assert isinstance(mirrored, tf.distribute.MirroredStrategy)
    assert mirrored.num_replicas_in_sync == max(1, len(tf.config.list_physical_devices("GPU")))


@pytest.mark.skipif(keras.backend.backend() == "tensorflow", reason="for other backends")
def test_no_tf_distribute_on_other_backends():
    assert distribution_strategy() is None
    assert distribution_strategy("default") is None
    with pytest.raises(ValueError, match="keras.distribution"):
        distribution_strategy("mirrored")


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
