"""Callbacks for `fit()`: the few pieces Keras lacks, and the standard set."""

import contextlib
import importlib.util
import json
import math
import os
import time
from collections.abc import Callable

import keras

from zoo.training.backup import STATE_FILE, ResumableBackup, write_json_atomically

CHECKPOINT_DIR = "checkpoints"
BACKUP_DIR = "backup"
LOG_DIR = "logs"


class TimeBudget(keras.callbacks.Callback):
    """Stops training once a wall-clock budget is spent.

    The clock starts when `fit()` begins and is read at the end of every
    training batch; once `seconds` have passed, `model.stop_training` is set,
    so Keras finishes the current batch, runs validation and the epoch-end
    callbacks (checkpoints), and returns normally. The budget covers one
    `fit()` call; time spent before a crash is not carried over.

    With `steps_per_execution > 1` Keras calls batch-end callbacks once per
    execution, so the budget is checked that often.

    Args:
        seconds: float. The budget, in seconds, greater than 0.
        clock: callable returning seconds as a float. Defaults to
            `time.monotonic`; tests pass a fake clock.
        verbose: int. `1` prints a line when the budget stops training.

    Attributes:
        stopped_epoch: the 0-based epoch in which training was stopped, or
            `None` if the budget was not spent.

    Example:

    >>> model.fit(x, y, epochs=1000, callbacks=[TimeBudget(10 * 60)])
    """

    def __init__(
        self,
        seconds: float,
        clock: Callable[[], float] = time.monotonic,
        verbose: int = 1,
    ):
        super().__init__()
        if not seconds > 0:
            raise ValueError(
                "`seconds` must be a positive number of seconds (e.g. 600 for ten "
                f"minutes); pass no TimeBudget for no limit. Received: seconds={seconds!r}"
            )
        self.seconds = float(seconds)
        self.clock = clock
        self.verbose = verbose
        self.stopped_epoch = None
        self._start = None
        self._epoch = 0

    def on_train_begin(self, logs=None):
        self._start = self.clock()
        self.stopped_epoch = None

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        elapsed = self.clock() - self._start
        if elapsed >= self.seconds and not self.model.stop_training:
            self.model.stop_training = True
            self.stopped_epoch = self._epoch
            if self.verbose:
                print(
                    f"\nTimeBudget: {elapsed:.1f}s of {self.seconds:.1f}s spent, "
                    f"stopping in epoch {self._epoch + 1} after batch {batch + 1}."
                )


class EpochClock(keras.callbacks.Callback):
    """Records `(seconds since fit() began, monitor's value)` at each epoch's end that has
    the value (a learning curve against time), in `points`.

    Args:
        monitor: the logged quantity to record, e.g. `"val_accuracy"`.
        clock: callable returning seconds as a float (default `time.perf_counter`).
    """

    def __init__(self, monitor: str = "val_loss", clock: Callable[[], float] = time.perf_counter):
        super().__init__()
        self.monitor = monitor
        self.clock = clock
        self.points = []

    def on_train_begin(self, logs=None):
        self._start = self.clock()

    def on_epoch_end(self, epoch, logs=None):
        value = (logs or {}).get(self.monitor)
        if value is not None:
            self.points.append((round(self.clock() - self._start, 1), float(value)))


class NonFiniteLossError(RuntimeError):
    """Training stopped because the loss became NaN or infinite."""


class StopOnNonFiniteLoss(keras.callbacks.TerminateOnNaN):
    """`keras.callbacks.TerminateOnNaN(raise_error=True)` with a message that says what
    happened and what to do.

    At the end of the first batch whose loss is NaN or infinite it raises
    `NonFiniteLossError` (a `RuntimeError`): `fit()` ends at once, without `on_train_end`
    and before any later callback in the list saves the broken weights, so the checkpoints
    and the backup keep the last good state.

    Args:
        saved: the paths where later callbacks keep the training state (a backup folder,
            checkpoint files); the message names those that exist when training stops.
    """

    def __init__(self, saved=()):
        super().__init__(raise_error=True)
        self.saved = [os.fspath(path) for path in saved]
        self._epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is None or math.isfinite(float(loss)):
            return
        kept = [path for path in self.saved if os.path.exists(path)]
        where = (
            f"The last good state is in {' and '.join(kept)}"
            if kept
            else "Nothing was saved yet (no epoch had ended)"
        )
        raise NonFiniteLossError(
            f"The training loss became {float(loss)} in epoch {self._epoch + 1}, batch "
            f"{batch + 1}; training stopped before any checkpoint saved those weights. "
            f"{where}. Lower the learning rate (or lengthen its warm-up), then train again "
            "(rerunning the recipe's command continues from its backup)."
        )


class AtomicModelCheckpoint(keras.callbacks.ModelCheckpoint):
    """`ModelCheckpoint` that never leaves a half-written checkpoint.

    Each save goes to a temporary file next to `filepath` and is then renamed
    over it (`os.replace`, atomic on one local filesystem), so a crash or a
    kill during a save leaves the previous checkpoint whole. With
    `save_best_only=True` the best monitored value is also written to
    `filepath + ".json"`, for `read_best_value` to hand back as
    `initial_value_threshold` when a run resumes.

    `filepath` must be a fixed local path (no `{epoch}`-style placeholders).
    Every other argument is `keras.callbacks.ModelCheckpoint`'s.

    Example:

    >>> checkpoint = AtomicModelCheckpoint("run/checkpoints/latest.keras")
    >>> model.fit(x, y, epochs=3, callbacks=[checkpoint])
    >>> model = keras.saving.load_model("run/checkpoints/latest.keras")
    """

    def __init__(self, filepath, **kwargs):
        filepath = os.fspath(filepath)
        if "{" in filepath:
            raise ValueError(
                "AtomicModelCheckpoint needs a fixed file name; use "
                "keras.callbacks.ModelCheckpoint for `{epoch}`-style placeholders. "
                f"Received: filepath={filepath!r}"
            )
        super().__init__(filepath, **kwargs)
        directory, name = os.path.split(self.filepath)
        # Same directory (same filesystem, so the rename is atomic) and same
        # extension (Keras checks it).
        self._temporary_filepath = os.path.join(directory, f"tmp-{name}")

    def on_train_batch_end(self, batch, logs=None):
        if self.save_freq == "epoch":
            return
        with self._saving_to_temporary_file():
            super().on_train_batch_end(batch, logs)

    def on_epoch_end(self, epoch, logs=None):
        with self._saving_to_temporary_file():
            super().on_epoch_end(epoch, logs)

    @contextlib.contextmanager
    def _saving_to_temporary_file(self):
        final_filepath = self.filepath
        if os.path.exists(self._temporary_filepath):  # left over by a crash
            os.remove(self._temporary_filepath)
        self.filepath = self._temporary_filepath
        try:
            yield
        finally:
            self.filepath = final_filepath
        if os.path.exists(self._temporary_filepath):  # the parent saved
            os.replace(self._temporary_filepath, final_filepath)
            if self.save_best_only and self.best is not None:
                write_json_atomically(
                    final_filepath + ".json",
                    {"monitor": self.monitor, "best": float(self.best)},
                )


def read_best_value(filepath: str | os.PathLike, monitor: str) -> float | None:
    """The best `monitor` value saved next to an `AtomicModelCheckpoint`.

    Args:
        filepath: the checkpoint's path (the value is read from
            `filepath + ".json"`).
        monitor: the quantity the value must have been recorded for.

    Returns:
        The value, or `None` if there is none for this `monitor`.
    """
    path = os.fspath(filepath) + ".json"
    if not os.path.exists(path):
        return None
    with open(path) as file:
        record = json.load(file)
    if record.get("monitor") != monitor:
        return None
    return record["best"]


def standard_callbacks(
    run_dir: str | os.PathLike,
    time_budget: float | None = None,
    tensorboard: bool | None = None,
    checkpoint_every: int | str = "epoch",
    monitor: str = "val_loss",
) -> list[keras.callbacks.Callback]:
    """The callbacks every recipe's `fit()` uses, writing under `run_dir`.

    In this order (the order matters, see below):
    1. `StopOnNonFiniteLoss()` (Keras's `TerminateOnNaN(raise_error=True)`): a
       NaN or Inf loss raises `NonFiniteLossError` at the end of that batch, before any later
       callback can save the poisoned weights, and without `on_train_end`, so
       the backup and the checkpoints keep the last good state. (The graceful
       default would run the epoch-end saves with the NaN weights, then delete
       the backup.)
    2. `ResumableBackup(run_dir/"backup")`, always: a `fit()` that crashed or
       was killed resumes, in the next `fit()` with the same `run_dir`, at the
       first epoch it did not finish, with the weights and optimizer state of
       the last backup (Keras's `BackupAndRestore` convention, made safe
       against a kill at any instant). The backup is deleted when `fit()`
       returns normally (including a `TimeBudget` stop).
    3. `AtomicModelCheckpoint` of the latest model,
       `run_dir/"checkpoints/latest.keras"`, every `checkpoint_every`.
    4. `AtomicModelCheckpoint` of the best model by `monitor`,
       `run_dir/"checkpoints/best.keras"`, every epoch. When resuming, the best
       value from before the crash is the threshold to beat.
    5. `keras.callbacks.TensorBoard(run_dir/"logs")` when `tensorboard` (by default, when
       the `tensorflow` and `tensorboard` packages are installed).
    6. `TimeBudget(time_budget)` when `time_budget` is given.

    The progress bar is Keras's own: `fit(verbose=1)` adds it.

    Args:
        run_dir: directory of this run; created as needed.
        time_budget: optional wall-clock budget for `fit()`, in seconds.
        tensorboard: whether to write TensorBoard logs (needs the
            `tensorflow` and `tensorboard` packages, also on the JAX backend); `None`
            (the default): when both are installed, so that a machine without
            TensorFlow (the JAX GPU machine) trains without logs rather than failing.
        checkpoint_every: `"epoch"` or a number of batches: how often the
            backup and the latest checkpoint are written. With a number of
            batches, a resumed run restarts its epoch from the first batch
            (Keras restores epochs, not batches).
        monitor: the quantity that picks the best model, `"val_loss"` by
            default; pass `"loss"` when `fit()` has no validation data.

    Returns:
        The list of callbacks, to pass to `fit(callbacks=...)`.

    Example:

    >>> callbacks = standard_callbacks("runs/transformer", time_budget=3600)
    >>> model.fit(train, validation_data=valid, epochs=20, callbacks=callbacks)
    """
    if checkpoint_every != "epoch" and not (
        isinstance(checkpoint_every, int)
        and not isinstance(checkpoint_every, bool)
        and checkpoint_every > 0
    ):
        raise ValueError(
            '`checkpoint_every` must be "epoch" or a positive number of batches. '
            f"Received: checkpoint_every={checkpoint_every!r}"
        )
    # tf.summary needs both; TensorFlow >= 2.21 no longer installs tensorboard.
    missing = [name for name in ("tensorflow", "tensorboard") if not _is_installed(name)]
    if tensorboard is None:
        tensorboard = not missing
    if tensorboard:
        if missing:
            raise ValueError(
                f"TensorBoard logs need the packages {missing}, which are not installed. "
                f"`pip install {' '.join(missing)}`, or pass tensorboard=False."
            )
    run_dir = os.fspath(run_dir)
    backup_dir = os.path.join(run_dir, BACKUP_DIR)
    best_filepath = os.path.join(run_dir, CHECKPOINT_DIR, "best.keras")

    latest_filepath = os.path.join(run_dir, CHECKPOINT_DIR, "latest.keras")
    resuming = os.path.exists(os.path.join(backup_dir, STATE_FILE))
    callbacks = [
        StopOnNonFiniteLoss(saved=[backup_dir, latest_filepath]),
        ResumableBackup(backup_dir, save_freq=checkpoint_every),
    ]
    callbacks.append(AtomicModelCheckpoint(latest_filepath, save_freq=checkpoint_every))
    callbacks.append(
        AtomicModelCheckpoint(
            best_filepath,
            monitor=monitor,
            save_best_only=True,
            initial_value_threshold=read_best_value(best_filepath, monitor) if resuming else None,
        )
    )
    if tensorboard:
        callbacks.append(keras.callbacks.TensorBoard(os.path.join(run_dir, LOG_DIR)))
    if time_budget is not None:
        callbacks.append(TimeBudget(time_budget))
    return callbacks


def _is_installed(package: str) -> bool:
    try:
        return importlib.util.find_spec(package) is not None
    except (ImportError, ValueError):  # e.g. None in sys.modules: deliberately absent
        return False
