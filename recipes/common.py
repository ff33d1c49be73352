"""What every recipe shares: the common flags, config fields as flags, the run set-up, fit().

A recipe defines a `Settings` dataclass that extends `RecipeSettings` with its own fields,
builds its parser with `recipe_parser` (common flags, then its own, then one flag per field
of the chosen family's config) and trains with `fit_model` (progress bar on a terminal, one
line per epoch in a log; checkpoints, resume, time budget, TensorBoard logs —
`zoo.training.standard_callbacks`). Its command line is `run_main(main)`: an error is one
`error: ...` line and exit status 1, the traceback is behind `--debug` or `ZOO_DEBUG=1`.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import os
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path

import zoo
from recipes.output_folders import BASE_BYTES, check_free_space, check_writable, training_bytes
from zoo.training import (
    STRATEGY_KINDS,
    configure_runtime,
    describe_devices,
    distribution_strategy,
    even_batches,
    standard_callbacks,
)

DEBUG_ENVIRONMENT_VARIABLE = "ZOO_DEBUG"
DEBUG_FLAG = "--debug"
DEBUG_HINT = f"or set {DEBUG_ENVIRONMENT_VARIABLE}=1"
# Errors that zoo raises for a user to fix: their message is the whole story. Any other
# exception is shown with its type (`error: KeyError: 'x'`), which then says more.
_USER_ERRORS = (ValueError, TypeError, OSError)


def run_main(main: Callable[[list[str]], object], argv: Sequence[str] | None = None):
    """Runs a recipe's `main(argv)` as a command: an exception becomes an `error: ...` line on
    stderr and exit status 1, not a Python traceback.

    `--debug` anywhere in `argv` (removed before `main` sees it) or `ZOO_DEBUG` set to
    anything but "", "0", "false" or "no" lets the exception through, traceback and all.
    `KeyboardInterrupt` and `SystemExit` (argparse's usage errors, status 2) pass untouched.

    Args:
        main: the recipe's `main`, called with the arguments as a list.
        argv: the arguments; `sys.argv[1:]` by default.

    Returns:
        What `main` returns.

    Example: the last lines of a recipe,

    ```python
    if __name__ == "__main__":
        run_main(main)
    ```
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = DEBUG_FLAG in argv or debug_requested()
    argv = [argument for argument in argv if argument != DEBUG_FLAG]
    try:
        return main(argv)
    except Exception as error:
        if debug:
            raise
        sys.stdout.flush()  # What the run printed comes before the error.
        print(f"error: {describe_error(error)}", file=sys.stderr)
        print(f"(for the traceback, run again with {DEBUG_FLAG} {DEBUG_HINT})", file=sys.stderr)
        raise SystemExit(1) from None


def debug_requested() -> bool:
    """Whether `ZOO_DEBUG` asks for tracebacks."""
    value = os.environ.get(DEBUG_ENVIRONMENT_VARIABLE, "")
    return value.strip().lower() not in ("", "0", "false", "no")


def describe_error(error: BaseException) -> str:
    """The message of an error for a user: the message alone for zoo's own kinds of error
    (`ValueError`, `TypeError`, `OSError`), else prefixed with the type's name; the type's
    name alone when there is no message."""
    message = str(error).strip()
    if not message:
        return type(error).__name__
    if isinstance(error, _USER_ERRORS):
        return message
    return f"{type(error).__name__}: {message}"


@dataclasses.dataclass
class RecipeSettings:
    """The flags every recipe has (model config fields come separately, as `overrides`)."""

    data: str | None = None
    model: str = "transformer"
    preset: str = "small"
    epochs: int | None = None
    time_budget: float | None = None
    # "auto": bfloat16 where the hardware computes it natively, else float32; True: bfloat16;
    # "float16"; False: float32
    mixed_precision: bool | str = "auto"
    jit_compile: bool = False
    out: str = "saved_models/model"
    run_dir: str = "runs/model"
    resume: bool = False
    seed: int = 0
    export: bool = True
    strategy: str = "auto"


def recipe_parser(doc: str, defaults: RecipeSettings, data_help: str) -> argparse.ArgumentParser:
    """A parser with the common flags; the recipe adds its own, then calls `parse`."""
    parser = argparse.ArgumentParser(
        description=doc.split("\n\n")[0],
        epilog=doc.split("\n\n", 1)[1] if "\n\n" in doc else None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    flag = parser.add_argument
    flag("--data", help=data_help)
    flag("--model", default=defaults.model, choices=zoo.list_models(), help="model family")
    flag("--preset", default=defaults.preset, help="size preset: tiny, small, base, big")
    budget = parser.add_mutually_exclusive_group()
    budget.add_argument("--epochs", type=int, help="epochs to train (default 10)")
    budget.add_argument("--time-budget", type=float, help="seconds of training, then stop")
    precision = parser.add_mutually_exclusive_group()
    precision.add_argument(
        "--mixed-precision",
        nargs="?",
        const=True,
        default=defaults.mixed_precision,
        type=_precision,
        metavar="{bfloat16,float16,auto}",
        help="compute in bfloat16 with float32 weights; `--mixed-precision float16` for GPUs "
        "without bfloat16 (the loss is then scaled). Default: bfloat16 on a GPU or a CPU with "
        "AVX-512 BF16 or AMX, float32 on other CPUs (where bfloat16 runs slower)",
    )
    precision.add_argument(
        "--no-mixed-precision",
        dest="mixed_precision",
        action="store_false",
        help="compute in float32",
    )
    flag("--jit-compile", action="store_true", help="compile train steps with XLA")
    flag("--strategy", default=defaults.strategy, choices=STRATEGY_KINDS, help=STRATEGY_HELP)
    flag("--out", default=defaults.out, help="export folder; versions 1, 2, ... inside")
    flag(
        "--export",
        action=argparse.BooleanOptionalAction,
        default=defaults.export,
        help="export a SavedModel at the end (--no-export: the run folder only; "
        "`python -m recipes.export RUN_DIR` exports it later)",
    )
    flag("--run-dir", default=defaults.run_dir, help="checkpoints, logs, tokenizer, results")
    flag("--resume", action="store_true", help="continue a crashed run from --run-dir")
    flag("--seed", type=int, default=defaults.seed, help="seed of data, split and weights")
    # Read (and removed from the arguments) by `run_main`; listed here for --help.
    flag("--debug", action="store_true", help=f"on an error, show the traceback ({DEBUG_HINT})")
    return parser


STRATEGY_HELP = (
    "devices to train on, TensorFlow backend: default is one device; mirrored is "
    "tf.distribute.MirroredStrategy over this machine's GPUs (each batch cut to a multiple "
    "of their number); auto (the default) is mirrored when several GPUs are visible, else "
    "default. Several machines: JAX backend, see zoo.training.initialize_multi_worker"
)


def model_scope(settings: RecipeSettings):
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


def parse(parser, settings_class, argv=None, *, default_model="transformer"):
    """`(settings, overrides, arguments)`: the recipe's settings, the config fields given as
    flags (one flag per field of the `--model` family's config, read first), and the raw
    parsed arguments (for flags such as `--demo` that are not settings)."""
    first = argparse.ArgumentParser(add_help=False)
    first.add_argument("--model", default=default_model, choices=zoo.list_models())
    known, _ = first.parse_known_args(argv)
    config_class = zoo.registry.get_family(known.model).config_class
    fields = parser.add_argument_group(f"{known.model} config (override the preset)")
    for field in dataclasses.fields(config_class):
        if field.name in ("task", "vocab_size"):
            continue
        name = f"--{field.name.replace('_', '-')}"
        if "bool" in str(field.type):
            fields.add_argument(
                name, dest=f"config_{field.name}", type=_boolean, metavar="{true,false}"
            )
        else:
            kind = {"int": int, "float": float, "str": str}.get(str(field.type).split(" |")[0])
            fields.add_argument(name, dest=f"config_{field.name}", type=kind or str)
    arguments = vars(parser.parse_args(argv))
    overrides = {
        key[len("config_") :]: value
        for key, value in arguments.items()
        if key.startswith("config_") and value is not None
    }
    names = {field.name for field in dataclasses.fields(settings_class)}
    settings = settings_class(**{k: v for k, v in arguments.items() if k in names})
    return settings, overrides, arguments


def _precision(text: str) -> bool | str:
    if text in ("bfloat16", "float16", "auto"):
        return text
    raise argparse.ArgumentTypeError(f"expected bfloat16, float16 or auto, received {text!r}")


def _boolean(text: str) -> bool:
    if text.lower() in ("true", "1", "yes"):
        return True
    if text.lower() in ("false", "0", "no"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, received {text!r}")


def start_run(settings: RecipeSettings) -> Path:
    """Seed, dtype policy and the run folder (it and `--out` must be writable, with room on
    the disk: an error now, not at the first checkpoint); prints the devices. Call it first: the
    tokenizer's graph resources must outlive the seed call, and the policy applies to the
    layers built afterwards."""
    run_dir = check_writable(settings.run_dir, "--run-dir")
    if settings.export:
        check_writable(settings.out, "--out", keep=False)
    check_free_space(run_dir, BASE_BYTES, "a run", "--run-dir")
    configure_runtime(settings.mixed_precision, settings.jit_compile, seed=settings.seed)
    print(describe_devices())
    return run_dir


def fit_model(model, settings: RecipeSettings, run_dir: Path, train, validation, **fit_kwargs):
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
            callbacks=standard_callbacks(
                run_dir, time_budget=settings.time_budget, resume=settings.resume, monitor=monitor
            )
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


def describe_model(model, settings: RecipeSettings) -> None:
    print(
        f"{settings.model} ({settings.preset}, {model.count_params():,} weights): "
        f"{dataclasses.asdict(model.config)}"
    )
