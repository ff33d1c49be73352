"""`zoo.json`: what a loaded model is, what it was trained on, how well it does."""

from __future__ import annotations

import dataclasses
import datetime
import importlib.metadata
import json
import platform

MODEL_CARD = "zoo.json"
LIBRARIES = ("zoo", "keras", "tensorflow", "tensorflow-text", "keras-nlp", "keras-hub")


def library_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in LIBRARIES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return versions


def model_card(
    model,
    *,
    family: str,
    data: dict | None = None,
    metrics: dict | None = None,
    decoding: dict | None = None,
    tokenizer: dict | None = None,
    signatures: dict | None = None,
    serving_default: dict | None = None,
) -> dict:
    """The model card as a dict; `data` should carry the corpus's licence and attribution.

    `signatures` describes each named signature; `serving_default` says which of them the
    default signature calls, with which inputs, and the settings it fixes
    (`{"signature", "inputs", "defaults"}`)."""
    return {
        "family": family,
        "task": model.config.task,
        "config": dataclasses.asdict(model.config),
        "parameters": int(model.count_params()),
        "dtype_policy": model.dtype_policy.name,
        "libraries": library_versions(),
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "data": data or {},
        "metrics": metrics or {},
        "decoding": decoding or {},
        "tokenizer": tokenizer or {},
        "signatures": signatures or {},
        "serving_default": serving_default or {},
    }


def write_model_card(card: dict, path) -> None:
    with open(path, "w", encoding="utf-8") as file:
        json.dump(card, file, indent=2, ensure_ascii=False, sort_keys=False)
        file.write("\n")


MODEL_CARD_README = "README.md"
INTENDED_USE = {
    "seq2seq": "translating short sentences from the source language of its data",
    "lm": "generating text in the style of its training text",
    "mlm": "filling in masked words ([MASK]) in text like its training text",
    "classify": "labelling short texts with its classes",
}


def runtimes(card: dict) -> list[str]:
    """Which runtimes can load the export: subword (SentencePiece) exports use
    tensorflow-text's ops, which TensorFlow alone and `saved_model_cli` do not register
    ("Op type not registered 'SentencepieceOp'"); byte-level ones use core ops only."""
    if card.get("tokenizer", {}).get("type") == "sentencepiece":
        return [
            "tensorflow + tensorflow-text (`import tensorflow_text` before loading)",
            "zoo serve",
            "TensorFlow Serving built with tensorflow-text's ops",
        ]
    return ["tensorflow", "saved_model_cli", "zoo serve", "TensorFlow Serving"]


def _yaml_text(value) -> str:
    return json.dumps(str(value), ensure_ascii=False)  # a JSON string is a YAML string


def model_card_readme(card: dict) -> str:
    """The model card as `README.md`: YAML front matter (licence, data sets, metrics,
    intended use, runtimes), then a short human-readable body from `zoo.json`'s content."""
    data = card.get("data") or {}
    metrics = {k: v for k, v in (card.get("metrics") or {}).items() if isinstance(v, int | float)}
    task = card.get("task", "")
    use = INTENDED_USE.get(task, f"the {task} task")
    loaders = runtimes(card)
    lines = ["---", f"license: {_yaml_text(data.get('licence', 'unknown'))}", "datasets:"]
    lines.append(f"  - {_yaml_text(data.get('name', 'unknown'))}")
    lines.append("metrics:" if metrics else "metrics: {}")
    lines += [f"  {name}: {value}" for name, value in metrics.items()]
    lines += [
        f"library_name: {_yaml_text('zoo')}",
        f'tags: [{_yaml_text(card.get("family", ""))}, {_yaml_text(task)}, "savedmodel"]',
        f"intended_use: {_yaml_text(use)}",
        "runtimes:",
        *[f"  - {_yaml_text(runtime)}" for runtime in loaders],
        "---",
        "",
        f"# {card.get('family', 'model')} ({task})",
        "",
        f"A zoo export: a TensorFlow SavedModel for {use}. The full card is `zoo.json`",
        "beside this file.",
        "",
        "## Signatures",
        "",
        *[f"- `{name}`: {text}" for name, text in (card.get("signatures") or {}).items()],
        "",
        "## Data",
        "",
        *[f"- {key}: {value}" for key, value in data.items()],
        "",
        "## Metrics",
        "",
        *([f"- {key}: {value}" for key, value in metrics.items()] or ["- none recorded"]),
        "",
        "## Loading it",
        "",
        *[f"- {runtime}" for runtime in loaders],
        "",
        "An untrained or briefly trained model answers, but not well; judge it by its metrics.",
        "",
    ]
    return "\n".join(lines)
