"""Runs that cannot go well stop early, saying what to do: a folder that cannot be written, a
disk without room (before training), a loss that becomes NaN (before anything saves it)."""

import errno
import os
from pathlib import Path

import keras
import pytest

from zoo.runs import folders as output_folders
from zoo.runs import run_main
from zoo.runs.folders import (
    BASE_BYTES,
    CHECKPOINT_COPIES,
    check_free_space,
    check_writable,
    training_bytes,
)


def test_a_folder_that_cannot_be_made_is_named_with_its_flag(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(OSError, match=r"Cannot write to .*a-file/run .*--run-dir"):
        check_writable(blocker / "run", "--run-dir")


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes to read-only modes anyway")
def test_a_read_only_folder_is_refused(tmp_path):
    folder = tmp_path / "read-only"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        with pytest.raises(OSError, match=r"Cannot write to .*read-only \(Permission denied\)"):
            check_writable(folder, "--out")
    finally:
        folder.chmod(0o755)


def test_a_read_only_file_system_is_refused(tmp_path, monkeypatch):
    def read_only(self, data):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(self))

    monkeypatch.setattr(Path, "write_bytes", read_only)
    with pytest.raises(OSError, match=r"\(Read-only file system\)\. Choose a folder .* --out"):
        check_writable(tmp_path / "saved", "--out")


def test_the_probe_leaves_nothing_behind(tmp_path):
    assert check_writable(tmp_path / "new" / "run", "--run-dir") == tmp_path / "new" / "run"
    assert os.listdir(tmp_path / "new" / "run") == []
    # An export folder is checked, then left to the export to make.
    check_writable(tmp_path / "saved" / "model", "--out", keep=False)
    assert sorted(os.listdir(tmp_path)) == ["new"]


def test_free_space_below_the_need_is_refused_with_both_figures(tmp_path, monkeypatch):
    monkeypatch.setattr(
        output_folders.shutil, "disk_usage", lambda path: type("U", (), {"free": 10 * 1024**2})
    )
    with pytest.raises(OSError, match=r"has 10 MiB free, and a run needs about 64 MiB.*--run-dir"):
        check_free_space(tmp_path, BASE_BYTES, "a run", "--run-dir")
    check_free_space(tmp_path, 5 * 1024**2, "a run", "--run-dir")  # enough: no error


def test_training_bytes_counts_weights_and_adam_state_in_every_copy():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])  # 8 weights
    # Not built yet: assumes two moments and an EMA copy.
    assert training_bytes(model) == BASE_BYTES + CHECKPOINT_COPIES * 4 * (8 + 24)
    model.compile(optimizer="adam", loss="mse")
    model.optimizer.build(model.trainable_variables)
    # Built: Adam's own variables (two moments of 8, its step counter and learning rate).
    numbers = sum(int(v.numpy().size) for v in model.optimizer.variables)
    assert numbers == 8 + 8 + 2
    assert training_bytes(model) == BASE_BYTES + CHECKPOINT_COPIES * 4 * (8 + numbers)


@pytest.mark.skipif(keras.config.backend() != "tensorflow", reason="the recipe's data on TF")
def test_a_recipe_on_a_full_disk_stops_before_training(tmp_path, monkeypatch, capsys):
    from recipes import char_lm

    # Room for the run's small files, not for this model's checkpoints.
    free = BASE_BYTES + 1
    monkeypatch.setattr(
        output_folders.shutil, "disk_usage", lambda path: type("U", (), {"free": free})
    )
    fitted = []
    monkeypatch.setattr(keras.Model, "fit", lambda *a, **k: fitted.append(1))
    arguments = ["--steps", "8", "--steps-per-epoch", "4", "--preset", "tiny", "--num-layers", "1"]
    arguments += ["--hidden-dim", "32", "--num-heads", "2", "--generated-examples", "200"]
    arguments += ["--run-dir", str(tmp_path / "run"), "--out", str(tmp_path / "saved")]
    with pytest.raises(SystemExit) as stopped:
        run_main(char_lm.main, arguments)
    assert stopped.value.code == 1 and not fitted
    error = capsys.readouterr().err
    assert "error: " in error and "MiB free, and training a model of" in error
    assert "--run-dir" in error
    assert not (tmp_path / "run" / "checkpoints").exists()


@pytest.mark.skipif(keras.config.backend() != "tensorflow", reason="the recipe's data on TF")
def test_a_recipe_whose_loss_becomes_nan_stops_with_what_to_do(tmp_path, capsys):
    from recipes import char_lm

    arguments = ["--steps", "8", "--steps-per-epoch", "4", "--preset", "tiny", "--num-layers", "1"]
    arguments += ["--hidden-dim", "32", "--num-heads", "2", "--generated-examples", "200"]
    arguments += ["--batch-size", "4", "--sequence-length", "16", "--no-mixed-precision"]
    arguments += ["--learning-rate", "1e30", "--warmup-steps", "0"]  # diverges
    arguments += ["--run-dir", str(tmp_path / "run"), "--out", str(tmp_path / "saved")]
    with pytest.raises(SystemExit) as stopped:
        run_main(char_lm.main, arguments)
    assert stopped.value.code == 1
    error = capsys.readouterr().err
    assert "error: NonFiniteLossError: The training loss became nan in epoch 1, batch" in error
    assert "Nothing was saved yet" in error and "Lower the learning rate" in error
    # Nothing saved the broken weights, and no export was attempted.
    assert not (tmp_path / "run" / "checkpoints").exists()
    assert not (tmp_path / "run" / "backup").exists()
    assert not (tmp_path / "saved").exists()
