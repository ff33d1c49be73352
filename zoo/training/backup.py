"""A backup of the training state that a killed process resumes from, written so that no
kill, at any instant, leaves a backup that is half old and half new."""

import json
import os
import shutil

import keras

STATE_FILE = "state.json"


class ResumableBackup(keras.callbacks.Callback):
    """Backs up the weights and optimizer state; a later `fit()` on the same folder resumes.

    What `keras.callbacks.BackupAndRestore` does, written for a process that may be killed
    at any instant (SIGKILL, an out-of-memory kill, a pre-empted machine). Keras's callback
    writes the weights file and then the epoch counter beside it: a kill between the two
    leaves new weights with the old epoch, and the resumed run trains that epoch twice.
    Here each backup is a new weights file, made whole (written under a temporary name,
    flushed to disk, renamed) before `state.json` — replaced atomically — points at it:
    whenever the process dies, `state.json` names a complete file and the epoch it ends.

    On `fit()`'s start, when `backup_dir` holds a state, the weights (and the optimizer's
    moments and step counter, which the weights file holds) are loaded and `fit()` starts
    at the first epoch the state has not finished. When `fit()` returns normally (also
    after a `TimeBudget` stop) the folder is deleted, so a finished run starts over; a
    `fit()` ended by an exception (a kill, `TerminateOnNaN(raise_error=True)`) keeps it.

    Args:
        backup_dir: the folder of the backup; created as needed.
        save_freq: `"epoch"`, or a number of batches between backups. With batches, a
            resumed run restarts the unfinished epoch from its first batch (as Keras's
            callback does: `fit()` resumes epochs, not batches).

    Example:

    >>> model.fit(data, epochs=20, callbacks=[ResumableBackup("runs/lm/backup")])
    """

    def __init__(self, backup_dir: str | os.PathLike, save_freq: int | str = "epoch"):
        super().__init__()
        if save_freq != "epoch" and not (
            isinstance(save_freq, int) and not isinstance(save_freq, bool) and save_freq > 0
        ):
            raise ValueError(
                '`save_freq` must be "epoch" or a positive number of batches. '
                f"Received: save_freq={save_freq!r}"
            )
        self.backup_dir = os.fspath(backup_dir)
        self.save_freq = save_freq
        self._epoch = 0
        self._batches_since_save = 0

    def on_train_begin(self, logs=None):
        state = read_backup_state(self.backup_dir)
        if state is None:
            return
        if not self.model.built:
            raise ValueError(
                "Resuming from a backup needs a built model: call the model on a batch "
                "(or build it) before fit()."
            )
        if self.model.optimizer is not None and not self.model.optimizer.built:
            self.model.optimizer.build(self.model.trainable_variables)
        self.model.load_weights(os.path.join(self.backup_dir, state["weights"]))
        # What keras.callbacks.BackupAndRestore sets: fit() starts at this epoch.
        self.model._initial_epoch = state["epoch"]

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self.save_freq == "epoch":
            return
        self._batches_since_save += 1
        if self._batches_since_save >= self.save_freq:
            self._batches_since_save = 0
            self._save(epoch=self._epoch, name=f"epoch-{self._epoch}-batch-{batch + 1}")

    def on_epoch_end(self, epoch, logs=None):
        if self.save_freq == "epoch":
            self._save(epoch=epoch + 1, name=f"epoch-{epoch + 1}")

    def on_train_end(self, logs=None):
        self.model._initial_epoch = None
        shutil.rmtree(self.backup_dir, ignore_errors=True)

    def _save(self, epoch: int, name: str) -> None:
        os.makedirs(self.backup_dir, exist_ok=True)
        weights = f"{name}.weights.h5"
        temporary = os.path.join(self.backup_dir, f"tmp-{weights}")
        self.model.save_weights(temporary, overwrite=True)
        _flush_to_disk(temporary)
        os.replace(temporary, os.path.join(self.backup_dir, weights))
        write_json_atomically(
            os.path.join(self.backup_dir, STATE_FILE), {"epoch": epoch, "weights": weights}
        )
        for entry in os.listdir(self.backup_dir):  # older backups, a killed save's leftovers
            if entry.endswith(".weights.h5") and entry != weights:
                os.remove(os.path.join(self.backup_dir, entry))


def read_backup_state(backup_dir: str | os.PathLike) -> dict | None:
    """`{"epoch": the epochs finished, "weights": file name}` of the backup in `backup_dir`,
    or `None` when there is none.

    Recipes read it before `fit()` to start their data where the resumed run starts.
    """
    path = os.path.join(os.fspath(backup_dir), STATE_FILE)
    if not os.path.exists(path):
        return None
    with open(path) as file:
        return json.load(file)


def backed_up_epochs(backup_dir: str | os.PathLike) -> int:
    """How many epochs the backup in `backup_dir` has finished (0 when there is none): the
    epoch a resumed `fit()` starts at."""
    state = read_backup_state(backup_dir)
    return 0 if state is None else int(state["epoch"])


def _flush_to_disk(path: str) -> None:
    with open(path, "rb+") as file:
        os.fsync(file.fileno())


def write_json_atomically(path: str, record: dict) -> None:
    """Writes `record` as JSON to `path` through a flushed temporary file and a rename: a
    reader sees the old file or the new one, never half of one."""
    temporary = f"{path}.tmp"
    with open(temporary, "w") as file:
        json.dump(record, file)
        file.flush()
        os.fsync(file.fileno())
    os.replace(temporary, path)
