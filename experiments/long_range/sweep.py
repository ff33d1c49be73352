"""How far back can each model remember? Train every (model, task, length, seed) cell.

Each cell builds a fresh model (`models.build_long_range_model`, its gates initialised by
`SweepConfig.gate_init`), trains it with `fit()` on fresh batches of its task (Adam, gradient
clipping by norm) for at most `max_steps` steps — the same budget of
`max_steps · batch_size` sequences for every cell — stops early once the last `check_every`
training batches show the task solved, and scores it on `num_test` held-out sequences:
accuracy for recall, mean squared error for adding.
Every array is drawn from seeds derived from `(seed, length)`, so a cell repeats exactly on
one machine and backend.

With `skip_after_failure` (the default) the expensive cells — lengths from
`skip_from_length` on, a minute or more each on a CPU — are not run for a model once it has
failed completely at a shorter length of the task (recall at chance, adding no better than
always answering 1.0, on every seed): the same budget does not make a longer lag easier.
Those cells are reported as not run; `skip_after_failure=False` runs every cell.

Example (a few seconds):
>>> config = SweepConfig(models=("transformer",), tasks=("recall",), lengths=(5,),
...                      seeds=(0,), max_steps=20, check_every=10, num_test=50)
>>> [result] = run_sweep(config, progress=False)
>>> (result.model, result.task, result.length, result.steps <= 20)
('transformer', 'recall', 5, True)
"""

from __future__ import annotations

import dataclasses
import sys
import time
from dataclasses import dataclass

import keras
import numpy as np

from experiments.long_range.models import (
    GATE_INITS,
    MODEL_OVERRIDES,
    STUDY_TASKS,
    build_long_range_model,
    check_choices,
)
from zoo.data.long_range_tasks import ADDING_BASELINE_MSE, adding_task, recall_chance, recall_task

# A recall cell counts as solved at this test accuracy, an adding cell at this test MSE
# (6 % of the 0.167 baseline: an RMS error of 0.1 on a target between 0 and 2).
RECALL_SOLVED_ACCURACY = 0.99
ADDING_SOLVED_MSE = 0.01
# Training stops early when the last `check_every` batches beat these, a margin past the
# thresholds above so that the held-out score lands on the solved side.
RECALL_STOP_ACCURACY = 0.998
ADDING_STOP_MSE = 0.002
# An adding cell within 10 % of the baseline has learned nothing usable.
ADDING_FAILED_MSE = 0.9 * ADDING_BASELINE_MSE
TEST_STREAM, TRAIN_STREAM = 0, 1
NOT_RUN = "not run"


@dataclass(frozen=True)
class SweepConfig:
    models: tuple[str, ...] = ("simple_rnn", "lstm", "gru", "transformer")
    tasks: tuple[str, ...] = STUDY_TASKS
    lengths: tuple[int, ...] = (5, 10, 20, 50, 100, 200, 500, 1000)
    seeds: tuple[int, ...] = (0, 1, 2)  # every cell runs with every seed
    # The initial gate biases of lstm and gru (never simple_rnn): "keras" (Keras's
    # defaults), "chrono" (chrono_init = the cell's T) or "open" (forget_bias 3); see
    # `models.gate_overrides`.
    gate_init: str = "chrono"
    batch_size: int = 32
    max_steps: int = 300  # the Transformer solved T = 1000 in 140 (seed 0)
    check_every: int = 20  # steps between early-stopping checks
    learning_rate: float = 3e-3
    clipnorm: float = 1.0  # Adam's updates come from gradients clipped to this global norm
    num_test: int = 500
    num_symbols: int = 4  # recall: chance is 1 / num_symbols
    num_distractors: int = 8
    # An optional cap on a cell's training time; a cell it stops is marked "time" in the
    # table. None (the default): the step budget alone, so that a table does not depend on
    # the machine's load — on 2 CPU cores shared with other jobs the Transformer's recall
    # cell at T = 500 ran 7 times slower than on idle ones (267 s against 39 s).
    max_seconds_per_cell: float | None = None
    skip_after_failure: bool = True  # see the module docstring
    skip_from_length: int = 200  # shorter cells always run: they are cheap

    def __post_init__(self):
        check_choices("model", self.models, tuple(MODEL_OVERRIDES))
        check_choices("task", self.tasks, STUDY_TASKS)
        check_choices("gate init", [self.gate_init], GATE_INITS)
        if not self.seeds:
            raise ValueError("`seeds` is empty; give at least one, e.g. seeds=(0,).")
        if any(length < 2 for length in self.lengths):
            raise ValueError(f"Every length must be at least 2, received {self.lengths}.")
        if self.max_steps < 1 or self.check_every < 1 or self.max_steps % self.check_every:
            raise ValueError(
                f"max_steps ({self.max_steps}) must be a positive multiple of check_every "
                f"({self.check_every}): training is checked every check_every steps."
            )

    def cells(self) -> list[tuple[str, str, int, int]]:
        """`(model, task, length, seed)` in running order: short sequences first."""
        return [
            (model, task, length, seed)
            for task in self.tasks
            for length in sorted(self.lengths)
            for model in self.models
            for seed in self.seeds
        ]


@dataclass(frozen=True)
class CellResult:
    model: str
    task: str
    length: int
    seed: int
    score: float | None  # recall: test accuracy; adding: test MSE; None: not run
    solved: bool
    steps: int  # training steps taken
    stopped_by: str  # "solved", "max_steps", "time", or NOT_RUN
    train_seconds: float
    num_parameters: int

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


def task_batch(config: SweepConfig, task: str, length: int, size: int, seed) -> tuple:
    """`(inputs, targets)` of `size` sequences of `task`, deterministic in `seed`."""
    if task == "recall":
        return recall_task(size, length, config.num_symbols, config.num_distractors, seed=seed)
    return adding_task(size, length, seed=seed)


def score_predictions(task: str, predictions: np.ndarray, targets: np.ndarray) -> float:
    """Recall: accuracy of the arg-max class; adding: mean squared error."""
    if task == "recall":
        return float(np.mean(np.argmax(predictions, axis=-1) == targets))
    return float(np.mean((predictions - targets) ** 2))


def is_solved(task: str, score: float) -> bool:
    if task == "recall":
        return score >= RECALL_SOLVED_ACCURACY
    return score <= ADDING_SOLVED_MSE


def chance_band(config: SweepConfig, num_seeds: int = 1) -> tuple[float, float]:
    """Recall accuracies still read as guessing: chance ± three standard errors of an
    accuracy measured on `num_test · num_seeds` sequences. Significantly *below* chance is
    not guessing: the answer depends on the first token, only mapped wrongly."""
    chance = recall_chance(config.num_symbols)
    margin = 3 * np.sqrt(chance * (1 - chance) / (config.num_test * num_seeds))
    return chance - margin, chance + margin


def at_chance(config: SweepConfig, accuracy: float, num_seeds: int = 1) -> bool:
    low, high = chance_band(config, num_seeds)
    return low <= accuracy <= high


def failed_completely(config: SweepConfig, task: str, score: float) -> bool:
    """Recall at chance, or adding no better than always answering 1.0."""
    if task == "recall":
        return at_chance(config, score)
    return score >= ADDING_FAILED_MSE


class _StopWhenSolved(keras.callbacks.Callback):
    """Ends `fit()` when a window of training batches solves the task, or time runs out."""

    def __init__(self, task: str, max_seconds: float | None):
        super().__init__()
        self.task = task
        self.max_seconds = max_seconds
        self.stopped_by = "max_steps"
        self.steps = 0

    def on_train_begin(self, logs=None):
        self.start = time.monotonic()

    def on_epoch_end(self, epoch, logs=None):
        if self.task == "recall":
            solved = logs["accuracy"] >= RECALL_STOP_ACCURACY
        else:
            solved = logs["loss"] <= ADDING_STOP_MSE
        if solved and self.stopped_by != "time":  # a window cut short by time is not a check
            self.stopped_by = "solved"
            self.model.stop_training = True

    def on_train_batch_end(self, batch, logs=None):
        self.steps += 1
        elapsed = time.monotonic() - self.start
        if self.max_seconds is not None and elapsed >= self.max_seconds:
            self.stopped_by = "time"
            self.model.stop_training = True


def build_cell_model(
    config: SweepConfig, model_name: str, task: str, length: int, seed: int
) -> keras.Model:
    """The untrained model of a cell: the same weights for the same seed (the chrono
    initialisation's draw included)."""
    keras.utils.set_random_seed(seed)
    return build_long_range_model(
        model_name,
        task,
        length,
        config.num_symbols,
        config.num_distractors,
        gate_init=config.gate_init,
    )


def train_cell(config: SweepConfig, model_name: str, task: str, length: int, seed: int, model=None):
    """Train and score one cell; returns `(CellResult, trained model)`.

    `model`: the cell's untrained model if the caller wants to look at it first (see
    `build_cell_model`); by default it is built here.
    """
    if model is None:
        model = build_cell_model(config, model_name, task, length, seed)
    keras.utils.set_random_seed(seed)
    recall = task == "recall"
    model.compile(
        optimizer=keras.optimizers.Adam(config.learning_rate, clipnorm=config.clipnorm),
        loss=(
            keras.losses.SparseCategoricalCrossentropy(from_logits=True)
            if recall
            else keras.losses.MeanSquaredError()
        ),
        metrics=["accuracy"] if recall else None,
    )

    def batches():  # fresh sequences every step, each batch from its own seed
        for step in range(config.max_steps):
            stream = (seed, length, TRAIN_STREAM, step)
            yield task_batch(config, task, length, config.batch_size, stream)

    stopper = _StopWhenSolved(task, config.max_seconds_per_cell)
    start = time.monotonic()
    model.fit(
        batches(),
        steps_per_epoch=config.check_every,
        epochs=config.max_steps // config.check_every,
        callbacks=[stopper],
        shuffle=False,  # the batches are fresh draws already
        verbose=0,
    )
    train_seconds = time.monotonic() - start
    test_inputs, test_targets = task_batch(
        config, task, length, config.num_test, (seed, length, TEST_STREAM)
    )
    predictions = model.predict(test_inputs, batch_size=config.batch_size, verbose=0)
    score = score_predictions(task, predictions, test_targets)
    result = CellResult(
        model=model_name,
        task=task,
        length=length,
        seed=seed,
        score=score,
        solved=is_solved(task, score),
        steps=stopper.steps,
        stopped_by=stopper.stopped_by,
        train_seconds=round(train_seconds, 2),
        num_parameters=model.count_params(),
    )
    return result, model


def run_sweep(config: SweepConfig, progress: bool = True) -> list[CellResult]:
    """Every cell of `config.cells()`; with `progress`, a line per cell above a progress bar.

    Cells skipped after a complete failure (see the module docstring) come back with
    `score=None` and `stopped_by="not run"`.
    """
    cells = config.cells()
    # A terminal gets a bar redrawn under the lines; a log file gets numbered lines only.
    interactive = progress and sys.stdout.isatty()
    bar = keras.utils.Progbar(len(cells), unit_name="cell") if interactive else None
    start = time.monotonic()
    results = []
    failed_at = {}  # (model, task) -> the length where every seed failed completely
    for index, (model_name, task, length, seed) in enumerate(cells):
        failure = failed_at.get((model_name, task))
        if failure is not None and failure < length and length >= config.skip_from_length:
            result = CellResult(
                model=model_name,
                task=task,
                length=length,
                seed=seed,
                score=None,
                solved=False,
                steps=0,
                stopped_by=NOT_RUN,
                train_seconds=0.0,
                num_parameters=0,
            )
        else:
            result, _ = train_cell(config, model_name, task, length, seed)
        results.append(result)
        group = [r for r in results if (r.model, r.task, r.length) == (model_name, task, length)]
        complete = len(group) == len(config.seeds)
        if config.skip_after_failure and complete and result.score is not None:
            if all(failed_completely(config, task, r.score) for r in group):
                failed_at.setdefault((model_name, task), length)
        line = f"{task} T={length} {model_name} seed {seed}: {_score_text(result)}"
        if bar is not None:
            print(f"\r\x1b[K{line}")  # "\r", erase the bar's line; the bar redraws below
            bar.update(index + 1)
        elif progress:
            elapsed = time.monotonic() - start
            print(f"[{index + 1}/{len(cells)}, {elapsed:.0f} s] {line}", flush=True)
    return results


def _score_text(result: CellResult) -> str:
    if result.score is None:
        return f"{NOT_RUN} (failed completely at a shorter length)"
    if result.task == "recall":
        text = f"accuracy {result.score:.3f}"
    else:
        text = f"MSE {result.score:.4f}"
    return f"{text} after {result.steps} steps ({result.stopped_by}, {result.train_seconds:.0f} s)"
