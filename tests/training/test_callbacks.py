import importlib.util
import os

import keras
import numpy as np
import pytest

from zoo.training import AtomicModelCheckpoint, TimeBudget, read_best_value, standard_callbacks
from zoo.training.callbacks import NonFiniteLossError

NEEDS_TENSORBOARD = pytest.mark.skipif(
    importlib.util.find_spec("tensorboard") is None,
    reason="the tensorboard package is not installed (TensorFlow >= 2.21 does not pull it in)",
)
RNG = np.random.default_rng(0)
X = RNG.normal(size=(16, 4)).astype("float32")
Y = (X @ np.array([[1.0], [-2.0], [0.5], [3.0]])).astype("float32")
BATCH_SIZE = 4  # 4 batches an epoch


def make_model(seed: int, learning_rate: float = 0.05) -> keras.Model:
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    # Adam has state (moments) that a resume must restore as well as the weights.
    # Graph mode, as in the recipes.
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss="mse")
    return model


def fit(model, run_dir, epochs, extra_callbacks=(), y=Y, **kwargs):
    kwargs = {"tensorboard": False, "monitor": "loss", **kwargs}
    callbacks = standard_callbacks(run_dir, **kwargs)
    return model.fit(
        X,
        y,
        batch_size=BATCH_SIZE,
        epochs=epochs,
        shuffle=False,
        verbose=0,
        callbacks=callbacks + list(extra_callbacks),
    )


def weights_of(model) -> list[np.ndarray]:
    return [np.array(weight) for weight in model.get_weights()]


def assert_same_weights(actual, expected):
    assert len(actual) == len(expected)
    for actual_weight, expected_weight in zip(actual, expected, strict=True):
        np.testing.assert_allclose(actual_weight, expected_weight, rtol=1e-6, atol=1e-7)


class CrashAtEpoch(keras.callbacks.Callback):
    def __init__(self, epoch):
        super().__init__()
        self.epoch = epoch

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == self.epoch:
            raise RuntimeError(f"Simulated crash at the start of epoch {epoch}.")


class Recorder(keras.callbacks.Callback):
    """Records epochs started, batches run and weights, as fit() goes."""

    def __init__(self):
        super().__init__()
        self.epochs, self.batches = [], 0
        self.weights_at_train_begin = None
        self.weights_at_epoch_end, self.weights_at_batch_end = {}, None

    def on_train_begin(self, logs=None):
        self.weights_at_train_begin = weights_of(self.model)

    def on_epoch_begin(self, epoch, logs=None):
        self.epochs.append(epoch)

    def on_train_batch_end(self, batch, logs=None):
        self.batches += 1
        self.weights_at_batch_end = weights_of(self.model)

    def on_epoch_end(self, epoch, logs=None):
        self.weights_at_epoch_end[epoch] = weights_of(self.model)


def test_resume_after_crash_continues_where_it_stopped(tmp_path):
    # Reference: four epochs without a crash.
    reference = make_model(seed=0)
    reference_history = fit(reference, tmp_path / "reference", epochs=4)

    run_dir = tmp_path / "run"
    crashed = make_model(seed=0)
    before_crash = Recorder()
    with pytest.raises(RuntimeError, match="Simulated crash"):
        fit(crashed, run_dir, epochs=4, extra_callbacks=[before_crash, CrashAtEpoch(2)])
    assert before_crash.epochs == [0, 1, 2]
    assert os.path.exists(run_dir / "backup")

    # A new process: a model with other initial weights, the same run_dir.
    resumed = make_model(seed=1)
    after_crash = Recorder()
    history = fit(resumed, run_dir, epochs=4, extra_callbacks=[after_crash])

    # Restored to the end of epoch 1, then ran epochs 2 and 3 only.
    assert_same_weights(after_crash.weights_at_train_begin, before_crash.weights_at_epoch_end[1])
    assert after_crash.epochs == [2, 3]
    assert after_crash.batches == 2 * len(X) // BATCH_SIZE
    # Same weights, optimizer state and losses as the run that never crashed.
    np.testing.assert_allclose(
        history.history["loss"], reference_history.history["loss"][2:], rtol=1e-5
    )
    assert_same_weights(weights_of(resumed), weights_of(reference))
    # A finished fit() removes the backup; the latest checkpoint is the final model.
    assert not os.path.exists(run_dir / "backup")
    latest = keras.saving.load_model(run_dir / "checkpoints" / "latest.keras")
    assert_same_weights(weights_of(latest), weights_of(reference))


class PoisonWeights(keras.callbacks.Callback):
    """Sets the kernel to NaN before one batch, as a diverging step would."""

    def __init__(self, epoch, batch):
        super().__init__()
        self.target, self.epoch = (epoch, batch), None

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_begin(self, batch, logs=None):
        if (self.epoch, batch) == self.target:
            kernel = self.model.layers[0].kernel
            kernel.assign(np.full(kernel.shape, np.nan, "float32"))


def test_nan_loss_stops_before_any_checkpoint_saves_it(tmp_path):
    model = make_model(seed=0)
    recorder = Recorder()
    with pytest.raises(NonFiniteLossError, match=r"loss became nan in epoch 2, batch 3;") as error:
        fit(
            model,
            tmp_path,
            epochs=3,
            extra_callbacks=[PoisonWeights(epoch=1, batch=2), recorder],
            checkpoint_every=1,  # save after every batch: the hardest case
        )
    assert f"The last good state is in {tmp_path / 'backup'} and {tmp_path}" in str(error.value)
    assert np.isnan(weights_of(model)[0]).all()
    last_good = recorder.weights_at_batch_end  # after epoch 1, batch 1
    assert recorder.batches == 4 + 2
    # The latest checkpoint and the backup hold the last good weights.
    latest = keras.saving.load_model(tmp_path / "checkpoints" / "latest.keras")
    assert_same_weights(weights_of(latest), last_good)
    resumed = make_model(seed=1)
    after_crash = Recorder()
    fit(resumed, tmp_path, epochs=3, extra_callbacks=[after_crash], checkpoint_every=1)
    assert_same_weights(after_crash.weights_at_train_begin, last_good)
    # Keras restores epochs, not batches: epoch 1 restarts from its first batch.
    assert after_crash.epochs == [1, 2]
    assert np.isfinite(weights_of(resumed)[0]).all()


def test_best_checkpoint_survives_a_resume_that_does_worse(tmp_path):
    crashed = make_model(seed=0, learning_rate=0.1)
    before_crash = Recorder()
    with pytest.raises(RuntimeError, match="Simulated crash"):
        fit(crashed, tmp_path, epochs=4, extra_callbacks=[before_crash, CrashAtEpoch(2)])
    best_before = read_best_value(tmp_path / "checkpoints" / "best.keras", "loss")
    assert best_before is not None

    # After the resume the targets are 10x larger, so every epoch's loss is worse
    # than the best before the crash: best.keras must keep the epoch-1 model.
    resumed = make_model(seed=1, learning_rate=0.1)
    history = fit(resumed, tmp_path, epochs=4, y=10.0 * Y)
    assert min(history.history["loss"]) > best_before  # the premise of this test
    best = keras.saving.load_model(tmp_path / "checkpoints" / "best.keras")
    assert_same_weights(weights_of(best), before_crash.weights_at_epoch_end[1])
    assert read_best_value(tmp_path / "checkpoints" / "best.keras", "loss") == best_before


def test_atomic_checkpoint_keeps_the_last_good_file_when_a_save_fails(tmp_path):
    filepath = tmp_path / "latest.keras"
    model = make_model(seed=0)
    model.fit(X, Y, epochs=1, verbose=0, callbacks=[AtomicModelCheckpoint(filepath)])
    saved = weights_of(model)

    def save_half_then_fail(path, overwrite=True):
        with open(path, "wb") as file:
            file.write(b"PK\x03\x04 half a zip")
        raise OSError("Simulated crash while saving.")

    model.save = save_half_then_fail
    with pytest.raises(OSError, match="Simulated crash"):
        model.fit(X, Y, epochs=1, verbose=0, callbacks=[AtomicModelCheckpoint(filepath)])
    assert_same_weights(weights_of(keras.saving.load_model(filepath)), saved)


def test_atomic_checkpoint_rejects_placeholders(tmp_path):
    with pytest.raises(ValueError, match="keras.callbacks.ModelCheckpoint"):
        AtomicModelCheckpoint(tmp_path / "model-{epoch:02d}.keras")


class FakeClock:
    """Each reading is one second later than the last, starting at 0."""

    def __init__(self):
        self.now = -1.0

    def __call__(self):
        self.now += 1.0
        return self.now


@pytest.mark.parametrize(
    "seconds, batches_run, epochs_run",
    [
        # Clock: 0 at train begin, then 1, 2, 3, ... at each batch end.
        (2.5, 3, 1),  # 3 >= 2.5 at the third batch of the first epoch
        (5.5, 6, 2),  # 6 >= 5.5 at the second batch of the second epoch
        (100.0, 12, 3),  # never spent: all 3 epochs of 4 batches
    ],
)
def test_time_budget_stops_after_the_batch_that_spends_it(seconds, batches_run, epochs_run):
    model = make_model(seed=0)
    recorder = Recorder()
    budget = TimeBudget(seconds, clock=FakeClock(), verbose=0)
    history = model.fit(
        X, Y, batch_size=BATCH_SIZE, epochs=3, verbose=0, callbacks=[budget, recorder]
    )
    assert recorder.batches == batches_run
    assert len(history.history["loss"]) == epochs_run
    assert budget.stopped_epoch == (None if batches_run == 12 else epochs_run - 1)


def test_time_budget_on_the_real_clock(tmp_path):
    # Any batch takes longer than a microsecond: one batch, then stop.
    model = make_model(seed=0)
    recorder = Recorder()
    fit(model, tmp_path, epochs=3, time_budget=1e-6, extra_callbacks=[recorder])
    assert recorder.batches == 1
    # The stopped epoch still ends normally: the checkpoint is written.
    assert os.path.exists(tmp_path / "checkpoints" / "latest.keras")


@NEEDS_TENSORBOARD
def test_tensorboard_logs_are_written(tmp_path):
    model = make_model(seed=0)
    fit(model, tmp_path, epochs=2, tensorboard=True)
    assert os.listdir(tmp_path / "logs" / "train")


@NEEDS_TENSORBOARD
def test_standard_callbacks_order_and_paths(tmp_path):
    callbacks = standard_callbacks(tmp_path, time_budget=60, checkpoint_every=10)
    assert [type(callback).__name__ for callback in callbacks] == [
        "StopOnNonFiniteLoss",
        "ResumableBackup",
        "AtomicModelCheckpoint",
        "AtomicModelCheckpoint",
        "TensorBoard",
        "TimeBudget",
    ]
    terminate, backup, latest, best, tensorboard, budget = callbacks
    assert terminate.raise_error
    assert backup.backup_dir == str(tmp_path / "backup") and backup.save_freq == 10
    assert latest.filepath == str(tmp_path / "checkpoints" / "latest.keras")
    assert latest.save_freq == 10 and not latest.save_best_only
    assert best.filepath == str(tmp_path / "checkpoints" / "best.keras")
    assert best.save_best_only and best.monitor == "val_loss" and best.save_freq == "epoch"
    assert tensorboard.log_dir == str(tmp_path / "logs")
    assert budget.seconds == 60.0


def test_standard_callbacks_always_back_up(tmp_path):
    # No argument turns the backup off: a run started without any thought of a crash resumes.
    callbacks = standard_callbacks(tmp_path, tensorboard=False)
    assert [type(callback).__name__ for callback in callbacks] == [
        "StopOnNonFiniteLoss",
        "ResumableBackup",
        "AtomicModelCheckpoint",
        "AtomicModelCheckpoint",
    ]
    assert callbacks[1].backup_dir == str(tmp_path / "backup")
    assert [callback.filepath for callback in callbacks[2:]] == [
        str(tmp_path / "checkpoints" / "latest.keras"),
        str(tmp_path / "checkpoints" / "best.keras"),
    ]


@pytest.mark.parametrize("checkpoint_every", [0, -5, 2.5, "batch", True])
def test_invalid_checkpoint_every_says_how_to_fix(tmp_path, checkpoint_every):
    with pytest.raises(ValueError, match='"epoch" or a positive number of batches'):
        standard_callbacks(tmp_path, checkpoint_every=checkpoint_every, tensorboard=False)


@pytest.mark.parametrize("seconds", [0, -1.0])
def test_invalid_time_budget_says_how_to_fix(seconds):
    with pytest.raises(ValueError, match="positive number of seconds"):
        TimeBudget(seconds)


def test_tensorboard_without_its_packages_says_how_to_fix(tmp_path, monkeypatch):
    monkeypatch.setattr("zoo.training.callbacks.importlib.util.find_spec", lambda name: None)
    with pytest.raises(ValueError, match=r"pip install tensorflow tensorboard.*tensorboard=False"):
        standard_callbacks(tmp_path, tensorboard=True)
    assert len(standard_callbacks(tmp_path, tensorboard=False)) == 4
    # By default, a machine without them (the JAX GPU machine) trains without logs.
    callbacks = standard_callbacks(tmp_path)
    assert len(callbacks) == 4
    assert not any(isinstance(c, keras.callbacks.TensorBoard) for c in callbacks)


def test_epoch_clock_records_the_monitored_value_against_time():
    from zoo.training.callbacks import EpochClock

    ticks = iter([10.0, 12.5, 15.0, 20.25])
    clock = EpochClock("val_accuracy", clock=lambda: next(ticks))
    clock.on_train_begin()
    clock.on_epoch_end(0, {"val_accuracy": 0.5})
    clock.on_epoch_end(1, {"loss": 1.0})  # no validation this epoch: nothing recorded
    clock.on_epoch_end(2, {"val_accuracy": 0.75})
    assert clock.points == [(2.5, 0.5), (5.0, 0.75)]
