"""Running a recipe: the run folder (new, continued or finished), the devices, `fit()`.

`start_run` checks the folders and decides whether the run continues a backup; `fit_model`
trains with zoo's callbacks (progress bar on a terminal, one line per epoch in a log;
checkpoints, an always-on backup, time budget, TensorBoard logs —
`zoo.training.standard_callbacks`); `write_results` marks the run finished.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import shutil
import sys
import time
import warnings
from pathlib import Path

from zoo.quiet import quiet_start_up
from zoo.runs.folders import BASE_BYTES, check_free_space, check_writable, training_bytes
from zoo.runs.settings import SETTINGS_FILE, RunSettings, read_settings, write_settings
from zoo.training import (
    configure_runtime,
    describe_devices,
    distribution_strategy,
    even_batches,
    standard_callbacks,
)
from zoo.training.backup import STATE_FILE, backed_up_epochs
from zoo.training.callbacks import BACKUP_DIR

RESULTS_FILE = "results.json"
# Settings a continued run may change: where it exports, how long this process may train.
FREE_ON_RESUME = {"out", "export", "time_budget", "strategy", "restart", "resume"}


def model_scope(settings: RunSettings):
    """The context to build and compile the model in: the `--strategy` strategy's scope on
    TensorFlow (variables mirrored on each device, `fit()` splits each batch among them),
    else a context that does nothing (JAX and PyTorch have no `tf.distribute`).

    Example: in a recipe,

    ```python
    with model_scope(settings):
        model = zoo.build(settings.model, ...)
        model.compile(...)
    ```
    """
    strategy = distribution_strategy(settings.strategy)
    return contextlib.nullcontext() if strategy is None else strategy.scope()


def start_run(settings: RunSettings, overrides: dict | None = None, recipe=None) -> Path:
    """Seed, dtype policy and the run folder (it and `--out` must be writable, with room on
    the disk: an error now, not at the first checkpoint); prints the devices. Call it first: the
    tokenizer's graph resources must outlive the seed call, and the policy applies to the
    layers built afterwards.

    The run folder decides what the run is (Keras's `BackupAndRestore` convention: the same
    command again continues): with a backup in it, the run continues from there
    (`settings.resume` is set True; its recorded settings must match); with the results of a
    finished run, an error that says so (`--restart` trains again); else a new run. The
    settings are written to `settings.json` (`--config` replays them)."""
    run_dir = check_writable(settings.run_dir, "--run-dir")
    if settings.export:
        check_writable(settings.out, "--out", keep=False)
    check_free_space(run_dir, BASE_BYTES, "a run", "--run-dir")
    settings.resume = run_state(run_dir, settings, overrides or {}) == "resume"
    if not settings.resume:
        write_settings(run_dir, settings, overrides or {}, recipe)
    with quiet_start_up():  # TensorFlow's device probing (cuInit on a machine without a GPU)
        configure_runtime(settings.mixed_precision, settings.jit_compile, seed=settings.seed)
        print(describe_devices())
    return run_dir


def run_state(run_dir: Path, settings: RunSettings, overrides: dict) -> str:
    """ "resume" (a backup to continue) or "new" (nothing, or `--restart`: the backup and the
    results removed); a `ValueError` for a finished run, or a backup made with other settings."""
    backup, results = run_dir / BACKUP_DIR, run_dir / RESULTS_FILE
    if settings.restart:
        shutil.rmtree(backup, ignore_errors=True)
        results.unlink(missing_ok=True)
        return "new"
    if (backup / STATE_FILE).is_file():
        recorded = (run_dir / SETTINGS_FILE).is_file() and read_settings(run_dir)
        if recorded:
            now = json.loads(json.dumps(dataclasses.asdict(settings)))  # tuples as lists
            differ = sorted(
                key
                for key in (set(now) | set(recorded["settings"])) - FREE_ON_RESUME
                if now.get(key) != recorded["settings"].get(key)
            )
            if recorded["overrides"] != json.loads(json.dumps(overrides)):
                differ.append("model config")
            if differ:
                raise ValueError(
                    f"{run_dir} holds a backup of a run started with other settings "
                    f"({', '.join(differ)}). Continue it with `--config {run_dir}/"
                    f"{SETTINGS_FILE}`, start over there with --restart, or choose another "
                    "--run-dir."
                )
        epochs = backed_up_epochs(backup)
        print(f"Continuing the run in {run_dir} from its backup ({epochs} epochs done).")
        return "resume"
    if results.is_file():
        raise ValueError(
            f"{run_dir} holds a finished run ({RESULTS_FILE}); its model is in "
            f"{run_dir}/preset (`zoo info {run_dir}`). To train again, pass --restart (starts "
            "over in that folder) or choose another --run-dir."
        )
    return "new"


def fit_model(model, settings: RunSettings, run_dir: Path, train, validation, **fit_kwargs):
    """`fit()` with zoo's callbacks; returns `{"history", "train_seconds", "train_steps",
    "epochs_run"}`. `epochs` (a keyword), else `settings.epochs`, else ten, or as many as
    `time_budget` allows; `monitor` (a keyword, default "val_loss") picks `best.keras`.
    Progress is a bar on a terminal, one line per epoch otherwise (`fit_verbosity`)."""
    epochs = fit_kwargs.pop("epochs", None) or settings.epochs
    monitor = fit_kwargs.pop("monitor", "val_loss")
    epochs = epochs or (1000 if settings.time_budget else 10)
    verbose = fit_kwargs.pop("verbose", None)
    verbose = fit_verbosity() if verbose is None else verbose
    check_free_space(
        run_dir,
        training_bytes(model),
        f"training a model of {model.count_params():,} weights (its checkpoints and backups)",
        "--run-dir",
    )
    replicas = num_replicas(model)
    if replicas > 1:  # --strategy mirrored over several devices: batches they split evenly
        train = even_batches(train, replicas)
        validation = None if validation is None else even_batches(validation, replicas)
    start = time.perf_counter()
    with warnings.catch_warnings():
        # Bucketed datasets have no known length; each epoch simply ends when the data does.
        warnings.filterwarnings("ignore", message="Your input ran out of data")
        history = model.fit(
            train,
            validation_data=validation,
            epochs=epochs,
            shuffle=False,  # the datasets shuffle themselves, by seed
            callbacks=standard_callbacks(run_dir, time_budget=settings.time_budget, monitor=monitor)
            + list(fit_kwargs.pop("callbacks", [])),
            verbose=verbose,
            **fit_kwargs,
        )
    return {
        "history": history.history,
        "train_seconds": round(time.perf_counter() - start, 1),
        "train_steps": int(model.optimizer.iterations.numpy()),
        "epochs_run": len(history.history.get("loss", [])),
    }


def num_replicas(model) -> int:
    """How many devices `fit()` splits each batch among: the `tf.distribute` strategy the
    model was built under (`model_scope`), 1 on other backends."""
    strategy = getattr(model, "distribute_strategy", None)
    return int(getattr(strategy, "num_replicas_in_sync", 1))


def fit_verbosity(stream=None) -> int:
    """Keras `fit()`'s `verbose` for output to `stream` (`sys.stdout` by default): 1, the
    progress bar, on a terminal; 2, one line per epoch, in a pipe or a file, where every
    redraw of the bar would be kept (megabytes over a long run)."""
    stream = sys.stdout if stream is None else stream
    try:
        is_terminal = stream.isatty()
    except (AttributeError, ValueError):  # no `isatty`, or a closed stream
        is_terminal = False
    return 1 if is_terminal else 2


def run_tokenizer(settings: RunSettings, run_dir: Path, learn, what: str = "SentencePiece"):
    """The run's SentencePiece tokenizer: the one in `run_dir/tokenizer` when the run continues
    (its checkpoints were trained on those ids), else `learn()`'s, saved there."""
    from zoo.data import SubwordTokenizer
    from zoo.data.tokenizers import PROTO_FILENAME

    saved = Path(run_dir) / "tokenizer"
    if settings.resume and (saved / PROTO_FILENAME).is_file():
        tokenizer = SubwordTokenizer.load(saved)
        print(f"Reusing {tokenizer.proto_path} ({tokenizer.vocabulary_size:,} pieces).")
        return tokenizer
    start = time.perf_counter()
    tokenizer = learn()
    tokenizer.save(saved)
    print(
        f"Learned a {tokenizer.vocabulary_size:,}-piece {what} vocabulary in "
        f"{time.perf_counter() - start:.1f} s."
    )
    return tokenizer


def write_results(run_dir: Path, result: dict) -> Path:
    """`run_dir/results.json`: the run's figures; its presence marks the run finished."""
    path = Path(run_dir) / RESULTS_FILE
    path.write_text(json.dumps(result, indent=2, ensure_ascii=False))
    return path


def describe_model(model, settings: RunSettings) -> None:
    print(
        f"{settings.model} ({settings.preset}, {model.count_params():,} weights): "
        f"{dataclasses.asdict(model.config)}"
    )
