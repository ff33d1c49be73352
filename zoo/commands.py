"""`zoo list`, `zoo info PATH`, `zoo export RUN_OR_PRESET`, `zoo predict PATH TEXT...`.

Each command is an `add_<name>(subparsers)` that `zoo.cli` calls, and a function that runs
it. `info` reads the JSON files a folder holds (a preset's `metadata.json`, a run's
`settings.json`/`results.json`/`export.json`, an export's `assets/zoo.json`) and loads no
model; `predict` loads the model through `zoo.load`; `export` needs TensorFlow's backend.
"""

from __future__ import annotations

import json
from pathlib import Path

from zoo.export.versioned_directory import existing_versions, newest_version_folder

# What `predict` passes to each text method, as `--flag`s (None: the model's own default).
PREDICT_SETTINGS = {
    "translate": ("beam_width", "max_length"),
    "generate": ("max_new_tokens", "temperature", "top_k", "top_p", "seed"),
    "fill_mask": ("top_k",),
    "classify": (),
    "score": (),
}
TASK_METHODS = {
    "seq2seq": "translate",
    "lm": "generate",
    "mlm": "fill_mask",
    "classify": "classify",
}


# --- zoo list -------------------------------------------------------------------------------


def add_list(subparsers) -> None:
    parser = subparsers.add_parser(
        "list",
        help="the model families, their tasks, size presets and tunings",
        description="The registered model families: the tasks each builds, its size presets "
        "(zoo.build(family, preset=...)) and its tunings (the recipes' models, "
        "zoo.build(family, tuning=...)).",
    )
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.set_defaults(run=run_list)


def run_list(args) -> None:
    import zoo

    families = {
        name: {
            "tasks": list(zoo.list_tasks(name)),
            "presets": list(zoo.list_presets(name)),
            "tunings": list(zoo.list_tunings(name)),
        }
        for name in zoo.list_models()
    }
    if args.json:
        print(json.dumps(families, indent=2))
        return
    for name, family in families.items():
        print(name)
        for key in ("tasks", "presets", "tunings"):
            print(f"  {key + ':':9}{', '.join(family[key]) or '-'}")


# --- zoo info -------------------------------------------------------------------------------


def add_info(subparsers) -> None:
    parser = subparsers.add_parser(
        "info",
        help="what a preset folder, run folder or export is",
        description="What a preset folder, a recipe's run folder or an export is: its task, "
        "family, data, metrics and (an export's) signatures. Reads its JSON files; loads no "
        "model.",
    )
    parser.add_argument("path", metavar="PATH", help="a preset, run or export folder")
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.set_defaults(run=run_info)


def run_info(args) -> None:
    info = describe_path(args.path)
    if args.json:
        print(json.dumps(info, indent=2, ensure_ascii=False))
    else:
        print(format_info(info))


def describe_path(path) -> dict:
    """What `path` is, from its JSON files: `{"kind": "preset" | "run" | "export", "path",
    "task", "family", "data", "metrics", ...}`."""
    folder = Path(path)
    if not folder.exists():
        raise FileNotFoundError(f"Nothing at {folder}.")
    if (folder / "config.json").is_file() and (folder / "metadata.json").is_file():
        return _preset_info(folder)
    export = newest_version_folder(folder)
    if export is not None:
        return _export_info(export)
    run_files = ("settings.json", "results.json", "export.json", "preset")
    if any((folder / name).exists() for name in run_files):
        return _run_info(folder)
    raise ValueError(
        f"{folder} is neither a preset folder (config.json, metadata.json), a run folder "
        "(settings.json, results.json, export.json) nor an export (saved_model.pb with "
        "assets/zoo.json, or version folders holding one)."
    )


def _read(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ValueError(f"{path} is not valid JSON ({error}).") from None


def _preset_info(folder: Path) -> dict:
    metadata = _read(folder / "metadata.json")
    config = _read(folder / "config.json")
    return {
        "kind": "preset",
        "path": str(folder),
        "task": metadata.get("task") or config.get("config", {}).get("task"),
        "family": metadata.get("family") or config.get("family"),
        "config": config.get("config", {}),
        "data": metadata.get("data", {}),
        "metrics": metadata.get("metrics", {}),
        "methods": _methods(metadata.get("task")),
    }


def _export_info(version: Path) -> dict:
    card_path = version / "assets" / "zoo.json"
    card = _read(card_path) if card_path.is_file() else {}
    versions = existing_versions(version.parent)
    return {
        "kind": "export",
        "path": str(version),
        "versions": versions,
        "task": card.get("task"),
        "family": card.get("family"),
        "parameters": card.get("parameters"),
        "config": card.get("config", {}),
        "data": card.get("data", {}),
        "metrics": card.get("metrics", {}),
        "signatures": card.get("signatures", {}),
        "serving_default": card.get("serving_default", {}),
        "methods": _methods(card.get("task")),
    }


def _run_info(folder: Path) -> dict:
    recorded = _read(folder / "settings.json") if (folder / "settings.json").is_file() else {}
    results = _read(folder / "results.json") if (folder / "results.json").is_file() else {}
    request = _read(folder / "export.json") if (folder / "export.json").is_file() else {}
    state_path = folder / "backup" / "state.json"
    if results:
        status = "finished"
    elif state_path.is_file():
        epochs = _read(state_path).get("epoch", 0)
        status = f"stopped or running: a backup after {epochs} epochs (rerun its command)"
    else:
        status = "started (no backup yet)"
    preset = folder / "preset"
    inner = _preset_info(preset) if (preset / "metadata.json").is_file() else {}
    settings = recorded.get("settings") or results.get("settings") or {}
    return {
        "kind": "run",
        "path": str(folder),
        "status": status,
        "recipe": recorded.get("recipe"),
        "task": inner.get("task"),
        "family": inner.get("family") or request.get("family") or settings.get("model"),
        "settings": settings,
        "overrides": recorded.get("overrides") or results.get("overrides") or {},
        "data": inner.get("data") or request.get("data", {}),
        "metrics": results.get("metrics") or inner.get("metrics") or {},
        "preset": str(preset) if inner else None,
        "export": results.get("export"),
        "methods": inner.get("methods", []),
    }


def _methods(task) -> list[str]:
    method = TASK_METHODS.get(task)
    if method is None:
        return []
    return [method, "score"] if task == "lm" else [method]


def format_info(info: dict) -> str:
    article = "an" if info["kind"][0] in "aeiou" else "a"
    lines = [f"{info['path']}: {article} {info['kind']}"]
    for key in ("status", "recipe", "task", "family", "parameters", "versions", "preset"):
        if info.get(key) not in (None, [], ""):
            lines.append(f"  {key}: {info[key]}")
    if info.get("export"):
        lines.append(f"  exported to: {info['export']}")
    if info.get("methods"):
        lines.append(f"  answers: {', '.join(info['methods'])} (zoo predict {info['path']} ...)")
    data = info.get("data") or {}
    if data:
        described = ", ".join(
            f"{key} {value}" for key, value in data.items() if isinstance(value, str | int | float)
        )
        lines.append(f"  data: {described}")
    metrics = {k: v for k, v in (info.get("metrics") or {}).items() if isinstance(v, int | float)}
    if metrics:
        lines.append("  metrics:")
        lines += [f"    {name}: {value}" for name, value in metrics.items()]
    for name, signature in (info.get("signatures") or {}).items():
        described = signature if isinstance(signature, str) else json.dumps(signature)
        lines.append(f"  signature {name}: {described}")
    return "\n".join(lines)


# --- zoo export -----------------------------------------------------------------------------


def add_export(subparsers) -> None:
    parser = subparsers.add_parser(
        "export",
        help="export a run folder or a preset folder as a versioned SavedModel",
        description="Export a recipe's run folder (as its export.json says, then reloaded with "
        "TensorFlow alone and checked against the model's answers) or a preset folder, as a "
        "SavedModel version that TensorFlow Serving and `zoo serve` read.",
    )
    parser.add_argument("path", metavar="RUN_OR_PRESET", help="a run folder or a preset folder")
    parser.add_argument("--out", help="export folder (default: the recipe's --out)")
    parser.add_argument("--version", type=int, help="version number (default: the next free)")
    parser.set_defaults(run=run_export)


def run_export(args) -> None:
    from zoo.quiet import quiet_start_up

    with quiet_start_up():
        import keras

    if keras.config.backend() != "tensorflow":
        # Keras chose its backend when it was imported: the export runs in a TensorFlow-backend
        # process of its own, whatever backend the shell set (or trained the model).
        _export_on_tensorflow(args)
        return
    with quiet_start_up():
        from zoo.runs.export import export_run

        result = export_run(Path(args.path), args.out, version=args.version)
    if not result["agrees"]:
        raise ValueError(f"The export in {result['export']} answers differently (see above).")


def _export_on_tensorflow(args) -> None:
    import os
    import subprocess
    import sys

    from zoo.runs.export import has_tensorflow

    if not has_tensorflow():
        raise ValueError(
            "zoo export needs TensorFlow, which is not installed here; run it on a machine "
            "with TensorFlow and zoo (the run folder holds all it needs)."
        )
    command = [sys.executable, "-m", "zoo.cli", "export", str(args.path)]
    command += ["--out", str(args.out)] if args.out else []
    command += ["--version", str(args.version)] if args.version is not None else []
    env = {**os.environ, "KERAS_BACKEND": "tensorflow"}
    finished = subprocess.run(command + (["--debug"] if args.debug else []), env=env)
    if finished.returncode:
        raise SystemExit(finished.returncode)  # the process said why, on stderr


# --- zoo predict ----------------------------------------------------------------------------


def add_predict(subparsers) -> None:
    parser = subparsers.add_parser(
        "predict",
        help="answer texts with a trained model (preset, run folder or export)",
        description="Answer texts with the model at PATH (zoo.load: a preset folder, a run "
        "folder or an export): translate, generate, fill the [MASK] or classify, as its task "
        "says. Settings left out take the model's own defaults.",
    )
    parser.add_argument("path", metavar="PATH", help="a preset, run or export folder")
    parser.add_argument("texts", nargs="+", metavar="TEXT", help="texts (prompts) to answer")
    parser.add_argument("--score", action="store_true", help="log-likelihood of each text (lm)")
    parser.add_argument("--json", action="store_true", help="print the answers as JSON")
    options = parser.add_argument_group("settings (each for the tasks named)")
    options.add_argument("--beam-width", type=int, help="translate: 1 decodes greedily")
    options.add_argument("--max-length", type=int, help="translate: longest translation")
    options.add_argument("--max-new-tokens", type=int, help="generate: tokens to add")
    options.add_argument("--temperature", type=float, help="generate: 0 is greedy")
    options.add_argument("--top-p", type=float, help="generate: nucleus sampling")
    options.add_argument("--seed", type=int, help="generate: sampling seed")
    options.add_argument("--top-k", type=int, help="generate: top-k sampling; fill-mask: fills")
    parser.set_defaults(run=run_predict)


def run_predict(args) -> None:
    from zoo.quiet import quiet_start_up

    with quiet_start_up():  # TensorFlow's device probing and SentencePiece's notices
        answers = predict(args.path, args.texts, score=args.score, **_given(args))
    if args.json:
        print(json.dumps(answers, indent=2, ensure_ascii=False))
        return
    for text, answer in zip(args.texts, answers):
        print(format_answer(text, answer))


def _given(args) -> dict:
    names = {name for names in PREDICT_SETTINGS.values() for name in names}
    return {name: getattr(args, name) for name in names if getattr(args, name) is not None}


def predict(path, texts, *, score: bool = False, **settings) -> list:
    """The answers of the model at `path` (`zoo.load`) for `texts`, by its task's method
    (`score` for log-likelihoods); a `ValueError` for settings that mean nothing for it."""
    if not Path(path).exists():  # before TensorFlow's import, which takes seconds
        raise FileNotFoundError(
            f"Nothing at {path}; give a preset folder, a recipe's run folder or an exported "
            "SavedModel folder."
        )
    import zoo

    model = zoo.load(path)
    task = getattr(model, "task", None) or model.config.task
    method = "score" if score else TASK_METHODS.get(task)
    if method is None or (score and task != "lm"):
        raise ValueError(f"{path} holds a {task} model, which `zoo predict` cannot answer.")
    unused = sorted(set(settings) - set(PREDICT_SETTINGS[method]))
    if unused:
        flags = ", ".join(f"--{name.replace('_', '-')}" for name in unused)
        raise ValueError(f"{flags}: not a setting of {method} (the {task} model at {path}).")
    answers = getattr(model, method)(list(texts), **settings)
    return json.loads(json.dumps(answers, default=_plain))


def _plain(value):
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    raise TypeError(f"{type(value).__name__} is not JSON")


def format_answer(text: str, answer) -> str:
    if isinstance(answer, str):
        return f"{text} -> {answer}"
    if isinstance(answer, dict) and "label" in answer:
        probability = max(answer.get("probabilities") or [0.0])
        return f"{text} -> {answer['label']} ({probability:.3f})"
    if isinstance(answer, list):  # fill-mask candidates
        fills = ", ".join(f"{c['token']!r} {c['probability']:.3f}" for c in answer)
        return f"{text} -> {fills}"
    return f"{text} -> {json.dumps(answer, default=_plain)}"


def add_commands(subparsers) -> None:
    """The commands of this module, for `zoo.cli`."""
    add_list(subparsers)
    add_info(subparsers)
    add_export(subparsers)
    add_predict(subparsers)
