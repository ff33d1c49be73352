"""The model registry: `build()`, `list_models()`, `register()`; strict about every name.

A model family is a builder `build_<family>(config) -> keras.Model` registered with its frozen
dataclass config, its tasks and its presets (timm's function-entrypoint pattern): importing a
model module registers it. Every unknown name, task, preset or config field is a `ValueError`
listing the valid choices and the closest match.
"""

from __future__ import annotations

import dataclasses
import difflib
import fnmatch
import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from zoo.quiet import quiet_start_up

TASKS = ("seq2seq", "lm", "mlm", "classify", "regress")


@dataclass(frozen=True)
class ModelFamily:
    """What the registry knows about one family."""

    name: str
    builder: Callable[[Any], Any]
    config_class: type
    tasks: tuple[str, ...]
    presets: dict[str, dict[str, Any]]
    default_task: str
    default_preset: str
    # Named changes on a size preset, tuned for one use (a recipe's model): `tuning=...`.
    tunings: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)


_FAMILIES: dict[str, ModelFamily] = {}
_BUILT_INS = "zoo.models"  # importing it registers zoo's own families
_built_ins_imported = False


def _families() -> dict[str, ModelFamily]:
    """The registered families, zoo's own among them: `import zoo` imports no Keras, so the
    built-in families are imported on the registry's first use."""
    global _built_ins_imported
    if not _built_ins_imported:
        _built_ins_imported = True  # their registrations call back in here
        try:
            with quiet_start_up():
                importlib.import_module(_BUILT_INS)
        except BaseException:
            _built_ins_imported = False
            raise
    return _FAMILIES


def _unknown(kind: str, received: Any, choices, hint: str = "") -> ValueError:
    choices = sorted(choices)
    message = f"Unknown {kind} {received!r}. Valid {kind}s: {', '.join(map(str, choices))}."
    close = difflib.get_close_matches(str(received), [str(c) for c in choices], n=1)
    if close:
        message += f" Did you mean {close[0]!r}?"
    return ValueError(message + hint)


def register(
    name: str,
    *,
    config_class: type,
    tasks: tuple[str, ...],
    presets: dict[str, dict[str, Any]],
    default_task: str,
    default_preset: str,
    tunings: dict[str, dict[str, Any]] | None = None,
):
    """Register a family's builder: `@register("gru", config_class=..., tasks=..., ...)`.

    The builder takes one instance of `config_class` (a dataclass with a `task` field) and
    returns a `keras.Model`. Registering a name twice raises.

    Example:
    >>> import dataclasses, keras, zoo
    >>> @dataclasses.dataclass(frozen=True)
    ... class BagConfig:
    ...     task: str = "classify"
    ...     vocab_size: int = 100
    ...     num_classes: int = 2
    >>> @zoo.register("bag_of_words_doc", config_class=BagConfig, tasks=("classify",),
    ...               presets={"tiny": {}}, default_task="classify", default_preset="tiny")
    ... def build_bag(config):
    ...     ids = keras.Input((None,), dtype="int32", name="token_ids")
    ...     x = keras.layers.Embedding(config.vocab_size, 8)(ids)
    ...     x = keras.layers.GlobalAveragePooling1D()(x)
    ...     return keras.Model(ids, keras.layers.Dense(config.num_classes)(x))
    >>> zoo.build("bag_of_words_doc").output_shape
    (None, 2)
    """
    if not dataclasses.is_dataclass(config_class):
        raise TypeError(f"`config_class` must be a dataclass, received {config_class!r}.")
    if "task" not in {f.name for f in dataclasses.fields(config_class)}:
        raise TypeError(f"{config_class.__name__} needs a `task` field.")
    for task in tasks:
        if task not in TASKS:
            raise _unknown("task", task, TASKS)
    if default_task not in tasks:
        raise _unknown("task", default_task, tasks)
    if default_preset not in presets:
        raise _unknown("preset", default_preset, presets)
    fields = {f.name for f in dataclasses.fields(config_class)}
    for tuning, changes in (tunings or {}).items():
        for key in changes:
            if key not in fields:
                raise _unknown("config field", key, fields, f" (in tuning {tuning!r}).")

    def decorator(builder):
        if name in _families():
            raise ValueError(
                f"A model named {name!r} is already registered; pick another name "
                f"(registered: {', '.join(sorted(_FAMILIES))})."
            )
        _FAMILIES[name] = ModelFamily(
            name=name,
            builder=builder,
            config_class=config_class,
            tasks=tuple(tasks),
            presets={key: dict(value) for key, value in presets.items()},
            default_task=default_task,
            default_preset=default_preset,
            tunings={key: dict(value) for key, value in (tunings or {}).items()},
        )
        return builder

    return decorator


def unregister(name: str) -> None:
    """Remove a family (for tests and notebooks that re-run a registration)."""
    get_family(name)
    del _FAMILIES[name]


def list_models(pattern: str | None = None) -> list[str]:
    """Registered family names, sorted; `pattern` is a shell wildcard such as `"*rnn*"`."""
    names = sorted(_families())
    return [n for n in names if pattern is None or fnmatch.fnmatch(n, pattern)]


def get_family(name: str) -> ModelFamily:
    if name not in _families():
        raise _unknown("model", name, _FAMILIES, " See zoo.list_models().")
    return _FAMILIES[name]


def list_tasks(name: str) -> tuple[str, ...]:
    """The tasks family `name` supports."""
    return get_family(name).tasks


def list_presets(name: str) -> dict[str, dict[str, Any]]:
    """Preset name -> the config fields it sets, for family `name`."""
    return {key: dict(value) for key, value in get_family(name).presets.items()}


def list_tunings(name: str) -> dict[str, dict[str, Any]]:
    """Tuning name -> the config fields it changes on a size preset, for family `name`: the
    models the recipes train (`"translate"`, `"char_lm"`, `"classify"`, ...), named so that
    they are built, listed and compared like presets."""
    return {key: dict(value) for key, value in get_family(name).tunings.items()}


def get_config(
    name: str,
    task: str | None = None,
    preset: str | None = None,
    *,
    tuning: str | None = None,
    **overrides,
):
    """The config `build()` would use: preset values, then the tuning's changes, then `task`,
    then `overrides`."""
    family = get_family(name)
    task = family.default_task if task is None else task
    if task not in family.tasks:
        raise _unknown("task", task, family.tasks, f" ({name!r} supports these).")
    preset = family.default_preset if preset is None else preset
    if preset not in family.presets:
        raise _unknown("preset", preset, family.presets, f" ({name!r} has these).")
    fields = {f.name for f in dataclasses.fields(family.config_class)}
    for key in overrides:
        if key not in fields:
            raise _unknown("config field", key, fields - {"task"}, f" (fields of {name!r}).")
    changes = {}
    if tuning is not None:
        if tuning not in family.tunings:
            raise _unknown("tuning", tuning, family.tunings, f" ({name!r} has these).")
        changes = family.tunings[tuning]
    values = {**family.presets[preset], **changes, **overrides, "task": task}
    return family.config_class(**values)


# Config fields that shape a head, not a backbone: what a model built on a backbone may set.
HEAD_FIELDS = ("num_classes", "num_outputs")


def build(
    name: str,
    task: str | None = None,
    preset: str | None = None,
    *,
    tuning: str | None = None,
    backbone=None,
    **overrides,
):
    """Build a registered model.

    Args:
        name: a family from `list_models()`: `"transformer"`, `"lstm"`, `"simple_rnn"`, ...
        task: `"seq2seq"`, `"lm"`, `"mlm"`, `"classify"` or `"regress"`; default: the
            family's canonical task (`"seq2seq"`).
        preset: `"tiny"`, `"small"`, `"base"` or `"big"`; default: the family's canonical
            size (for `"transformer"`, the paper's base model).
        tuning: named changes on that size, tuned for one use (`list_tunings(name)`: the
            recipes' models, e.g. `"translate"`).
        backbone: another model's `model.backbone` to build on (fine-tuning): the new model
            takes its layers, the same objects and weights, and adds its own head; its config
            is the backbone's with `task` and the head's fields (`num_classes`,
            `num_outputs`) from `overrides`. No `preset` then.
        **overrides: any config field, e.g. `vocab_size=8000, num_layers=2`.

    Returns:
        A `keras.Model` (not compiled).

    Example:
    >>> import zoo
    >>> model = zoo.build("transformer", task="lm", preset="tiny", vocab_size=50)
    >>> model.output_shape
    (None, None, 50)
    """
    family = get_family(name)
    if backbone is None:
        config = get_config(name, task=task, preset=preset, tuning=tuning, **overrides)
        return family.builder(config)
    if tuning is not None:
        raise ValueError(
            f"A model built on a backbone takes its config from it; drop tuning={tuning!r}."
        )
    return family.builder(_config_on_backbone(name, backbone, task, preset, overrides), backbone)


def _config_on_backbone(name, backbone, task, preset, overrides):
    if getattr(backbone, "family", None) != name:
        raise ValueError(
            f"`backbone` must be a {name!r} model's `model.backbone`; received "
            f"{getattr(backbone, 'family', None) or type(backbone).__name__}'s."
        )
    if preset is not None:
        raise ValueError(
            f"A model built on a backbone takes its size from the backbone; drop preset={preset!r}."
        )
    body_fields = sorted(set(overrides) - set(HEAD_FIELDS))
    if body_fields:
        raise ValueError(
            f"{body_fields} shape the backbone's layers, which are reused as they are; on a "
            f"backbone only the head's fields ({', '.join(HEAD_FIELDS)}) can be set."
        )
    task = backbone.config.task if task is None else task
    if task not in get_family(name).tasks:
        raise _unknown("task", task, get_family(name).tasks, f" ({name!r} supports these).")
    return dataclasses.replace(backbone.config, task=task, **overrides)
