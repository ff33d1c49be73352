"""What a model server meets: `serving_default` takes the text alone, and every version
carries TensorFlow Serving warm-up requests that its signatures answer.

The warm-up file is read here with protobuf's own parser, from message types transcribed
from TensorFlow Serving's `.proto` files (not with the `tensorflow-serving-api` classes
that zoo writes them with), and with those classes too.
"""

import json
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest

if keras.config.backend() != "tensorflow":
    pytest.skip("SavedModel export needs the TensorFlow backend", allow_module_level=True)

import tensorflow as tf  # noqa: E402

from tests.export.conftest import LIMITS, TRANSLATE_MAX_SOURCE_LENGTH  # noqa: E402
from zoo.export import existing_versions  # noqa: E402
from zoo.export.archive import Endpoint, serving_default, write_version  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
SENTENCES = ["the ball is red", "a small cat sees the dog", ""]

# Each task: its first signature, the text input's name, and what `serving_default` must
# send, written out from the fixture's export options (`tests/export/conftest.py`): the
# defaults (beam 4, 64 tokens, 200 new tokens, temperature 1, top-k 5), cut to the
# fixture's limits (12 tokens, 12 new tokens).
SERVED = {
    "translate": ("translate", "text", {"beam_width": 4, "max_length": 12}),
    "generate": (
        "generate",
        "prompt",
        {
            "max_new_tokens": 12,
            "temperature": 1.0,
            "top_k": 0,
            "top_p": 1.0,
            "seed": 0,
            "no_repeat_ngram_size": 0,
        },
    ),
    "fill_mask": ("fill_mask", "text", {"top_k": 5}),
    "classify": ("classify", "text", {}),
}
SIGNATURES = {
    "translate": {"serving_default", "translate", "translate_with_options", "logits"},
    "generate": {"serving_default", "generate", "score", "logits"},
    "fill_mask": {"serving_default", "fill_mask", "logits"},
    "classify": {"serving_default", "classify"},
}
FLOATS = ("temperature", "top_p")


@pytest.fixture(scope="module")
def exports(tiny_exports):
    """Every task's export, made before any signature here runs (see `TinyExports`)."""
    return tiny_exports.make_all()


@pytest.fixture(autouse=True)
def _seed_and_policy():
    """Replaces `tests/conftest.py`'s (which would clear TensorFlow's kernel caches, and the
    loaded beam searches would optimise their graphs again); nothing here draws numbers."""
    keras.mixed_precision.set_global_policy("float32")
    yield


def numpy_outputs(outputs) -> dict:
    return {key: value.numpy() for key, value in outputs.items()}


def card_of(path) -> dict:
    return json.loads((path / "assets" / "zoo.json").read_text())


# --- serving_default --------------------------------------------------------------------


@pytest.mark.parametrize("task", list(SERVED))
def test_serving_default_takes_the_text_alone_and_answers_as_its_signature_with_the_defaults(
    exports, task
):
    export = exports[task]
    name, text_input, defaults = SERVED[task]
    default = export.signatures["serving_default"]
    assert set(default.structured_input_signature[1]) == {text_input}
    card = card_of(export.path)
    assert card["serving_default"] == {
        "signature": name,
        "inputs": [text_input],
        "defaults": defaults,
    }
    texts = ["the ball [MASK] red", "a small cat", ""]
    got = numpy_outputs(default(**{text_input: tf.constant(texts)}))
    settings = {
        key: tf.constant(value, tf.float32 if key in FLOATS else tf.int32)
        for key, value in defaults.items()
    }
    expected = numpy_outputs(
        export.signatures[name](**{text_input: tf.constant(texts)}, **settings)
    )
    assert set(got) == set(expected)
    for key in expected:
        if expected[key].dtype.kind == "f":
            np.testing.assert_allclose(got[key], expected[key], rtol=1e-6, err_msg=key)
        else:
            np.testing.assert_array_equal(got[key], expected[key], err_msg=key)


def test_serving_default_translates_as_the_model_does_in_process(exports):
    """Independently of the exported `translate`: the in-process beam search with the
    defaults the fixture's limits leave (beam 4, max_length 12)."""
    from zoo.tasks.translate import translate_batch

    export = exports["translate"]
    got = numpy_outputs(export.signatures["serving_default"](text=tf.constant(SENTENCES)))
    expected = translate_batch(
        export.model,
        export.tokenizer,
        SENTENCES,
        beam_width=4,
        max_length=LIMITS["translate"]["max_length_limit"],
        max_source_length=TRANSLATE_MAX_SOURCE_LENGTH,
    )
    np.testing.assert_array_equal(got["token_ids"], expected["token_ids"])
    np.testing.assert_allclose(got["score"], expected["score"], rtol=1e-4, atol=1e-4)
    assert [t.decode() for t in got["translation"]] == expected["translation"]


def test_serving_default_of_a_toy_endpoint_fixes_its_settings():
    def scale(x, factor, shift):
        return {"y": x * tf.cast(factor, tf.float32) + shift}

    specs = [
        tf.TensorSpec([None], tf.float32, name="x"),
        tf.TensorSpec([], tf.int32, name="factor"),
        tf.TensorSpec([], tf.float32, name="shift"),
    ]
    endpoint = Endpoint(
        "scale",
        scale,
        specs,
        "x -> y",
        defaults={"factor": 3, "shift": 0.5},
        example={"x": [1.0], "factor": 3, "shift": 0.5},
    )
    default = serving_default(endpoint)
    assert default.name == "serving_default"
    assert [spec.name for spec in default.input_signature] == ["x"]
    assert default.example == {"x": [1.0]}
    y = default.function(tf.constant([1.0, -2.0]))["y"].numpy()
    np.testing.assert_allclose(y, [3.5, -5.5])
    plain = Endpoint("plain", scale, specs, "x, factor, shift -> y")
    assert serving_default(plain).input_signature == specs
    with pytest.raises(ValueError, match=r"Defaults \['scale'\] are not inputs of 'scale'"):
        serving_default(Endpoint("scale", scale, specs, "", defaults={"scale": 2}))


def test_export_options_set_the_defaults_and_bad_ones_are_refused(exports):
    from zoo.export.text_graph import graph_text_tokenizer
    from zoo.tasks.fill_mask import FILL_MASK
    from zoo.tasks.generate import GENERATE
    from zoo.tasks.translate import TRANSLATE

    translate = exports["translate"]
    graph = graph_text_tokenizer(translate.tokenizer)
    first = TRANSLATE.endpoints(translate.model, graph, beam_width=2, max_length=30)[0]
    assert first.defaults == {"beam_width": 2, "max_length": 30}
    assert TRANSLATE.endpoints(translate.model, graph)[0].defaults == {
        "beam_width": 4,
        "max_length": 64,
    }
    for options, message in [
        (dict(beam_width=0), r"`beam_width` .* must be an int between 1 and 16; received 0"),
        (dict(beam_width=17), "between 1 and 16; received 17"),
        (dict(beam_width=True), "received True"),
        (dict(max_length=10, max_length_limit=8), "between 1 and 8; received 10"),
        (dict(max_length="64"), "received '64'"),
    ]:
        with pytest.raises(ValueError, match=message):
            TRANSLATE.endpoints(translate.model, graph, **options)
    generate = exports["generate"]
    graph = graph_text_tokenizer(generate.tokenizer)
    first = GENERATE.endpoints(generate.model, graph, temperature=0.0, max_new_tokens=50)[0]
    assert first.defaults["temperature"] == 0.0 and first.defaults["max_new_tokens"] == 50
    assert GENERATE.endpoints(generate.model, graph)[0].defaults["max_new_tokens"] == 200
    for options, message in [
        (dict(temperature=-1.0), "temperature"),
        (dict(temperature=float("inf")), "finite"),
        (dict(top_p=0.0), "top_p"),
        (dict(seed=2**31), "`seed` must be an int32"),
        (dict(max_new_tokens=5000), "between 0 and 4096; received 5000"),
        (dict(no_repeat_ngram_size=-1), "at least 0; received -1"),
    ]:
        with pytest.raises(ValueError, match=message):
            GENERATE.endpoints(generate.model, graph, **options)
    fill = exports["fill_mask"]
    graph = graph_text_tokenizer(fill.tokenizer)
    assert FILL_MASK.endpoints(fill.model, graph, top_k=3)[0].defaults == {"top_k": 3}
    with pytest.raises(ValueError, match="`top_k` .* at least 1; received 0"):
        FILL_MASK.endpoints(fill.model, graph, top_k=0)


# --- Warm-up requests -------------------------------------------------------------------


def serving_message_classes():
    """`PredictionLog` as a protobuf class, from TensorFlow Serving's `.proto` files
    (`tensorflow_serving/apis/{prediction_log,predict,model}.proto`) written out here, in
    a private descriptor pool, with TensorFlow's own `TensorProto`."""
    from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
    from tensorflow.core.framework import tensor_pb2

    pool = descriptor_pool.DescriptorPool()
    added = set()

    def add(file_descriptor):
        for dependency in file_descriptor.dependencies:
            add(dependency)
        if file_descriptor.name not in added:
            proto = descriptor_pb2.FileDescriptorProto()
            file_descriptor.CopyToProto(proto)
            pool.Add(proto)
            added.add(file_descriptor.name)

    add(tensor_pb2.DESCRIPTOR)
    Field = descriptor_pb2.FieldDescriptorProto
    optional, repeated = Field.LABEL_OPTIONAL, Field.LABEL_REPEATED

    def field(name, number, kind, type_name=None, label=optional):
        described = Field(name=name, number=number, type=kind, label=label)
        if type_name:
            described.type_name = type_name
        return described

    serving = descriptor_pb2.FileDescriptorProto(
        name="test_serving/apis.proto",
        package="tensorflow.serving",
        syntax="proto3",
        dependency=["tensorflow/core/framework/tensor.proto"],
    )
    serving.message_type.add(name="ModelSpec").field.extend(
        [
            field("name", 1, Field.TYPE_STRING),
            field("signature_name", 3, Field.TYPE_STRING),
        ]
    )
    request = serving.message_type.add(name="PredictRequest")
    entry = request.nested_type.add(name="InputsEntry")
    entry.options.map_entry = True
    entry.field.extend(
        [
            field("key", 1, Field.TYPE_STRING),
            field("value", 2, Field.TYPE_MESSAGE, ".tensorflow.TensorProto"),
        ]
    )
    request.field.extend(
        [
            field("model_spec", 1, Field.TYPE_MESSAGE, ".tensorflow.serving.ModelSpec"),
            field(
                "inputs",
                2,
                Field.TYPE_MESSAGE,
                ".tensorflow.serving.PredictRequest.InputsEntry",
                repeated,
            ),
        ]
    )
    serving.message_type.add(name="PredictLog").field.append(
        field("request", 1, Field.TYPE_MESSAGE, ".tensorflow.serving.PredictRequest")
    )
    serving.message_type.add(name="PredictionLog").field.append(
        field("predict_log", 6, Field.TYPE_MESSAGE, ".tensorflow.serving.PredictLog")
    )
    pool.Add(serving)
    return message_factory.GetMessageClass(
        pool.FindMessageTypeByName("tensorflow.serving.PredictionLog")
    )


def warmup_records(path) -> list[bytes]:
    file = path / "assets.extra" / "tf_serving_warmup_requests"
    assert file.is_file(), f"no warm-up file in {path}"
    return [bytes(record.numpy()) for record in tf.data.TFRecordDataset(str(file))]


def parsed_requests(path, prediction_log_class) -> list:
    requests = []
    for record in warmup_records(path):
        log = prediction_log_class.FromString(record)
        assert log.HasField("predict_log")
        requests.append(log.predict_log.request)
    return requests


@pytest.mark.parametrize("task", list(SERVED))
def test_warmup_requests_name_every_signature_with_inputs_it_answers(exports, task):
    export = exports[task]
    requests = parsed_requests(export.path, serving_message_classes())
    names = [request.model_spec.signature_name for request in requests]
    assert names[0] == "serving_default"  # the one a server's first user most likely calls
    assert sorted(names) == sorted(SIGNATURES[task]) == sorted(export.signatures)
    for request in requests:
        assert request.model_spec.name == export.path.parent.name  # the model's folder
        signature = export.signatures[request.model_spec.signature_name]
        specs = signature.structured_input_signature[1]
        inputs = {name: tf.make_ndarray(proto) for name, proto in request.inputs.items()}
        assert set(inputs) == set(specs)
        for name, spec in specs.items():
            assert request.inputs[name].dtype == spec.dtype.as_datatype_enum, name
            assert spec.shape.is_compatible_with(inputs[name].shape), name
        outputs = signature(**{name: tf.constant(value) for name, value in inputs.items()})
        assert outputs and all(np.size(value) > 0 for value in outputs.values())


def test_warmup_settings_are_the_serving_defaults(exports):
    requests = parsed_requests(exports["translate"].path, serving_message_classes())
    translate = next(r for r in requests if r.model_spec.signature_name == "translate")
    settings = {
        name: int(tf.make_ndarray(proto))
        for name, proto in translate.inputs.items()
        if name != "text"
    }
    assert settings == SERVED["translate"][2]
    (text,) = tf.make_ndarray(translate.inputs["text"]).tolist()
    assert len(text.decode().split()) == 10  # a sentence as users send


def test_zoo_reads_its_warmup_records_as_protobuf_does(exports):
    """`zoo.export.warmup`'s reader (the benchmark's) against protobuf's parser."""
    from zoo.export.warmup import read_warmup_requests

    path = exports["generate"].path
    ours = read_warmup_requests(path)
    theirs = parsed_requests(path, serving_message_classes())
    assert [r["signature_name"] for r in ours] == [r.model_spec.signature_name for r in theirs]
    for mine, other in zip(ours, theirs):
        assert set(mine["inputs"]) == set(other.inputs)
        for name, tensor in mine["inputs"].items():
            np.testing.assert_array_equal(tensor.numpy(), tf.make_ndarray(other.inputs[name]))


def test_warmup_records_parse_with_tensorflow_serving_s_own_classes(exports):
    from tensorflow_serving.apis import prediction_log_pb2

    requests = parsed_requests(exports["translate"].path, prediction_log_pb2.PredictionLog)
    assert {r.model_spec.signature_name for r in requests} == SIGNATURES["translate"]


def test_a_prediction_log_matches_bytes_written_out_by_hand():
    """The wire format, byte by byte, for a request with one scalar input."""
    from zoo.export.warmup import parse_prediction_log, prediction_log

    record = prediction_log("sig", {"k": np.int32(3)}, model_name="m")
    tensor = tf.make_tensor_proto(np.int32(3)).SerializeToString()  # dtype 3, shape {}, 3
    entry = b"\x0a\x01k" + b"\x12" + bytes([len(tensor)]) + tensor
    spec = b"\x0a\x01m" + b"\x1a\x03sig"
    request = b"\x0a" + bytes([len(spec)]) + spec + b"\x12" + bytes([len(entry)]) + entry
    predict_log = b"\x0a" + bytes([len(request)]) + request
    assert record == b"\x32" + bytes([len(predict_log)]) + predict_log
    parsed = parse_prediction_log(record)
    assert parsed["model_name"] == "m" and parsed["signature_name"] == "sig"
    assert parsed["inputs"]["k"].dtype == tf.int32 and int(parsed["inputs"]["k"]) == 3
    with pytest.raises(ValueError, match="truncated"):
        parse_prediction_log(record[:-1])


# --- An export that fails leaves nothing --------------------------------------------------


def toy_endpoints():
    def lengths(text):
        return {"length": tf.strings.length(text)}

    spec = [tf.TensorSpec([None], tf.string, name="text")]
    return [Endpoint("lengths", lengths, spec, "text -> length", example={"text": ["abc"]})]


def test_a_crash_while_writing_warmup_requests_publishes_no_version(exports, tmp_path, monkeypatch):
    import zoo.export.warmup as warmup

    model = exports["classify"].model
    directory = tmp_path / "model"
    first = write_version(model, directory, endpoints=toy_endpoints(), family="transformer")
    assert (first / "assets.extra" / "tf_serving_warmup_requests").is_file()

    def crash(version_directory, records):
        folder = Path(version_directory) / "assets.extra"
        folder.mkdir()
        (folder / "tf_serving_warmup_requests").write_bytes(b"half a rec")
        raise OSError("disk full")

    monkeypatch.setattr(warmup, "write_warmup_requests", crash)
    with pytest.raises(OSError, match="disk full"):
        write_version(model, directory, endpoints=toy_endpoints(), family="transformer")
    assert existing_versions(directory) == [1]
    assert sorted(p.name for p in directory.iterdir()) == ["1"]


def test_a_warmup_request_for_no_signature_is_refused_before_publishing(
    exports, tmp_path, monkeypatch
):
    import zoo.export.warmup as warmup

    real = warmup.prediction_log
    monkeypatch.setattr(
        warmup, "prediction_log", lambda name, inputs, model_name="": real("nope", inputs)
    )
    directory = tmp_path / "model"
    with pytest.raises(RuntimeError, match="a warm-up request names no signature: nope"):
        write_version(
            exports["classify"].model, directory, endpoints=toy_endpoints(), family="transformer"
        )
    assert not directory.exists() or not any(directory.iterdir())


def test_an_example_that_does_not_fit_its_signature_is_refused(exports, tmp_path):
    (endpoint,) = toy_endpoints()
    wrong = [Endpoint("lengths", endpoint.function, endpoint.input_signature, "", example={})]
    with pytest.raises(ValueError, match=r"must give each of its inputs \['text'\]"):
        write_version(exports["classify"].model, tmp_path / "m", endpoints=wrong, family="t")
    wrong = [
        Endpoint("lengths", endpoint.function, endpoint.input_signature, "", example={"text": "a"})
    ]
    with pytest.raises(ValueError, match="has shape"):
        write_version(exports["classify"].model, tmp_path / "m", endpoints=wrong, family="t")


# --- The benchmark ------------------------------------------------------------------------


@pytest.mark.slow
def test_serving_speed_quick_run_on_the_tiny_export(exports, tmp_path):
    sentences = tmp_path / "sentences.txt"
    sentences.write_text("the ball is red\nthe small cat sees the dog under the green table\n")
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks.serving_speed",
            "--model",
            str(exports["translate"].path.parent),
            "--text-file",
            str(sentences),
            "--quick",
            "--output-dir",
            str(tmp_path / "out"),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=600,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    report = json.loads((tmp_path / "out" / "serving_speed.json").read_text())
    assert report["modules_in_measuring_process"]["zoo"] is False
    cold = report["cold_start"]
    warmed = cold["with_warmup"]["runs"][0]["warmup"]
    assert [item["signature"] for item in warmed][0] == "serving_default"
    assert {item["signature"] for item in warmed} == SIGNATURES["translate"]
    assert report["latency_ms"]["words"] == [10]  # the sentence nearest ten words
    assert set(report["throughput"]) == {"8", "16"}
    assert report["conditions"]["max_length"] == LIMITS["translate"]["max_length_limit"]
    table = (tmp_path / "out" / "serving_speed.md").read_text()
    assert "| first call after warm-up |" in table and "sentences/s" in table


def test_the_benchmark_picks_ten_word_sentences_and_judges_only_full_runs():
    from benchmarks.serving_speed import goals, near_ten_words, percentile

    ten, eleven, three = " ".join(["w"] * 10), " ".join(["v"] * 11), "a b c"
    assert near_ten_words([three, eleven, ten, ten]) == [eleven, ten]  # within a word of ten
    assert near_ten_words([three, "a b c d"]) == ["a b c d"]  # else the nearest
    assert percentile([4.0, 1.0, 3.0, 2.0], 0.5) == 2.5  # numpy's linear interpolation
    assert percentile([1.0, 2.0, 3.0, 4.0, 5.0], 0.99) == pytest.approx(4.96)
    report = {
        "conditions": {"quick": False, "beam_width": 4},
        "latency_ms": {"p50": 99.0},
        "throughput": {
            "32": {"sentences_per_second": 300.0},
            "64": {"sentences_per_second": 249.0},
        },
    }
    assert [goal["met"] for goal in goals(report)] == [True, False]
    report["conditions"]["quick"] = True
    assert [goal["met"] for goal in goals(report)] == [None, None]
    report["conditions"]["quick"] = False
    del report["throughput"]["64"]
    assert goals(report)[1] == {
        "key": "serving_throughput",
        "figure": "batch 64 not measured in this run",
        "met": None,
    }
