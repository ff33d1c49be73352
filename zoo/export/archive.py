"""What every zoo export shares, whatever its task: one atomic, versioned, checked version.

A task (`zoo.tasks`) decides its endpoints — the signatures, text in and text out — and the
decoding settings its model card records; this module writes them: the SavedModel through
`keras.export.ExportArchive`, the tokenizer's files in `assets/`, the `zoo.json` model card
and TensorFlow Serving's warm-up requests (`assets.extra/`, `zoo.export.warmup`), all into
a temporary folder that is loaded back and checked before it is renamed into place as
`directory/<version>/`. A crash at any point leaves no version behind.

`serving_default`, the signature a model server calls when a request names none (every
REST client that sends `{"instances": [...]}`), is the first endpoint with its settings at
the export's defaults (`Endpoint.defaults`): it takes the text alone. The first endpoint
itself keeps the settings as inputs.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import keras

from zoo.export.model_card import (
    MODEL_CARD,
    MODEL_CARD_README,
    model_card,
    model_card_readme,
    write_model_card,
)
from zoo.export.versioned_directory import atomic_version_directory

SERVING_DEFAULT = "serving_default"


@dataclasses.dataclass(frozen=True)
class Endpoint:
    """One signature of an export: `function(*inputs) -> dict of tensors`.

    Attributes:
        name: the signature's name (`"translate"`, `"generate"`, ...).
        function: a Python function of TensorFlow tensors, called with its inputs in
            `input_signature`'s order; it is traced once.
        input_signature: the `tf.TensorSpec`s of its inputs, each with a `name`.
        description: one line for the model card, inputs -> outputs.
        defaults: `{input name: value}` for the settings `serving_default` fixes when this
            endpoint is the first (e.g. `{"beam_width": 4, "max_length": 64}`); the inputs
            left out are `serving_default`'s inputs (the text). Values must be in range:
            nothing checks them before a request runs.
        example: a request the signature answers, `{input name: value}` for every input
            (numpy arrays, lists or scalars of the input's dtype): the export's warm-up
            request for it. None: no warm-up request for this signature.
    """

    name: str
    function: Callable
    input_signature: Sequence
    description: str
    defaults: Mapping[str, object] = dataclasses.field(default_factory=dict)
    example: Mapping[str, object] | None = None


def require_tensorflow_backend() -> None:
    if keras.config.backend() != "tensorflow":
        raise ValueError(
            "Exporting a SavedModel needs the TensorFlow backend; set KERAS_BACKEND=tensorflow "
            f"(the current backend is {keras.config.backend()!r})."
        )


def serving_default(endpoint: Endpoint, function: Callable | None = None) -> Endpoint:
    """`endpoint` with its `defaults` fixed: the inputs it has no default for, and the same
    outputs, from `function` (default: `endpoint.function`) called with the defaults as
    constants of the inputs' dtypes. An export passes the endpoint's traced `tf.function`,
    so that `serving_default` calls the very graph the named signature runs: the same
    answer, and one copy of the graph in the SavedModel."""
    import tensorflow as tf

    specs = {spec.name: spec for spec in endpoint.input_signature}
    unknown = sorted(set(endpoint.defaults) - set(specs))
    if unknown:
        raise ValueError(
            f"Defaults {unknown} are not inputs of {endpoint.name!r} (its inputs: "
            f"{', '.join(specs)})."
        )
    if not endpoint.defaults:
        return dataclasses.replace(endpoint, name=SERVING_DEFAULT)
    kept = [spec for spec in endpoint.input_signature if spec.name not in endpoint.defaults]
    kept_names = [spec.name for spec in kept]
    call = function or endpoint.function

    def with_defaults(*inputs):
        given = dict(zip(kept_names, inputs))
        for name, value in endpoint.defaults.items():
            given[name] = tf.constant(value, specs[name].dtype)
        return call(*[given[spec.name] for spec in endpoint.input_signature])

    settings = ", ".join(f"{name}={value!r}" for name, value in endpoint.defaults.items())
    example = endpoint.example
    if example is not None:
        example = {name: value for name, value in example.items() if name in kept_names}
    return Endpoint(
        SERVING_DEFAULT,
        with_defaults,
        kept,
        f"{endpoint.name} with {settings}: {', '.join(kept_names)} -> as {endpoint.name}",
        example=example,
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

    `serving_default` is the first endpoint with its `defaults` fixed (see
    `serving_default`). `tracked` are the `tf.Module`s the endpoints use (a tokenizer's graph
    resources); `assets` are files written to `assets/` beside `zoo.json` and its readable
    form `README.md`. Every endpoint with
    an `example` gets a warm-up request in `assets.extra/tf_serving_warmup_requests`,
    `serving_default` first. Before the version is renamed into place it is loaded back with
    `tf.saved_model.load` and must offer every endpoint, and each warm-up request must name
    one of its signatures with exactly that signature's inputs (names, dtypes, shapes): a
    version that a server sees loads, and its warm-up requests fit.
    """
    require_tensorflow_backend()
    import tensorflow as tf

    from zoo.export.warmup import prediction_log, write_warmup_requests

    if not endpoints:
        raise ValueError("An export needs at least one endpoint.")
    names = [endpoint.name for endpoint in endpoints]
    if SERVING_DEFAULT in names:
        raise ValueError(
            f"{SERVING_DEFAULT!r} is made from the first endpoint and its defaults; name the "
            "endpoints otherwise."
        )
    archive = keras.export.ExportArchive()
    archive.track(model)
    for module in tracked:
        archive.track(module)
    traced = [
        archive.add_endpoint(e.name, e.function, input_signature=list(e.input_signature))
        for e in endpoints
    ]
    default = serving_default(endpoints[0], traced[0])
    # Without defaults `serving_default` is the first endpoint itself: Keras's archive makes
    # the first endpoint `serving_default` too when none has that name.
    if endpoints[0].defaults:
        archive.add_endpoint(
            SERVING_DEFAULT, default.function, input_signature=list(default.input_signature)
        )
    card = model_card(
        model,
        family=family,
        data=data,
        metrics=metrics,
        decoding=decoding,
        tokenizer=tokenizer,
        signatures={endpoint.name: endpoint.description for endpoint in endpoints},
        serving_default={
            "signature": endpoints[0].name,
            "inputs": [spec.name for spec in default.input_signature],
            "defaults": dict(endpoints[0].defaults),
        },
    )
    model_name = Path(directory).name
    warmup = [
        prediction_log(endpoint.name, _example_tensors(tf, endpoint), model_name)
        for endpoint in (default, *endpoints)
        if endpoint.example is not None
    ]
    with atomic_version_directory(directory, version) as (temporary, final_path):
        archive.write_out(str(temporary), verbose=verbose)
        asset_folder = temporary / "assets"
        asset_folder.mkdir(exist_ok=True)
        for name, content in (assets or {}).items():
            (asset_folder / name).write_bytes(content)
        write_model_card(card, asset_folder / MODEL_CARD)
        (asset_folder / MODEL_CARD_README).write_text(model_card_readme(card), "utf-8")
        if warmup:
            write_warmup_requests(temporary, warmup)
        _check_loads(tf, temporary, [SERVING_DEFAULT, *names])
    return final_path


def _example_tensors(tf, endpoint: Endpoint) -> dict:
    """The endpoint's example as tensors of its inputs' dtypes and shapes."""
    specs = {spec.name: spec for spec in endpoint.input_signature}
    if set(endpoint.example) != set(specs):
        raise ValueError(
            f"The example request of {endpoint.name!r} must give each of its inputs "
            f"{sorted(specs)}; it gives {sorted(endpoint.example)}."
        )
    tensors = {}
    for name, spec in specs.items():
        tensor = tf.constant(endpoint.example[name], spec.dtype)
        if not spec.shape.is_compatible_with(tensor.shape):
            raise ValueError(
                f"The example {name!r} of {endpoint.name!r} has shape {tensor.shape}; the "
                f"input takes {spec.shape}."
            )
        tensors[name] = tensor
    return tensors


def _check_loads(tf, path: Path, names: Sequence[str]) -> None:
    from zoo.export.warmup import read_warmup_requests

    loaded = tf.saved_model.load(str(path))
    missing = sorted(set(names) - set(loaded.signatures))
    problems = [f"it does not offer the signatures {missing}"] if missing else []
    for request in read_warmup_requests(path):
        signature = loaded.signatures.get(request["signature_name"])
        if signature is None:
            problems.append(f"a warm-up request names no signature: {request['signature_name']}")
            continue
        if not _matches(request["inputs"], signature.structured_input_signature[1]):
            problems.append(
                f"the warm-up request for {request['signature_name']!r} does not match its inputs"
            )
    if problems:
        raise RuntimeError(
            f"The export written to {path} is not one a server can load: {'; '.join(problems)}; "
            "nothing was published. This is a bug in zoo: please report it."
        )


def _matches(inputs: Mapping, specs: Mapping) -> bool:
    """Whether tensors `inputs` are exactly the inputs `specs` take (names, dtypes, shapes)."""
    return set(inputs) == set(specs) and all(
        inputs[name].dtype == spec.dtype and spec.shape.is_compatible_with(inputs[name].shape)
        for name, spec in specs.items()
    )
