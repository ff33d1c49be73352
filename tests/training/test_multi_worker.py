"""Several machines, for real: two JAX processes on 127.0.0.1 train one model with
`keras.distribution.DataParallel`, each feeding its own shard of every global batch, and
finish with the weights of a one-process run over the same global batches.

What a user does on N machines (README, "Scaling out"): the same program on each, with
`KERAS_BACKEND=jax`, `KERAS_DISTRIBUTION_JOB_ADDRESSES` (process 0's host:port),
`KERAS_DISTRIBUTION_NUM_PROCESSES` and `KERAS_DISTRIBUTION_PROCESS_ID` set.
"""

import json
import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

REPOSITORY = Path(__file__).resolve().parents[2]
NUM_WORKERS = 2

# Tolerance of the two-process run against the one-process run, in float32. Each step is
# one XLA computation over the global batch in both, so the loss is the same average over
# all real tokens (padding included, unlike tf.distribute's per-device average); only the
# order of the sums differs (each process sums its half, gloo adds the halves). Measured on
# this CPU (jax 0.10.2, gloo): per-step losses at most 3.5e-7 relative, weights after 6
# Adam steps of 1e-2 at most 1.7e-5. Tolerances as for MirroredStrategy
# (tests/training/test_distribution.py): 1e-5 relative on losses, 2e-4 on weights (2 % of
# one Adam step), far below what a real difference (a shard fed twice, a gradient not
# averaged over both processes) does to them.
LOSS_RTOL = 1e-5
WEIGHT_ATOL = 2e-4

SCRIPT = textwrap.dedent(
    """
    import json, sys

    import keras
    import numpy as np

    import zoo
    from zoo.data.toy_tasks import task_data
    from zoo.training import (
        MaskedSparseCategoricalCrossentropy,
        data_parallel,
        initialize_multi_worker,
        process_shard,
    )

    STEPS, GLOBAL_BATCH, LENGTH = 6, 8, 8
    out = sys.argv[1]
    if sys.argv[2] == "worker":
        # Reads KERAS_DISTRIBUTION_JOB_ADDRESSES, _NUM_PROCESSES and _PROCESS_ID.
        process_id, num_processes = initialize_multi_worker()
        distribution = data_parallel()
        devices = len(distribution.device_mesh.devices.ravel())
    else:
        process_id, num_processes, devices = 0, 1, 1


    from tests.step_losses import StepLosses


    keras.utils.set_random_seed(0)  # the same weights on every process
    model = zoo.build("transformer", task="lm", preset="tiny")
    model.compile(
        optimizer=keras.optimizers.Adam(1e-2), loss=MaskedSparseCategoricalCrossentropy()
    )
    # Every process makes the whole data set (same seed), then keeps its rows of each batch.
    inputs, targets = task_data(
        "lm", model.config, np.random.default_rng(0), batch=STEPS * GLOBAL_BATCH, length=LENGTH
    )
    # Random right padding: each process's share has its own number of real tokens.
    lengths = np.random.default_rng(1).integers(2, LENGTH + 1, size=len(targets))
    targets = np.where(np.arange(LENGTH)[None, :] < lengths[:, None], targets, 0)
    inputs, targets = process_shard((inputs, targets), GLOBAL_BATCH, process_id, num_processes)

    losses = StepLosses()
    model.fit(
        inputs,
        targets,
        batch_size=GLOBAL_BATCH // num_processes,
        epochs=1,
        shuffle=False,
        callbacks=[losses],
        verbose=0,
    )
    np.savez(out + ".npz", *[np.asarray(weight) for weight in model.get_weights()])
    with open(out + ".json", "w") as file:
        json.dump(
            {
                "process_id": process_id,
                "devices": devices,
                "rows": len(inputs),
                "losses": losses.per_step(),
                "steps": int(model.optimizer.iterations),
            },
            file,
        )
    """
)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def environment(**variables):
    env = dict(os.environ)
    # One CPU device per process, whatever the caller's XLA flags; no inherited cluster.
    for name in ("XLA_FLAGS", "TF_CONFIG", "JAX_COORDINATOR_ADDRESS"):
        env.pop(name, None)
    for name in [name for name in env if name.startswith("KERAS_DISTRIBUTION_")]:
        env.pop(name)
    env.update(
        KERAS_BACKEND="jax",
        JAX_PLATFORMS="cpu",
        PYTHONPATH=str(REPOSITORY),
        TF_CPP_MIN_LOG_LEVEL="3",
        **variables,
    )
    return env


def start(out: Path, role: str, env: dict) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", SCRIPT, str(out), role],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        cwd=REPOSITORY,
    )


def finish(process: subprocess.Popen, name: str) -> None:
    try:
        output, _ = process.communicate(timeout=240)
    except subprocess.TimeoutExpired:
        process.kill()
        output, _ = process.communicate()
        pytest.fail(f"{name} did not finish in 240 s:\n{output[-3000:]}")
    assert process.returncode == 0, f"{name} failed:\n{output[-3000:]}"


def read(out: Path):
    figures = json.loads(out.with_suffix(".json").read_text())
    with np.load(out.with_suffix(".npz")) as weights:
        return figures, [weights[f"arr_{index}"] for index in range(len(weights.files))]


@pytest.mark.slow
def test_two_processes_on_loopback_train_as_one(tmp_path):
    port = free_port()
    cluster = {
        "KERAS_DISTRIBUTION_JOB_ADDRESSES": f"127.0.0.1:{port}",
        "KERAS_DISTRIBUTION_NUM_PROCESSES": str(NUM_WORKERS),
    }
    workers = [
        start(
            tmp_path / f"worker{index}",
            "worker",
            environment(**cluster, KERAS_DISTRIBUTION_PROCESS_ID=str(index)),
        )
        for index in range(NUM_WORKERS)
    ]
    single = start(tmp_path / "single", "single", environment())
    try:
        for index, worker in enumerate(workers):
            finish(worker, f"worker {index}")
        finish(single, "the one-process run")
    finally:
        for process in (*workers, single):
            if process.poll() is None:
                process.kill()

    reference, reference_weights = read(tmp_path / "single")
    runs = [read(tmp_path / f"worker{index}") for index in range(NUM_WORKERS)]
    for index, (figures, weights) in enumerate(runs):
        assert figures["process_id"] == index
        assert figures["devices"] == NUM_WORKERS  # one mesh over both processes' CPUs
        assert figures["rows"] == reference["rows"] // NUM_WORKERS  # its shard, not all
        assert figures["steps"] == reference["steps"] == 6
        # Both processes see the same, global loss: the one-process run's.
        np.testing.assert_allclose(figures["losses"], reference["losses"], rtol=LOSS_RTOL)
        for weight, expected in zip(weights, reference_weights, strict=True):
            np.testing.assert_allclose(weight, expected, rtol=0, atol=WEIGHT_ATOL)
    # The processes hold one model: their weights are identical, bit for bit.
    for first, second in zip(runs[0][1], runs[1][1], strict=True):
        np.testing.assert_array_equal(first, second)
    assert reference["losses"][-1] < 0.8 * reference["losses"][0]  # it did learn
