"""TensorFlow Serving warm-up records: `assets.extra/tf_serving_warmup_requests`.

The first call of a loaded signature is slow (TensorFlow optimises its graph: 16 s for a
translation beam search on 2 CPU cores), and without warm-up a model server makes its first
user wait for it. TensorFlow Serving reads this file when it loads a version and runs each
request in it before the version answers anyone
(https://www.tensorflow.org/tfx/serving/saved_model_warmup): a TFRecord file, at most 1,000
records, each a serialized `tensorflow.serving.PredictionLog` whose `predict_log.request`
is a `PredictRequest`. A request that fails makes the server refuse the version, so zoo
writes only requests that a signature answers (its documented example, `Endpoint.example`).

The records are TensorFlow Serving's own classes (`tensorflow-serving-api`:
`PredictionLog`, `PredictLog`, `PredictRequest`), the tensors TensorFlow's `TensorProto`s
(`tf.make_tensor_proto`). This module imports TensorFlow, those classes and the standard
library only (no other part of zoo), so a process without zoo can load it by path to replay
the records (`benchmarks/serving_speed.py`).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping

import tensorflow as tf
from google.protobuf.message import DecodeError
from tensorflow_serving.apis import model_pb2, predict_pb2, prediction_log_pb2

WARMUP_FOLDER = "assets.extra"
WARMUP_FILE = "tf_serving_warmup_requests"
MAX_RECORDS = 1000  # TensorFlow Serving refuses a file with more


# --- Writing ------------------------------------------------------------------------------


def prediction_log(signature_name: str, inputs: Mapping, model_name: str = "") -> bytes:
    """A serialized `PredictionLog` holding a `PredictRequest` for `signature_name`.

    `inputs` maps each input name to a `tf.Tensor`, or to a `tf.make_tensor_proto` argument
    (a numpy array, a list, a scalar) already of the signature's dtype. `model_name` is the
    servable's name (TensorFlow Serving's warm-up runs the request on the version it loads,
    whatever the name says). Serialized deterministically (map entries in key order), so the
    bytes are the same from one export to the next."""
    request = predict_pb2.PredictRequest(
        model_spec=model_pb2.ModelSpec(name=model_name, signature_name=signature_name)
    )
    for name in sorted(inputs):
        value = inputs[name]
        value = value.numpy() if hasattr(value, "numpy") else value  # a tf.Tensor
        request.inputs[name].CopyFrom(tf.make_tensor_proto(value))
    log = prediction_log_pb2.PredictionLog(
        predict_log=prediction_log_pb2.PredictLog(request=request)
    )
    return log.SerializeToString(deterministic=True)


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


def parse_prediction_log(record: bytes) -> dict:
    """`{"model_name", "signature_name", "inputs": {name: tf.Tensor}}` of a serialized
    `PredictionLog` with a `predict_log`; a record of another kind is a `ValueError`."""
    try:
        log = prediction_log_pb2.PredictionLog.FromString(record)
    except DecodeError as error:
        raise ValueError(
            f"A warm-up record is not a PredictionLog (truncated or of another kind): {error}"
        ) from None
    if not log.HasField("predict_log"):
        kind = log.WhichOneof("log_type")
        raise ValueError(f"A warm-up record must hold a predict_log; it holds {kind}.")
    request = log.predict_log.request
    return {
        "model_name": request.model_spec.name,
        "signature_name": request.model_spec.signature_name or "serving_default",
        "inputs": {
            name: tf.constant(tf.make_ndarray(proto)) for name, proto in request.inputs.items()
        },
    }


def read_warmup_requests(version_directory: str | os.PathLike) -> list[dict]:
    """The warm-up requests of an export version (`parse_prediction_log` each); `[]` when it
    has no warm-up file."""
    path = os.path.join(os.fspath(version_directory), WARMUP_FOLDER, WARMUP_FILE)
    if not os.path.exists(path):
        return []
    return [parse_prediction_log(bytes(record.numpy())) for record in tf.data.TFRecordDataset(path)]
