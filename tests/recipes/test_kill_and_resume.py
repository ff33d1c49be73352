"""Crashes lose nothing, shown by processes that are really killed (SIGKILL) at random points:
a recipe started plainly (nothing said about resuming), killed mid-training and started again
with the same command, ends where an uninterrupted run ends; the same command on the finished
run says so; an export killed mid-write leaves no version a model server would load."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import keras
import numpy as np
import pytest

if keras.config.backend() != "tensorflow":
    pytest.skip("the recipe exports a SavedModel (TensorFlow)", allow_module_level=True)

REPOSITORY = Path(__file__).resolve().parents[2]
# A tiny character language model: 10 epochs of 16 steps, dropout off, float32 (every step
# then depends on the weights, the optimizer state and the step's windows alone).
RECIPE = [
    *("--steps", "160", "--steps-per-epoch", "16", "--eval-windows", "4"),
    *("--batch-size", "8", "--sequence-length", "32", "--generated-examples", "400"),
    *("--sample-tokens", "8", "--prompts", "the", "--preset", "tiny", "--num-layers", "1"),
    *("--hidden-dim", "32", "--num-heads", "2", "--intermediate-dim", "64", "--dropout", "0"),
    *("--no-mixed-precision", "--seed", "3", "--no-export"),
]
EPOCHS = 10
# Seconds a kill may wait after its trigger: up to a few epochs of this model on 2 cores, so
# that kills land inside epochs, inside saves and between them.
KILL_DELAY = (0.0, 0.6)


def start(module: str, *arguments: str, log: Path) -> subprocess.Popen:
    env = dict(
        os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONUNBUFFERED="1", KERAS_BACKEND="tensorflow"
    )
    with open(log, "ab") as file:
        return subprocess.Popen(
            [sys.executable, "-m", module, *arguments],
            cwd=REPOSITORY,
            env=env,
            stdout=file,
            stderr=subprocess.STDOUT,
        )


def finish(process: subprocess.Popen, log: Path) -> None:
    assert process.wait(timeout=600) == 0, log.read_text()[-3000:]


def kill_when(process: subprocess.Popen, ready, delay: float, log: Path) -> bool:
    """SIGKILL `process` `delay` seconds after `ready()` first holds; `False` when the process
    ended first (nothing to kill)."""
    deadline = time.monotonic() + 300
    while not ready():
        if process.poll() is not None:
            return False
        assert time.monotonic() < deadline, log.read_text()[-3000:]
        time.sleep(0.02)
    time.sleep(delay)
    if process.poll() is not None:
        return False
    process.send_signal(signal.SIGKILL)
    assert process.wait(timeout=60) == -signal.SIGKILL
    return True


def backed_up_epochs(run_dir: Path) -> int:
    try:
        return json.loads((run_dir / "backup" / "state.json").read_text())["epoch"]
    except (FileNotFoundError, json.JSONDecodeError):
        return 0


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    folder = tmp_path_factory.mktemp("uninterrupted")
    log = folder / "log.txt"
    arguments = ("--run-dir", str(folder / "run"), "--out", str(folder / "saved"))
    finish(start("recipes.char_lm", *RECIPE, *arguments, log=log), log)
    return json.loads((folder / "run" / "results.json").read_text())


@pytest.fixture(scope="module")
def killed_and_resumed(tmp_path_factory):
    """The same run, started plainly, killed three times at random points, each time started
    again with the very same command (which continues from the backup), then once more
    after it finished."""
    folder = tmp_path_factory.mktemp("killed")
    run_dir, log = folder / "run", folder / "log.txt"
    arguments = ("--run-dir", str(run_dir), "--out", str(folder / "saved"))
    seed = int.from_bytes(os.urandom(4), "little")
    rng = np.random.default_rng(seed)
    # Kill once the backup has reached these epochs, plus a random delay each; every process
    # backs up at least one epoch of its own before it is killed (progress between kills).
    triggers = sorted(rng.choice(np.arange(1, EPOCHS - 3), size=3, replace=False).tolist())
    kills = []
    for trigger in triggers:
        trigger = max(trigger, backed_up_epochs(run_dir) + 1)
        delay = float(rng.uniform(*KILL_DELAY))
        process = start("recipes.char_lm", *RECIPE, *arguments, log=log)
        if kill_when(process, lambda t=trigger: backed_up_epochs(run_dir) >= t, delay, log):
            kills.append({"after_epoch": backed_up_epochs(run_dir), "delay": round(delay, 3)})
    finish(start("recipes.char_lm", *RECIPE, *arguments, log=log), log)
    results = json.loads((run_dir / "results.json").read_text())
    again_log = folder / "again.txt"
    again = start("recipes.char_lm", *RECIPE, *arguments, log=again_log).wait(timeout=600)
    return {
        "results": results,
        "kills": kills,
        "seed": seed,
        "folder": folder,
        "log": log,
        "again": (again, again_log.read_text()),
    }


@pytest.mark.slow
def test_a_run_killed_at_random_points_ends_as_one_never_killed(uninterrupted, killed_and_resumed):
    kills, seed = killed_and_resumed["kills"], killed_and_resumed["seed"]
    context = f"kills {kills} (random seed {seed})"
    # Each trigger leaves several epochs to go: every kill lands before the run could end.
    assert len(kills) == 3, context
    log = killed_and_resumed["log"].read_text()
    assert log.count("weights):") == 4, context  # four processes built the model
    # Each process after a kill continued the backup (none started over).
    assert log.count("Continuing the run in") == 3, context
    expected, resumed = uninterrupted["metrics"], killed_and_resumed["results"]["metrics"]
    # The same number of optimizer steps: no epoch lost, none trained twice.
    assert resumed["train_steps"] == expected["train_steps"] == 160, context
    # Same weights, optimizer state and data at every step: the same final loss. The
    # tolerance allows for float32 sums in another order in another process; measured: equal.
    np.testing.assert_allclose(
        resumed["validation_loss_nats_per_char"],
        expected["validation_loss_nats_per_char"],
        rtol=1e-5,
        err_msg=context,
    )
    # The last validation estimate was made by the last process, after the last kill.
    np.testing.assert_allclose(
        resumed["validation_estimate_during_training"][-1],
        expected["validation_estimate_during_training"][-1],
        rtol=1e-5,
        err_msg=context,
    )


@pytest.mark.slow
def test_the_same_command_on_a_finished_run_says_so(killed_and_resumed):
    status, output = killed_and_resumed["again"]
    assert status == 1, output
    assert "holds a finished run" in output and "--restart" in output
    assert "weights):" not in output  # refused before building anything


@pytest.mark.slow
def test_an_export_killed_while_writing_leaves_no_version(killed_and_resumed):
    import tensorflow as tf

    folder = killed_and_resumed["folder"]
    run_dir, out, log = folder / "run", folder / "saved", folder / "export-log.txt"
    # The run was trained with --no-export: a first export, then three that are killed.
    assert "zoo export" in killed_and_resumed["log"].read_text()
    assert not out.exists()
    finish(start("zoo.cli", "export", str(run_dir), "--out", str(out), log=log), log)
    assert sorted(os.listdir(out)) == ["1"]
    seed = int.from_bytes(os.urandom(4), "little")
    rng = np.random.default_rng(seed)
    kills = finished = 0
    killed = []  # "-<pid>-" of each killed writer
    for _ in range(3):
        # Killed a random moment after this process created its temporary version folder
        # (its name holds the writer's pid): while it writes or checks the SavedModel.
        delay = float(rng.uniform(0.0, 1.5))
        process = start("zoo.cli", "export", str(run_dir), "--out", str(out), log=log)
        mine = f"-{process.pid}-"
        writing = lambda mine=mine: any(  # noqa: E731
            n.startswith(".tmp-") and mine in n for n in os.listdir(out)
        )
        if kill_when(process, writing, delay, log):
            kills += 1
            killed.append(mine)
        else:  # it finished first: its version is published, as it should be
            finish(process, log)
            finished += 1
    context = f"{kills} kills, {finished} finished, random seed {seed}: {sorted(os.listdir(out))}"
    assert kills >= 2, context
    # A killed writer leaves its temporary folder; each export removes those of writers that
    # are gone, so at most the last one's is left.
    leftovers = [name for name in os.listdir(out) if name.startswith(".tmp-")]
    assert len(leftovers) <= 1 and all(killed[-1] in name for name in leftovers), context
    # What a model server would load: integer folders only. The killed writes are not there.
    versions = sorted(int(name) for name in os.listdir(out) if name.isdigit())
    assert versions == list(range(1, 2 + finished)), context
    loaded = tf.saved_model.load(str(out / "1"))
    assert "generate" in loaded.signatures
    # The next export takes the next free number, and removes what the killed ones left.
    finish(start("zoo.cli", "export", str(run_dir), "--out", str(out), log=log), log)
    expected = [str(version) for version in range(1, 3 + finished)]
    assert sorted(os.listdir(out), key=int) == expected, context
    assert json.loads((run_dir / "export_result.json").read_text())["agrees"]
