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
