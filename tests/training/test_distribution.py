"""One machine, several devices: `fit()` under `MirroredStrategy` on two logical CPUs follows
the one-device run step for step; and the pure parts of `zoo.training.distribution`."""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import keras
import numpy as np
import pytest

from zoo.training import (
    STRATEGY_KINDS,
    data_parallel,
    distribution_strategy,
    initialize_multi_worker,
    process_shard,
)
from zoo.training.distribution import resolve_strategy_kind

REPOSITORY = Path(__file__).resolve().parents[2]
TENSORFLOW_ONLY = pytest.mark.skipif(
    keras.backend.backend() != "tensorflow", reason="tf.distribute needs the TensorFlow backend"
)

# Tolerances of the two-device run against the one-device run, in float32. The two runs do
# the same arithmetic except the order of the gradient sums (each device sums its half of
# the batch, then the halves are added): each gradient element differs by a few ulps.
# Per-step losses: measured at most 4e-7 relative (about 4 ulps); 1e-5 leaves room for other
# CPUs' kernels. Weights after 6 Adam steps of 1e-2: measured at most 3e-5; Adam divides by
# the root of the squared gradients, so an element whose gradient is near 0 can move a few
# ulps of its gradient into a visible part of its step; 2e-4 is 2 % of one step, while
# any real difference (a gradient halved or doubled, a batch seen twice) moves weights by
# whole steps and losses in the third digit (the padded run below moves them by 3 %).
LOSS_RTOL = 1e-5
WEIGHT_ATOL = 2e-4

SCRIPT = textwrap.dedent(
    """
    import contextlib, json, os
    import tensorflow as tf

    # Two logical devices from the one CPU: only possible before TensorFlow starts.
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

    import keras
    import numpy as np

    import zoo
    from zoo.data.toy_tasks import task_data
    from zoo.training import MaskedSparseCategoricalCrossentropy

    STEPS, BATCH, LENGTH = 6, 8, 8


    from tests.step_losses import StepLosses


    def fit(strategy, initial_weights, inputs, targets):
        with strategy.scope() if strategy else contextlib.nullcontext():
            model = zoo.build("transformer", task="lm", preset="tiny")
            model.compile(
                optimizer=keras.optimizers.Adam(1e-2), loss=MaskedSparseCategoricalCrossentropy()
            )
        model.set_weights(initial_weights)
        losses = StepLosses()
        model.fit(
            inputs, targets, batch_size=BATCH, epochs=1, shuffle=False, callbacks=[losses],
            verbose=0,
        )
        return losses.per_step(), [np.asarray(weight) for weight in model.get_weights()]


    keras.utils.set_random_seed(0)
    model = zoo.build("transformer", task="lm", preset="tiny")
    initial_weights = model.get_weights()
    inputs, targets = task_data(
        "lm", model.config, np.random.default_rng(0), batch=STEPS * BATCH, length=LENGTH
    )
    # The same targets with random right padding: each half batch has its own number of
    # real tokens.
    lengths = np.random.default_rng(1).integers(2, LENGTH + 1, size=len(targets))
    padded_targets = np.where(np.arange(LENGTH)[None, :] < lengths[:, None], targets, 0)

    mirrored = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    result = {"replicas": mirrored.num_replicas_in_sync}
    for name, labels in (("dense", targets), ("padded", padded_targets)):
        one_losses, one_weights = fit(None, initial_weights, inputs, labels)
        two_losses, two_weights = fit(mirrored, initial_weights, inputs, labels)
        result[name] = {
            "one_device": one_losses,
            "two_devices": two_losses,
            "max_weight_difference": max(
                float(np.max(np.abs(a - b))) for a, b in zip(one_weights, two_weights)
            ),
            "weight_scale": max(float(np.max(np.abs(a))) for a in one_weights),
        }

    # The first step's loss by hand, from the initial weights: over the whole batch, and
    # averaged over each device's half.
    loss = MaskedSparseCategoricalCrossentropy()
    logits = model(inputs[:BATCH])
    half = BATCH // 2
    result["first_batch"] = {
        "whole": float(loss(padded_targets[:BATCH], logits)),
        "halves": [
            float(loss(padded_targets[:half], logits[:half])),
            float(loss(padded_targets[half:BATCH], logits[half:])),
        ],
    }

    # Batches that do not split evenly between the devices.
    def sgd_fit(strategy, rows, batch):
        with strategy.scope() if strategy else contextlib.nullcontext():
            model = zoo.build("transformer", task="lm", preset="tiny")
            model.compile(
                optimizer=keras.optimizers.SGD(0.1), loss=MaskedSparseCategoricalCrossentropy()
            )
        model.set_weights(initial_weights)
        data = tf.data.Dataset.from_tensor_slices((inputs[:rows], targets[:rows])).batch(batch)
        model.fit(data, epochs=1, verbose=0)
        return [np.asarray(weight) for weight in model.get_weights()]

    try:  # a first batch of 7: 4 rows on one device, 3 on the other
        sgd_fit(mirrored, 7, 7)
        result["uneven_first_batch"] = "ran"
    except tf.errors.InvalidArgumentError as error:
        result["uneven_first_batch"] = error.message
    # A last batch of 1 row (one device gets none): its update, as a share of one device's.
    def last_row_update(strategy):
        eight, nine = sgd_fit(strategy, 8, 8), sgd_fit(strategy, 9, 8)
        return [after - before for before, after in zip(eight, nine)]

    one, two = last_row_update(None), last_row_update(mirrored)
    result["last_row_update_shares"] = [
        float(np.sum(b * a) / np.sum(a * a)) for a, b in zip(one, two) if np.sum(a * a) > 1e-12
    ]

    # What recipes do (zoo.runs.training.fit_model): batches of 7, 7 and 1 rows cut to 6 and 6.
    from zoo.training import even_batches

    with mirrored.scope():
        model = zoo.build("transformer", task="lm", preset="tiny")
        model.compile(optimizer="sgd", loss=MaskedSparseCategoricalCrossentropy())
    data = tf.data.Dataset.from_tensor_slices((inputs[:15], targets[:15])).batch(7)
    history = model.fit(even_batches(data, mirrored.num_replicas_in_sync), epochs=1, verbose=0)
    result["even_batches"] = {
        "steps": int(model.optimizer.iterations.numpy()),
        "loss": history.history["loss"],
    }
    print("RESULT" + json.dumps(result))
    """
)


@pytest.fixture(scope="module")
def two_device_runs():
    """Runs `SCRIPT` in a fresh TensorFlow process (logical devices must be set before
    TensorFlow starts) and returns what it measured."""
    if keras.backend.backend() != "tensorflow":
        pytest.skip("tf.distribute needs the TensorFlow backend")
    env = dict(
        os.environ,
        KERAS_BACKEND="tensorflow",
        TF_CPP_MIN_LOG_LEVEL="3",
        PYTHONPATH=str(REPOSITORY),
        CUDA_VISIBLE_DEVICES="",  # two CPU halves on every machine, GPUs or not
    )
    env.pop("TF_CONFIG", None)
    completed = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPOSITORY,
        timeout=300,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    line = [text for text in completed.stdout.splitlines() if text.startswith("RESULT")][-1]
    return json.loads(line[len("RESULT") :])


@pytest.mark.slow
def test_mirrored_fit_on_two_devices_follows_the_one_device_run(two_device_runs):
    assert two_device_runs["replicas"] == 2
    dense = two_device_runs["dense"]
    assert len(dense["one_device"]) == len(dense["two_devices"]) == 6
    np.testing.assert_allclose(dense["two_devices"], dense["one_device"], rtol=LOSS_RTOL)
    assert dense["one_device"][-1] < 0.8 * dense["one_device"][0]  # it did learn
    assert dense["max_weight_difference"] < WEIGHT_ATOL


@pytest.mark.slow
def test_with_padding_the_loss_is_the_mean_of_each_devices_token_average(two_device_runs):
    """A loss averaged over real tokens is averaged per device, then over devices: with
    padding, each half batch's tokens weigh as a half, not by their count. That is
    `tf.distribute`'s semantics (and Keras's for its own losses); measured here."""
    first = two_device_runs["first_batch"]
    padded = two_device_runs["padded"]
    np.testing.assert_allclose(padded["one_device"][0], first["whole"], rtol=LOSS_RTOL)
    np.testing.assert_allclose(padded["two_devices"][0], np.mean(first["halves"]), rtol=LOSS_RTOL)
    # The two differ by more than the tolerance: the check above can tell them apart.
    assert abs(np.mean(first["halves"]) - first["whole"]) > 100 * LOSS_RTOL * first["whole"]


@pytest.mark.slow
def test_batches_must_split_evenly_between_the_devices(two_device_runs):
    """Keras 3.15's `fit()` under `MirroredStrategy` builds the model from the first batch
    averaged over the devices, which fails unless every device got as many rows; a later
    batch that splits unevenly runs, but each device's average weighs the same, so a last
    batch of one row on two devices moves the weights half as far as on one device. Recipes
    need batch sizes that are multiples of the number of devices (and no smaller last
    batch) to match one device. When a Keras upgrade changes this, this test says so."""
    assert "must have the same size and shape" in two_device_runs["uneven_first_batch"]
    np.testing.assert_allclose(two_device_runs["last_row_update_shares"], 0.5, atol=1e-3)


@pytest.mark.slow
def test_even_batches_let_uneven_batches_train_on_two_devices(two_device_runs):
    even = two_device_runs["even_batches"]
    # Two even batches of 6; Keras 3.15 (TensorFlow) counts one more optimizer step at the
    # end of an epoch whose length it does not know (filtered, bucketed datasets), strategy
    # or not: 3. (Measured: 2 batches of known length count 2.)
    assert even["steps"] == 3 and np.isfinite(even["loss"]).all()


@TENSORFLOW_ONLY
def test_even_batches_cut_each_batch_to_a_multiple_of_the_replicas():
    import tensorflow as tf

    from zoo.training import even_batches

    ids = np.arange(11 * 2, dtype="int32").reshape(11, 2)
    ragged = tf.ragged.constant([[i] * (i % 3 + 1) for i in range(11)])
    data = tf.data.Dataset.from_tensor_slices(({"ids": ids, "ragged": ragged}, np.arange(11)))
    batches = list(even_batches(data.batch(5), 2))  # 5, 5, 1 -> 4, 4 (the 1 is dropped)
    assert [len(labels) for _, labels in batches] == [4, 4]
    assert [labels.numpy().tolist() for _, labels in batches] == [[0, 1, 2, 3], [5, 6, 7, 8]]
    assert batches[1][0]["ids"].numpy().tolist() == ids[5:9].tolist()
    assert batches[1][0]["ragged"].to_list() == [[5] * 3, [6], [7] * 2, [8] * 3]
    single = tf.data.Dataset.from_tensor_slices(np.arange(7)).batch(3)  # no (x, y) tuple
    assert [b.numpy().tolist() for b in even_batches(single, 3)] == [[0, 1, 2], [3, 4, 5]]
    assert even_batches(data, 1) is data
    with pytest.raises(ValueError, match="positive int"):
        even_batches(data, 0)


@pytest.mark.parametrize(
    "kind, num_gpus, tf_config, expected",
    [
        ("auto", 0, None, "default"),  # CPU only
        ("auto", 1, None, "default"),  # one GPU: no need to mirror
        ("auto", 2, None, "mirrored"),
        ("auto", 8, "", "mirrored"),  # an empty TF_CONFIG counts as unset
        # One task (some platforms set it for one machine): not several machines.
        ("auto", 0, '{"cluster": {"chief": ["host:2222"]}, "task": {"type": "chief"}}', "default"),
        ("mirrored", 0, None, "mirrored"),  # explicit kinds are kept
        ("default", 4, None, "default"),
    ],
)
def test_resolve_strategy_kind(kind, num_gpus, tf_config, expected):
    assert resolve_strategy_kind(kind, num_gpus, tf_config) == expected


def test_several_machines_through_tf_config_say_what_to_use_instead():
    tf_config = json.dumps(
        {"cluster": {"worker": ["host1:2222", "host2:2222"]}, "task": {"type": "worker"}}
    )
    for kind in STRATEGY_KINDS:
        with pytest.raises(ValueError, match="KERAS_BACKEND=jax.*KERAS_DISTRIBUTION_"):
            resolve_strategy_kind(kind, 0, tf_config)
    with pytest.raises(ValueError, match="TF_CONFIG is set but is not JSON"):
        resolve_strategy_kind("auto", 0, "worker0:2222")


def test_multi_worker_is_not_offered():
    assert STRATEGY_KINDS == ("auto", "default", "mirrored")
    with pytest.raises(ValueError, match="Choose one of"):
        distribution_strategy("multi_worker")


@TENSORFLOW_ONLY
def test_mirrored_strategy_on_this_machine(monkeypatch):
    import tensorflow as tf

    monkeypatch.delenv("TF_CONFIG", raising=False)
    strategy = distribution_strategy("mirrored")
    assert isinstance(strategy, tf.distribute.MirroredStrategy)
    assert strategy.num_replicas_in_sync == max(1, len(tf.config.list_physical_devices("GPU")))
    assert distribution_strategy("default") is tf.distribute.get_strategy()


def test_process_shard_by_hand():
    rows = np.arange(10)
    # Global batches [0 1 2 3] and [4 5 6 7]; rows 8 and 9 make no full batch.
    assert process_shard(rows, 4, process_id=0, num_processes=2).tolist() == [0, 1, 4, 5]
    assert process_shard(rows, 4, process_id=1, num_processes=2).tolist() == [2, 3, 6, 7]
    inputs, labels = process_shard((rows, rows * 10), 4, process_id=1, num_processes=2)
    assert labels.tolist() == [20, 30, 60, 70]
    shard = process_shard({"ids": rows[:, None]}, 2, process_id=1, num_processes=2)
    assert shard["ids"][:, 0].tolist() == [1, 3, 5, 7, 9]


def test_process_shards_side_by_side_are_the_global_batches(rng):
    data = rng.normal(size=(36, 3))
    global_batch, num_processes = 12, 3
    local_batch = global_batch // num_processes
    shards = [process_shard(data, global_batch, process_id=i, num_processes=3) for i in range(3)]
    for step in range(3):
        together = np.concatenate(
            [shard[step * local_batch : (step + 1) * local_batch] for shard in shards]
        )
        np.testing.assert_array_equal(
            together, data[step * global_batch : (step + 1) * global_batch]
        )
    assert num_processes * len(shards[0]) == len(data)


def test_process_shard_errors_say_how_to_fix():
    with pytest.raises(ValueError, match="multiple of the number of processes"):
        process_shard(np.arange(8), 3, process_id=0, num_processes=2)
    with pytest.raises(ValueError, match="as many rows"):
        process_shard((np.arange(8), np.arange(6)), 2, process_id=0, num_processes=2)


@pytest.mark.parametrize(
    "variables, message",
    [
        ({}, "needs the coordinator's address.*KERAS_DISTRIBUTION_JOB_ADDRESSES"),
        (
            {
                "KERAS_DISTRIBUTION_JOB_ADDRESSES": "10.0.0.1:1234",
                "KERAS_DISTRIBUTION_NUM_PROCESSES": "2",
            },
            "process_id=None",
        ),
        (
            {
                "KERAS_DISTRIBUTION_JOB_ADDRESSES": "10.0.0.1:1234",
                "KERAS_DISTRIBUTION_NUM_PROCESSES": "two",
                "KERAS_DISTRIBUTION_PROCESS_ID": "0",
            },
            "KERAS_DISTRIBUTION_NUM_PROCESSES must be an integer; received 'two'",
        ),
        (
            {
                "KERAS_DISTRIBUTION_JOB_ADDRESSES": "10.0.0.1:1234",
                "KERAS_DISTRIBUTION_NUM_PROCESSES": "2",
                "KERAS_DISTRIBUTION_PROCESS_ID": "2",
            },
            r"must be in \[0, num_processes\); received process_id=2",
        ),
    ],
)
def test_multi_worker_settings_errors_say_how_to_fix(monkeypatch, variables, message):
    for name in ("JOB_ADDRESSES", "NUM_PROCESSES", "PROCESS_ID"):
        monkeypatch.delenv(f"KERAS_DISTRIBUTION_{name}", raising=False)
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ValueError, match=message):
        initialize_multi_worker()


@TENSORFLOW_ONLY
def test_multi_worker_and_data_parallel_need_jax():
    with pytest.raises(ValueError, match="KERAS_BACKEND=jax"):
        initialize_multi_worker("127.0.0.1:1234", num_processes=2, process_id=0)
    with pytest.raises(ValueError, match="--strategy mirrored"):
        data_parallel()


@pytest.mark.skipif(keras.backend.backend() == "tensorflow", reason="for other backends")
def test_no_tf_distribute_on_other_backends():
    assert distribution_strategy() is None
    assert distribution_strategy("default") is None
    with pytest.raises(ValueError, match="data_parallel"):
        distribution_strategy("mirrored")
