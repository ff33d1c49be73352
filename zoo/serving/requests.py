"""TensorFlow Serving's REST request and response bodies, checked against a signature.

A predict request (https://www.tensorflow.org/tfx/serving/api_rest) is JSON in one of two
forms:

    {"signature_name": "translate", "instances": [{"text": "...", "beam_width": 4}, ...]}
    {"signature_name": "translate", "inputs": {"text": ["..."], "beam_width": 4}}

the row form ("instances": one item per example; a bare value when the signature takes one
input) answered with `{"predictions": [...]}` (one item per example, a bare value when there
is one output), the columnar form ("inputs") answered with `{"outputs": {...}}`. Strings are
JSON strings, or `{"b64": "..."}` for bytes that are not UTF-8 text. In the row form a
scalar input (a setting such as `beam_width`) must have the same value in every instance.

Every way a request can be wrong is a `RequestError` with an HTTP status and one sentence
that says what to change; nothing here runs a model.
"""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Mapping, Sequence

import numpy as np


class RequestError(Exception):
    """A request the server refuses: `status` (4xx) and a message for the client."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


class InputSpec:
    """One input of a signature: its name, numpy dtype kind and shape (None = any size)."""

    def __init__(self, name: str, dtype: str, shape: Sequence[int | None]):
        self.name = name
        self.dtype = dtype  # "string", "int32", "int64", "float32", ...
        self.shape = tuple(shape)

    @property
    def is_scalar(self) -> bool:
        return len(self.shape) == 0


def parse_body(body, max_bytes: int) -> dict:
    """The request's JSON object; `RequestError(413)` past `max_bytes`, `(400)` when it is
    not UTF-8 JSON holding an object."""
    if isinstance(body, str):
        body = body.encode("utf-8", "surrogatepass")
    if isinstance(body, bytes | bytearray):
        body = _json_of_bytes(bytes(body), max_bytes)
    if not isinstance(body, Mapping):
        raise RequestError(
            400, f"The request must be a JSON object; received a {_json_type(body)}."
        )
    return dict(body)


def _json_of_bytes(body: bytes, max_bytes: int):
    if len(body) > max_bytes:
        raise RequestError(
            413, f"The request body is {len(body)} bytes; this server takes at most {max_bytes}."
        )
    if not body.strip():
        raise RequestError(400, "The request body is empty; send a JSON object with 'instances'.")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise RequestError(
            400,
            f"The request body is not valid UTF-8 (byte {error.start}); send JSON text in "
            'UTF-8, and bytes as {"b64": "..."}.',
        ) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise RequestError(400, f"The request body is not valid JSON: {error}.") from None


def parse_predict(
    request: Mapping, inputs: Sequence[InputSpec], *, max_rows: int
) -> tuple[dict, bool]:
    """`({input name: numpy array}, row_format)` of a predict request for a signature with
    `inputs`; `RequestError(400)` for any mismatch, `(413)` for more than `max_rows` rows."""
    has_instances, has_inputs = "instances" in request, "inputs" in request
    if has_instances == has_inputs:
        raise RequestError(
            400,
            "A predict request must hold exactly one of 'instances' (row form) or 'inputs' "
            f"(columnar form); received the keys {sorted(request)}.",
        )
    unknown = sorted(set(request) - {"instances", "inputs", "signature_name"})
    if unknown:
        raise RequestError(400, f"Unknown keys in the request: {unknown}.")
    specs = {spec.name: spec for spec in inputs}
    if has_instances:
        columns = _columns_of_instances(request["instances"], inputs, max_rows)
    else:
        columns = request["inputs"]
        if len(inputs) == 1 and not isinstance(columns, dict):
            columns = {inputs[0].name: columns}
        if not isinstance(columns, dict):
            raise RequestError(
                400,
                f"'inputs' must be an object naming the inputs {sorted(specs)}; received a "
                f"{_json_type(columns)}.",
            )
    missing = sorted(set(specs) - set(columns))
    extra = sorted(set(columns) - set(specs))
    if missing or extra:
        raise RequestError(
            400,
            f"The signature takes the inputs {sorted(specs)}; the request "
            + (f"lacks {missing}" if missing else "")
            + (" and " if missing and extra else "")
            + (f"gives unknown inputs {extra}" if extra else "")
            + ".",
        )
    arrays = {name: _array(columns[name], specs[name]) for name in specs}
    for name, array in arrays.items():
        if array.ndim and array.shape[0] > max_rows:
            raise RequestError(
                413,
                f"Input {name!r} has {array.shape[0]} rows; this server takes at most "
                f"{max_rows} per request.",
            )
        if array.ndim and array.shape[0] == 0:
            raise RequestError(400, f"Input {name!r} is empty; send at least one example.")
    return arrays, has_instances


def _columns_of_instances(instances, inputs: Sequence[InputSpec], max_rows: int) -> dict:
    if not isinstance(instances, list):
        raise RequestError(400, f"'instances' must be a list; received a {_json_type(instances)}.")
    if not instances:
        raise RequestError(400, "'instances' is empty; send at least one example.")
    if len(instances) > max_rows:
        raise RequestError(
            413,
            f"The request has {len(instances)} instances; this server takes at most "
            f"{max_rows} per request.",
        )
    names = [spec.name for spec in inputs]
    if len(inputs) == 1:
        name = names[0]
        values = [
            item[name] if isinstance(item, dict) and set(item) == {name} else item
            for item in instances
        ]
        return {name: values}
    columns: dict[str, list] = {name: [] for name in names}
    for index, item in enumerate(instances):
        if not isinstance(item, dict) or set(item) != set(names):
            got = sorted(item) if isinstance(item, dict) else _json_type(item)
            raise RequestError(
                400,
                f"instances[{index}] must be an object with the inputs {sorted(names)}; "
                f"received {got}.",
            )
        for name in names:
            columns[name].append(item[name])
    for spec in inputs:
        if spec.is_scalar:
            values = columns[spec.name]
            if any(value != values[0] for value in values):
                raise RequestError(
                    400,
                    f"Input {spec.name!r} is a setting for the whole request: give it the "
                    "same value in every instance (or use the 'inputs' form).",
                )
            columns[spec.name] = values[0]
    return columns


def _array(value, spec: InputSpec) -> np.ndarray:
    """`value` (nested JSON lists) as a numpy array of the input's dtype and rank."""
    shape = _shape(value, spec.name)
    if len(shape) != len(spec.shape) or any(
        want is not None and want != got for want, got in zip(spec.shape, shape)
    ):
        wanted = "a scalar" if spec.is_scalar else f"shape {_shape_text(spec.shape)}"
        raise RequestError(
            400, f"Input {spec.name!r} takes {wanted}; received shape {_shape_text(shape)}."
        )
    leaves = list(_leaves(value))
    converted = [_convert(leaf, spec) for leaf in leaves]
    dtype = object if spec.dtype == "string" else spec.dtype
    return np.array(converted, dtype=dtype).reshape(shape)


def _convert(leaf, spec: InputSpec):
    if spec.dtype == "string":
        if isinstance(leaf, str):
            try:
                return leaf.encode("utf-8")
            except UnicodeEncodeError:
                raise RequestError(
                    400,
                    f"Input {spec.name!r} holds a string that is not valid Unicode (a lone "
                    'surrogate escape); send bytes as {"b64": "..."}.',
                ) from None
        if isinstance(leaf, dict) and set(leaf) == {"b64"} and isinstance(leaf["b64"], str):
            try:
                return base64.b64decode(leaf["b64"], validate=True)
            except ValueError:
                raise RequestError(400, f"Input {spec.name!r} has invalid base64.") from None
        raise RequestError(
            400, f"Input {spec.name!r} takes strings; received a {_json_type(leaf)}."
        )
    if isinstance(leaf, bool) or not isinstance(leaf, int | float):
        raise RequestError(
            400, f"Input {spec.name!r} takes numbers ({spec.dtype}); received a {_json_type(leaf)}."
        )
    if spec.dtype.startswith("int"):
        if isinstance(leaf, float) and not leaf.is_integer():
            raise RequestError(
                400, f"Input {spec.name!r} takes integers ({spec.dtype}); received {leaf!r}."
            )
        info = np.iinfo(spec.dtype)
        if not info.min <= leaf <= info.max:
            raise RequestError(
                400, f"Input {spec.name!r} takes {spec.dtype}; {leaf!r} is out of its range."
            )
        return int(leaf)
    if not math.isfinite(leaf):
        raise RequestError(400, f"Input {spec.name!r} must be finite; received {leaf!r}.")
    return leaf


def _shape(value, name: str) -> tuple[int, ...]:
    if not isinstance(value, list):
        return ()
    if not value:
        return (0,)
    inner = [_shape(item, name) for item in value]
    if any(shape != inner[0] for shape in inner):
        raise RequestError(400, f"Input {name!r} is ragged: its rows differ in length.")
    return (len(value), *inner[0])


def _leaves(value):
    if isinstance(value, list):
        for item in value:
            yield from _leaves(item)
    else:
        yield value


def _shape_text(shape) -> str:
    return "(" + ", ".join("None" if size is None else str(size) for size in shape) + ")"


def _json_type(value) -> str:
    names = {bool: "boolean", int: "number", float: "number", str: "string", list: "list"}
    names[dict] = "object"
    return "null" if value is None else names.get(type(value), type(value).__name__)


# --- Responses ----------------------------------------------------------------------------


def to_json(array: np.ndarray):
    """A numpy output as JSON values: bytes as text (or `{"b64"}` when not UTF-8)."""
    if array.dtype == object or array.dtype.kind == "S":
        return _strings(array.tolist())
    if array.dtype.kind == "f":
        return np.where(np.isfinite(array), array, np.nan).tolist()
    return array.tolist()


def _strings(value):
    if isinstance(value, list):
        return [_strings(item) for item in value]
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        return {"b64": base64.b64encode(value).decode("ascii")}


def format_response(outputs: Mapping[str, np.ndarray], row_format: bool) -> dict:
    """`{"predictions": [...]}` (row form) or `{"outputs": ...}` (columnar form)."""
    if not row_format:
        if len(outputs) == 1:
            return {"outputs": to_json(next(iter(outputs.values())))}
        return {"outputs": {name: to_json(value) for name, value in outputs.items()}}
    columns = {name: to_json(value) for name, value in outputs.items()}
    rows = len(next(iter(columns.values())))
    if len(columns) == 1:
        return {"predictions": next(iter(columns.values()))}
    return {
        "predictions": [{name: column[i] for name, column in columns.items()} for i in range(rows)]
    }
