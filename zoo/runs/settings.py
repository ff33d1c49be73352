"""A run's settings: a dataclass whose fields are the recipe's flags.

Each recipe defines `Settings(RunSettings)` with its own fields, each made with `setting`
(its default and its help text); `parse_settings` turns the class into a parser (one flag
per field, with its help and default shown, then one flag per field of the chosen family's
config that means something for the recipe's task) and the command line back into
settings. `--config FILE` replays the settings a run recorded (`settings.json` in its run
folder, written when it starts): they become the defaults, and flags given beside it win.

    @dataclasses.dataclass
    class Settings(RunSettings):
        sequence_length: int = setting(64, "tokens per training example")

    settings, overrides, arguments = parse_settings(Settings, argv, doc=__doc__, task="lm")
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from zoo.runs.command import DEBUG_HINT
from zoo.training import STRATEGY_KINDS

SETTINGS_FILE = "settings.json"
# What a run was, not what it asked for: not written to settings.json, nor replayed.
NOT_REPLAYED = ("resume", "restart")
# Config fields that mean something for some tasks only: no flag for the others.
TASK_FIELDS = {
    "target_vocab_size": ("seq2seq",),
    "num_decoder_layers": ("seq2seq",),
    "use_attention": ("seq2seq",),
    "bidirectional_encoder": ("seq2seq",),
    "num_classes": (),  # classify: the recipe counts the data's classes
    "num_features": ("regress",),
    "num_outputs": ("regress",),
}
# Config fields the recipe sets itself: the task and the tokenizer's size.
RECIPE_FIELDS = ("task", "vocab_size")


def setting(default, help: str | None = None, **flag):
    """A settings field: its default, its flag's help text (None: the parent class's, for a
    field that only changes its default) and any other `add_argument` keywords (`choices`,
    `metavar`, `group` for a mutually exclusive group, `flag=False` for no flag)."""
    return dataclasses.field(default=default, metadata={"help": help, **flag})


def _inherited(settings_class, name: str) -> dict:
    """The metadata of field `name` as the nearest class that gives it a help text has it."""
    for cls in settings_class.__mro__:
        field = getattr(cls, "__dataclass_fields__", {}).get(name)
        if field is not None and field.metadata.get("help") is not None:
            return dict(field.metadata)
    return {}


@dataclasses.dataclass
class RunSettings:
    """The flags every recipe has (model config fields come separately, as `overrides`)."""

    data: str | None = setting(None, "the data to train on (default: a generated corpus)")
    model: str = setting("transformer", "model family (zoo list)")
    preset: str = setting("small", "size preset: tiny, small, base, big")
    epochs: int | None = setting(None, "epochs to train (default 10)", group="budget")
    time_budget: float | None = setting(
        None, "seconds of training, then stop", group="budget", metavar="SECONDS"
    )
    # "auto": bfloat16 where the hardware computes it natively, else float32; True: bfloat16;
    # "float16"; False: float32
    mixed_precision: bool | str = setting(
        "auto",
        "compute in bfloat16 with float32 weights; `--mixed-precision float16` for GPUs without "
        "bfloat16 (the loss is then scaled); --no-mixed-precision: float32. auto: bfloat16 on a "
        "GPU or a CPU with AVX-512 BF16 or AMX, float32 on other CPUs (where bfloat16 is slower)",
    )
    jit_compile: bool = setting(False, "compile train steps with XLA")
    strategy: str = setting(
        "auto",
        "devices to train on, TensorFlow backend: default is one device; mirrored is "
        "tf.distribute.MirroredStrategy over this machine's GPUs (each batch cut to a multiple "
        "of their number); auto is mirrored when several GPUs are visible, else default. "
        "Several machines: JAX backend, see zoo.training.initialize_multi_worker",
        choices=STRATEGY_KINDS,
    )
    out: str = setting("saved_models/model", "export folder; versions 1, 2, ... inside")
    export: bool = setting(
        True,
        "export a SavedModel at the end (--no-export: the run folder only; "
        "`zoo export RUN_DIR` exports it later)",
    )
    run_dir: str = setting(
        "runs/model",
        "the run folder: settings, checkpoints, backup, logs, tokenizer, preset, results. "
        "Rerunning the command on a run folder that holds a backup continues that run",
    )
    restart: bool = setting(
        False, "start over in --run-dir, dropping its backup and results (not a continuation)"
    )
    seed: int = setting(0, "seed of data, split and weights")
    # Set by `start_run`, not a flag: whether this run continues a backup.
    resume: bool = setting(False, "", flag=False)


def settings_parser(
    settings_class, *, doc: str, task: str | None, family: str | None = None, defaults=None
) -> argparse.ArgumentParser:
    """A parser with one flag per field of `settings_class` (help text and default shown),
    `--config` and `--debug`, then one per field of `family`'s config that means something
    for `task` (dest `config_<field>`)."""
    import zoo  # the registry: which families there are and their config fields

    parser = argparse.ArgumentParser(
        description=doc.split("\n\n")[0],
        epilog=doc.split("\n\n", 1)[1] if "\n\n" in doc else None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_setting_flags(parser, settings_class, defaults or settings_class())
    parser.add_argument(
        "--config",
        metavar="FILE",
        help=f"replay a run's settings: its {SETTINGS_FILE} (or results.json); flags given "
        "beside it win",
    )
    # Read (and removed from the arguments) by `run_main`; listed here for --help.
    parser.add_argument(
        "--debug", action="store_true", help=f"on an error, show the traceback ({DEBUG_HINT})"
    )
    family = family or (defaults or settings_class()).model
    config_class = zoo.registry.get_family(family).config_class
    fields = parser.add_argument_group(f"{family} config (override the preset)")
    for field in dataclasses.fields(config_class):
        if field.name in RECIPE_FIELDS or task not in TASK_FIELDS.get(field.name, (task,)):
            continue
        name = f"--{field.name.replace('_', '-')}"
        kind = _kind(field)
        if kind.startswith("bool"):
            fields.add_argument(
                name, dest=f"config_{field.name}", type=_boolean, metavar="{true,false}"
            )
        else:
            base = kind.split(" |")[0]
            convert = {"int": int, "float": float}.get(base, str)
            fields.add_argument(
                name, dest=f"config_{field.name}", type=convert, metavar=base.upper()
            )
    return parser


def add_setting_flags(parser, settings_class, defaults) -> None:
    """One flag per field of `settings_class` that is a flag, its default from `defaults`."""
    groups = {}
    for field in dataclasses.fields(settings_class):
        extra = dict(field.metadata)
        if extra.get("help") is None:
            extra = {
                **_inherited(settings_class, field.name),
                **{k: v for k, v in extra.items() if k != "help"},
            }
        if not extra.pop("flag", True):
            continue
        help_text = extra.pop("help", "")
        group_name = extra.pop("group", None)
        target = parser
        if group_name:
            if group_name not in groups:
                groups[group_name] = parser.add_mutually_exclusive_group()
            target = groups[group_name]
        default = getattr(defaults, field.name)
        name = f"--{field.name.replace('_', '-')}"
        if field.name == "mixed_precision":
            _add_precision(target, parser, default, help_text)
            continue
        kind = _kind(field)
        if default is not None and "default" not in help_text:
            shown = " ".join(map(repr, default)) if isinstance(default, tuple) else default
            help_text = f"{help_text} (default: {shown})" if help_text else f"(default: {shown})"
        if kind == "bool":
            extra.setdefault("action", argparse.BooleanOptionalAction)
        elif kind.startswith("tuple"):
            extra.setdefault("nargs", "*")
            extra.setdefault("type", _tuple_item(kind))
        else:
            extra.setdefault("type", {"int": int, "float": float}.get(kind.split(" |")[0], str))
        target.add_argument(name, default=default, help=help_text.replace("%", "%%"), **extra)


def _add_precision(target, parser, default, help_text) -> None:
    group = parser.add_mutually_exclusive_group()
    group.add_argument(
        "--mixed-precision",
        nargs="?",
        const=True,
        default=default,
        type=_precision,
        metavar="{bfloat16,float16,auto}",
        help=f"{help_text} (default: {'float32' if default is False else default})",
    )
    group.add_argument(
        "--no-mixed-precision", dest="mixed_precision", action="store_false", help="float32"
    )


def parse_settings(
    settings_class,
    argv: Sequence[str] | None = None,
    *,
    doc: str,
    task: str | None,
    defaults=None,
    add_flags: Callable[[argparse.ArgumentParser], None] | None = None,
    check: Callable[[object], str | None] | None = None,
):
    """`(settings, overrides, arguments)` from the command line: the recipe's settings, the
    config fields given as flags (those of the `--model` family, read first), and the raw
    parsed arguments (for flags such as `--demo` that are not settings). `add_flags(parser)`
    adds a recipe's flags that are not settings; `check(settings)` returns what is wrong
    with them, if anything (a usage error). With `--config FILE`, the settings and config
    fields recorded there are the defaults."""
    defaults = defaults or settings_class()
    first = argparse.ArgumentParser(add_help=False)
    first.add_argument("--model")
    first.add_argument("--config")
    known, _ = first.parse_known_args(argv)
    recorded = read_settings(known.config) if known.config else {}
    family = known.model or recorded.get("settings", {}).get("model") or defaults.model
    parser = settings_parser(settings_class, doc=doc, task=task, family=family, defaults=defaults)
    if add_flags:
        add_flags(parser)
    names = {field.name for field in dataclasses.fields(settings_class)}
    if recorded:
        unknown = sorted(set(recorded["settings"]) - names - set(NOT_REPLAYED))
        if unknown:
            parser.error(f"{known.config} records settings this recipe has not: {unknown}")
        parser.set_defaults(
            **{
                k: v
                for k, v in recorded["settings"].items()
                if k in names and k not in NOT_REPLAYED
            },
            **{f"config_{k}": v for k, v in recorded.get("overrides", {}).items()},
        )
    arguments = vars(parser.parse_args(argv))
    overrides = {
        key[len("config_") :]: value
        for key, value in arguments.items()
        if key.startswith("config_") and value is not None
    }
    settings = settings_class(**{k: v for k, v in arguments.items() if k in names})
    for field in dataclasses.fields(settings_class):  # nargs="*" and JSON give lists
        if _kind(field).startswith("tuple") and getattr(settings, field.name) is not None:
            setattr(settings, field.name, tuple(getattr(settings, field.name)))
    problem = check(settings) if check else None
    if problem:
        parser.error(problem)
    return settings, overrides, arguments


def read_settings(path) -> dict:
    """`{"settings", "overrides"}` recorded by a run: its `settings.json`, `results.json`, or
    the run folder holding them."""
    path = Path(path)
    if path.is_dir():
        path = path / SETTINGS_FILE
    try:
        recorded = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FileNotFoundError(
            f"No {path}. --config takes a run's {SETTINGS_FILE} (written when it starts) "
            "or its results.json."
        ) from None
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ValueError(f"{path} is not a JSON settings file ({error}).") from None
    if not isinstance(recorded, dict) or not isinstance(recorded.get("settings"), dict):
        raise ValueError(f'{path} holds no "settings"; pass a run\'s {SETTINGS_FILE}.')
    return {"settings": recorded["settings"], "overrides": recorded.get("overrides") or {}}


def write_settings(run_dir, settings, overrides: dict, recipe: str | None = None) -> Path:
    """`run_dir/settings.json`: what `--config` replays."""
    if recipe == "__main__":  # run as `python -m recipes.X`: the module's own name
        spec = getattr(sys.modules["__main__"], "__spec__", None)
        recipe = spec.name if spec is not None else None
    record = {
        "recipe": recipe,
        "settings": {
            k: v for k, v in dataclasses.asdict(settings).items() if k not in NOT_REPLAYED
        },
        "overrides": overrides,
    }
    path = Path(run_dir) / SETTINGS_FILE
    path.write_text(json.dumps(record, indent=2, ensure_ascii=False))
    return path


def _kind(field) -> str:
    """A field's type as written: "int", "float | None", "tuple[str, ...]" (annotations are
    strings under `from __future__ import annotations`, types otherwise)."""
    kind = field.type
    if isinstance(kind, str):
        return kind
    return kind.__name__ if isinstance(kind, type) else str(kind)


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


def _tuple_item(kind: str):
    return {"int": int, "float": float}.get(kind[len("tuple[") :].split(",")[0].strip(), str)
