"""A served model: its export folder's newest version, loaded, warmed up and swapped in.

As TensorFlow Serving's default policy ("latest", one version): `ServedModel` loads the
largest integer version folder under the model's folder, replays its warm-up requests
(`assets.extra/tf_serving_warmup_requests`, `zoo.export.warmup`) and only then offers it;
`refresh()` (called by the server every `poll_seconds`) loads a newer version beside the
one serving, warms it up, then swaps one reference: a request holds the version it started
with to its end, so it never sees a half-loaded model, and the old version is dropped when
its last request ends. A version that fails to load or to warm up is logged and skipped;
the one serving stays.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from zoo.export.versioned_directory import existing_versions
from zoo.serving.requests import InputSpec, RequestError

log = logging.getLogger("zoo.serving")


class LoadedVersion:
    """One version of an export, loaded with `tf.saved_model.load`."""

    def __init__(self, path: Path, version: int):
        import tensorflow as tf
        import tensorflow_text  # noqa: F401  (registers the SentencePiece ops of subword exports)

        start = time.perf_counter()
        self.path, self.version = path, version
        self._loaded = tf.saved_model.load(str(path))  # keeps the variables and tables alive
        self.signatures = dict(self._loaded.signatures)
        self.inputs = {
            name: [
                InputSpec(spec.name or key, spec.dtype.name, spec.shape.as_list())
                for key, spec in sorted(function.structured_input_signature[1].items())
            ]
            for name, function in self.signatures.items()
        }
        card_path = path / "assets" / "zoo.json"
        self.card = json.loads(card_path.read_text("utf-8")) if card_path.exists() else {}
        self.load_seconds = time.perf_counter() - start
        self.warmup_seconds = 0.0
        self.warmup_requests = 0

    def warm_up(self) -> None:
        """Run each warm-up request of the version on the signature it names, as TensorFlow
        Serving does before a version answers anyone; a failure is an error."""
        from zoo.export.warmup import read_warmup_requests

        start = time.perf_counter()
        for request in read_warmup_requests(self.path):
            self.signatures[request["signature_name"]](**request["inputs"])
            self.warmup_requests += 1
        self.warmup_seconds = time.perf_counter() - start

    def batchable(self, signature_name: str) -> bool:
        """Whether rows of different requests may share one call of the signature: not when
        it draws random numbers (a `seed` input, here or in the signature `serving_default`
        stands for), whose draws for a row depend on the batch it is in."""
        names = {spec.name for spec in self.inputs[signature_name]}
        if signature_name == "serving_default":
            names |= set(self.card.get("serving_default", {}).get("defaults", {}))
        return "seed" not in names

    def run(self, signature_name: str, arrays: Mapping[str, np.ndarray]) -> dict:
        """Call a signature on numpy inputs; `RequestError(400)` when the graph refuses them
        (an out-of-range setting: `INVALID_ARGUMENT`)."""
        import tensorflow as tf

        function = self.signatures[signature_name]
        tensors = {
            spec.name: tf.constant(arrays[spec.name], dtype=spec.dtype)
            for spec in self.inputs[signature_name]
        }
        try:
            outputs = function(**tensors)
        except tf.errors.InvalidArgumentError as error:
            raise RequestError(400, graph_error_message(error.message)) from None
        return {name: value.numpy() for name, value in sorted(outputs.items())}

    def metadata(self, model_name: str) -> dict:
        """TensorFlow Serving's `GET /v1/models/NAME/metadata` answer."""
        signature_def = {}
        for name, function in sorted(self.signatures.items()):
            inputs = {
                spec.name: _tensor_info(spec.name, spec.dtype, spec.shape)
                for spec in self.inputs[name]
            }
            outputs = {
                key: _tensor_info(key, spec.dtype.name, spec.shape.as_list())
                for key, spec in sorted(function.structured_outputs.items())
            }
            signature_def[name] = {
                "inputs": inputs,
                "outputs": outputs,
                "method_name": "tensorflow/serving/predict",
            }
        return {
            "model_spec": {"name": model_name, "signature_name": "", "version": str(self.version)},
            "metadata": {"signature_def": {"signature_def": signature_def}},
        }


def _tensor_info(name: str, dtype: str, shape) -> dict:
    import tensorflow as tf
    from tensorflow.core.framework import types_pb2

    return {
        "dtype": types_pb2.DataType.Name(tf.as_dtype(dtype).as_datatype_enum),
        "tensor_shape": {
            "dim": [{"size": str(-1 if size is None else size), "name": ""} for size in shape],
            "unknown_rank": False,
        },
        "name": name,
    }


def graph_error_message(message: str) -> str:
    """The useful sentence of a TensorFlow graph error (the export's check message, e.g.
    `beam_width must be between 1 and 16; received 0.`) without node and stack lines."""
    lines = [line.strip() for line in message.splitlines()]
    lines = [
        line
        for line in lines
        if line
        and not line.startswith(("Graph execution error", "[[", "Detected at node", "Stack trace"))
        and not re.match(r"^File \"", line)
    ]
    text = " ".join(lines) or message.strip()
    text = re.sub(r"\s*\[\[\{\{node .*", "", text)
    text = re.sub(r"^.*assertion failed: \[(.*?)\].*$", r"\1", text)
    return text.replace("\\'", "'")[:500]


class ServedModel:
    """The newest version of one export folder, as served under `name`."""

    def __init__(self, name: str, directory: Path):
        self.name, self.directory = name, Path(directory)
        self._lock = threading.Lock()
        self._current: LoadedVersion | None = None
        self.failed: dict[int, str] = {}  # versions that did not load: their error
        if not self.directory.is_dir():
            raise ValueError(f"{self.directory} is not a folder; give an export's folder.")
        if not existing_versions(self.directory):
            raise ValueError(
                f"{self.directory} holds no version folder (1/, 2/, ...); give the folder "
                "that `zoo.export` wrote into (e.g. saved_models/translate_en_fr)."
            )

    @property
    def current(self) -> LoadedVersion | None:
        return self._current

    def refresh(self) -> bool:
        """Load, warm up and swap in the newest version if it is newer than the one
        serving; returns whether it swapped. Errors leave the serving version in place."""
        versions = [v for v in existing_versions(self.directory) if v not in self.failed]
        if not versions or (self._current and versions[-1] <= self._current.version):
            return False
        version = versions[-1]
        try:
            loaded = LoadedVersion(self.directory / str(version), version)
            loaded.warm_up()
        except Exception as error:  # a bad version must not take the model down
            self.failed[version] = f"{type(error).__name__}: {error}"
            log.error("%s: version %d not loaded: %s", self.name, version, self.failed[version])
            return False
        with self._lock:
            self._current = loaded
        log.info(
            "%s: version %d ready (loaded in %.1f s, %d warm-up requests in %.1f s)",
            self.name,
            version,
            loaded.load_seconds,
            loaded.warmup_requests,
            loaded.warmup_seconds,
        )
        return True

    def version(self, requested: int | None) -> LoadedVersion:
        """The version a request runs on; `RequestError(404)` when it is not served."""
        current = self._current
        if current is None:
            raise RequestError(503, f"Model {self.name!r} has no version loaded yet.")
        if requested is not None and requested != current.version:
            raise RequestError(
                404,
                f"Version {requested} of model {self.name!r} is not served; the served "
                f"version is {current.version}.",
            )
        return current

    def status(self) -> dict:
        """TensorFlow Serving's `GET /v1/models/NAME` answer."""
        rows = []
        if self._current is not None:
            rows.append(
                {
                    "version": str(self._current.version),
                    "state": "AVAILABLE",
                    "status": {"error_code": "OK", "error_message": ""},
                }
            )
        for version, error in sorted(self.failed.items()):
            rows.append(
                {
                    "version": str(version),
                    "state": "END",
                    "status": {"error_code": "UNKNOWN", "error_message": error},
                }
            )
        return {"model_version_status": rows}
