"""What every zoo export shares, whatever its task: one atomic, versioned, checked version.

A task (`zoo.tasks`) decides its endpoints — the signatures, text in and text out — and the
decoding settings its model card records; this module writes them: the SavedModel through
`keras.export.ExportArchive`, the tokenizer's files in `assets/`, the `zoo.json` model card,
all into a temporary folder that is loaded back and checked before it is renamed into place
as `directory/<version>/`. A crash at any point leaves no version behind.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import keras

from zoo.export.model_card import MODEL_CARD, model_card, write_model_card
from zoo.export.versioned_directory import atomic_version_directory


@dataclasses.dataclass(frozen=True)
class Endpoint:
    """One signature of an export: `function(**inputs) -> dict of tensors`.

    Attributes:
        name: the signature's name (`"translate"`, `"generate"`, ...).
        function: a Python function of TensorFlow tensors; it is traced once.
        input_signature: the `tf.TensorSpec`s of its inputs, each with a `name`.
        description: one line for the model card, inputs -> outputs.
    """

    name: str
    function: Callable
    input_signature: Sequence
    description: str


def require_tensorflow_backend() -> None:
    if keras.config.backend() != "tensorflow":
        raise ValueError(
            "Exporting a SavedModel needs the TensorFlow backend; set KERAS_BACKEND=tensorflow "
            f"(the current backend is {keras.config.backend()!r})."
        )


def write_version(
    model,
    directory: str | os.PathLike,
    *,
    endpoints: Sequence[Endpoint],
    family: str,
    tracked: Sequence = (),
    assets: Mapping[str, bytes] | None = None,
    data: dict | None = None,
    metrics: dict | None = None,
    decoding: dict | None = None,
    tokenizer: dict | None = None,
    version: int | None = None,
    verbose: bool = False,
) -> Path:
    """Write `model` with `endpoints` as `directory/<version>/`, atomically; returns its path.

    The first endpoint is also `serving_default`. `tracked` are the `tf.Module`s the
    endpoints use (a tokenizer's graph resources); `assets` are files written to `assets/`
    beside `zoo.json`. Before the version is renamed into place it is loaded back with
    `tf.saved_model.load` and must offer every endpoint: a version that a server sees is
    one that loads.
    """
    require_tensorflow_backend()
    import tensorflow as tf

    if not endpoints:
        raise ValueError("An export needs at least one endpoint.")
    archive = keras.export.ExportArchive()
    archive.track(model)
    for module in tracked:
        archive.track(module)
    for endpoint in endpoints:
        archive.add_endpoint(
            endpoint.name, endpoint.function, input_signature=list(endpoint.input_signature)
        )
    card = model_card(
        model,
        family=family,
        data=data,
        metrics=metrics,
        decoding=decoding,
        tokenizer=tokenizer,
        signatures={endpoint.name: endpoint.description for endpoint in endpoints},
    )
    with atomic_version_directory(directory, version) as (temporary, final_path):
        archive.write_out(str(temporary), verbose=verbose)
        asset_folder = temporary / "assets"
        asset_folder.mkdir(exist_ok=True)
        for name, content in (assets or {}).items():
            (asset_folder / name).write_bytes(content)
        write_model_card(card, asset_folder / MODEL_CARD)
        _check_loads(tf, temporary, [endpoint.name for endpoint in endpoints])
    return final_path


def _check_loads(tf, path: Path, names: Sequence[str]) -> None:
    loaded = tf.saved_model.load(str(path))
    missing = sorted(set(names) - set(loaded.signatures))
    if missing:
        raise RuntimeError(
            f"The export written to {path} does not offer the signatures {missing}; nothing "
            "was published. This is a bug in zoo: please report it."
        )
