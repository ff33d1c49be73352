"""TensorFlow Serving warm-up records: `assets.extra/tf_serving_warmup_requests`.

The first call of a loaded signature is slow (TensorFlow optimises its graph: 16 s for a
translation beam search on 2 CPU cores), and without warm-up a model server makes its first
user wait for it. TensorFlow Serving reads this file when it loads a version and runs each
request in it before the version answers anyone
(https://www.tensorflow.org/tfx/serving/saved_model_warmup): a TFRecord file, at most 1,000
records, each a serialized `tensorflow.serving.PredictionLog` whose `predict_log.request`
is a `PredictRequest`. A request that fails makes the server refuse the version, so zoo
writes only requests that a signature answers (its documented example, `Endpoint.example`).

The protos are written here by hand rather than with the `tensorflow-serving-api` package
(which zoo does not depend on); the wire format is protobuf's, the field numbers those of
`tensorflow_serving/apis/{prediction_log,predict,model}.proto`:

    PredictionLog   { PredictLog predict_log = 6; }          (in the oneof `log_type`)
    PredictLog      { PredictRequest request = 1; }
    PredictRequest  { ModelSpec model_spec = 1; map<string, TensorProto> inputs = 2; }
    ModelSpec       { string name = 1; string signature_name = 3; }
    map entry       { string key = 1; TensorProto value = 2; }

The tensors are TensorFlow's own `TensorProto`s (`tf.make_tensor_proto`). This module
imports TensorFlow and the standard library only (no other part of zoo), so a process
without zoo can load it by path to replay the records (`benchmarks/serving_speed.py`).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping

import tensorflow as tf
from tensorflow.core.framework import tensor_pb2

WARMUP_FOLDER = "assets.extra"
WARMUP_FILE = "tf_serving_warmup_requests"
MAX_RECORDS = 1000  # TensorFlow Serving refuses a file with more

# Field numbers (see the module docstring) and protobuf's wire types.
_PREDICT_LOG = 6
_REQUEST = 1
_MODEL_SPEC, _INPUTS = 1, 2
_NAME, _SIGNATURE_NAME = 1, 3
_KEY, _VALUE = 1, 2
_VARINT, _FIXED64, _LENGTH_DELIMITED, _FIXED32 = 0, 1, 2, 5


# --- Writing ------------------------------------------------------------------------------


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _field(number: int, payload: bytes) -> bytes:
    """One length-delimited field: its key, its length, its bytes."""
    return _varint(number << 3 | _LENGTH_DELIMITED) + _varint(len(payload)) + payload


def prediction_log(signature_name: str, inputs: Mapping, model_name: str = "") -> bytes:
    """A serialized `PredictionLog` holding a `PredictRequest` for `signature_name`.

    `inputs` maps each input name to a `tf.Tensor`, or to a `tf.make_tensor_proto` argument
    (a numpy array, a list, a scalar) already of the signature's dtype. `model_name` is the
    servable's name (TensorFlow Serving's warm-up runs the request on the version it loads,
    whatever the name says). Inputs are written in name order, so the bytes are the same
    from one export to the next."""
    spec = b""
    if model_name:
        spec += _field(_NAME, model_name.encode("utf-8"))
    spec += _field(_SIGNATURE_NAME, signature_name.encode("utf-8"))
    request = _field(_MODEL_SPEC, spec)
    for name in sorted(inputs):
        value = inputs[name]
        value = value.numpy() if hasattr(value, "numpy") else value  # a tf.Tensor
        tensor = tf.make_tensor_proto(value).SerializeToString()
        entry = _field(_KEY, name.encode("utf-8")) + _field(_VALUE, tensor)
        request += _field(_INPUTS, entry)
    return _field(_PREDICT_LOG, _field(_REQUEST, request))


def write_warmup_requests(version_directory: str | os.PathLike, records: Iterable[bytes]):
    """Write `records` (from `prediction_log`) to `assets.extra/tf_serving_warmup_requests`
    under `version_directory`; returns the file's path."""
    records = list(records)
    if not 0 < len(records) <= MAX_RECORDS:
        raise ValueError(
            f"A warm-up file holds 1 to {MAX_RECORDS} requests (TensorFlow Serving's limit); "
            f"received {len(records)}."
        )
    folder = os.path.join(os.fspath(version_directory), WARMUP_FOLDER)
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, WARMUP_FILE)
    with tf.io.TFRecordWriter(path) as writer:
        for record in records:
            writer.write(record)
    return path


# --- Reading ------------------------------------------------------------------------------


def _read_varint(data: bytes, position: int) -> tuple[int, int]:
    value, shift = 0, 0
    while True:
        byte = data[position]
        position += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, position
        shift += 7


def _fields(data: bytes) -> list[tuple[int, bytes | int]]:
    """The `(number, value)` fields of one serialized message, in order: bytes for
    length-delimited fields, ints for the others."""
    fields, position = [], 0
    while position < len(data):
        key, position = _read_varint(data, position)
        number, wire_type = key >> 3, key & 7
        if wire_type == _VARINT:
            value, position = _read_varint(data, position)
        elif wire_type == _LENGTH_DELIMITED:
            length, position = _read_varint(data, position)
            value = data[position : position + length]
            if len(value) != length:
                raise ValueError("A warm-up record ends inside a field: it is truncated.")
            position += length
        elif wire_type in (_FIXED64, _FIXED32):
            width = 8 if wire_type == _FIXED64 else 4
            value = int.from_bytes(data[position : position + width], "little")
            position += width
        else:
            raise ValueError(f"A warm-up record has a field of unknown wire type {wire_type}.")
        fields.append((number, value))
    return fields


def _only(fields, number: int, what: str) -> bytes:
    values = [value for field, value in fields if field == number]
    if len(values) != 1 or not isinstance(values[0], bytes):
        raise ValueError(f"A warm-up record must hold one {what}; found {len(values)}.")
    return values[0]


def parse_prediction_log(record: bytes) -> dict:
    """`{"model_name", "signature_name", "inputs": {name: tf.Tensor}}` of a serialized
    `PredictionLog` with a `predict_log`; a record of another kind is a `ValueError`."""
    predict_log = _only(_fields(record), _PREDICT_LOG, "predict_log")
    request = _fields(_only(_fields(predict_log), _REQUEST, "PredictLog.request"))
    spec = dict(_fields(_only(request, _MODEL_SPEC, "PredictRequest.model_spec")))
    inputs = {}
    for number, entry in request:
        if number != _INPUTS:
            continue
        entry = _fields(entry)
        name = _only(entry, _KEY, "input name").decode("utf-8")
        proto = tensor_pb2.TensorProto.FromString(
            _only(entry, _VALUE, f"tensor for input {name!r}")
        )
        inputs[name] = tf.constant(tf.make_ndarray(proto))
    return {
        "model_name": spec.get(_NAME, b"").decode("utf-8"),
        "signature_name": spec.get(_SIGNATURE_NAME, b"").decode("utf-8") or "serving_default",
        "inputs": inputs,
    }


def read_warmup_requests(version_directory: str | os.PathLike) -> list[dict]:
    """The warm-up requests of an export version (`parse_prediction_log` each); `[]` when it
    has no warm-up file."""
    path = os.path.join(os.fspath(version_directory), WARMUP_FOLDER, WARMUP_FILE)
    if not os.path.exists(path):
        return []
    return [parse_prediction_log(bytes(record.numpy())) for record in tf.data.TFRecordDataset(path)]
