"""`zoo serve` in a subprocess over tiny exports, spoken to over HTTP as a TF Serving client.

One server serves the four tasks' tiny exports (`tests/export/conftest.py`); every answer
is compared with the same signature called here with TensorFlow, on the same version
folder. The classify export gets a second version while the server runs.
"""

import concurrent.futures
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import keras
import numpy as np
import pytest

if keras.config.backend() != "tensorflow":
    pytest.skip("SavedModel export needs the TensorFlow backend", allow_module_level=True)
pytest.importorskip("kserve", reason="`zoo serve` needs the serve extra: pip install -e .[serve]")

import tensorflow as tf  # noqa: E402

from zoo.export.warmup import read_warmup_requests  # noqa: E402

TASKS = ("translate", "generate", "fill_mask", "classify")
START_SECONDS = 600  # the server loads and warms up four exports on 2 busy cores
MAX_REQUEST_BYTES = 20_000
MAX_REQUEST_ROWS = 16


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def zoo_command() -> list[str]:
    script = Path(sys.executable).parent / "zoo"
    return [str(script)] if script.exists() else [sys.executable, "-m", "zoo.cli"]


class Server:
    def __init__(self, port, process, log_path):
        self.url = f"http://127.0.0.1:{port}"
        self.process, self.log_path = process, log_path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def call(self, method, path, body=None, headers=None):
        """`(status, JSON answer)`; `body` a dict is sent as JSON, bytes as they are."""
        if isinstance(body, dict):
            body = json.dumps(body).encode()
        headers = {"Content-Type": "application/json", **(headers or {})}
        request = urllib.request.Request(self.url + path, body, headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=120) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read())

    def predict(self, model, body, version=None, **kwargs):
        path = f"/v1/models/{model}" + (f"/versions/{version}" if version else "") + ":predict"
        return self.call("POST", path, body, **kwargs)


@pytest.fixture(scope="module")
def exports(tiny_exports, tmp_path_factory):
    """Each task's export folder copied to a folder of its own (version 1 only), so that
    adding a version here touches nothing another test module uses."""
    folders = {}
    root = tmp_path_factory.mktemp("served")
    for task in TASKS:
        export = tiny_exports[task]
        folders[task] = root / task
        shutil.copytree(export.path, folders[task] / "1")
    return folders


@pytest.fixture(scope="module")
def server(exports, tmp_path_factory):
    port = free_port()
    log_path = tmp_path_factory.mktemp("server") / "serve.log"
    paths = [str(exports[task]) for task in TASKS]
    command = [
        *zoo_command(),
        "serve",
        *paths,
        "--port",
        str(port),
        "--poll-seconds",
        "0.2",
        "--max-request-bytes",
        str(MAX_REQUEST_BYTES),
        "--max-request-rows",
        str(MAX_REQUEST_ROWS),
    ]
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    with open(log_path, "w") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
    running = Server(port, process, log_path)
    deadline = time.monotonic() + START_SECONDS
    while True:
        if process.poll() is not None:
            pytest.fail(f"zoo serve exited with {process.returncode}:\n{running.log()[-3000:]}")
        try:
            if running.call("GET", "/v1/models/classify")[0] == 200:
                break
        except OSError:
            pass
        if time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"zoo serve did not answer in {START_SECONDS} s:\n{running.log()[-3000:]}")
        time.sleep(0.5)
    yield running
    process.terminate()
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        process.kill()


def signature(path, name):
    loaded = tf.saved_model.load(str(path))
    return loaded, loaded.signatures[name]


def call_here(path, name, **inputs) -> dict:
    """The signature `name` of the version at `path`, called in this process."""
    loaded, function = signature(path, name)
    specs = function.structured_input_signature[1]
    tensors = {key: tf.constant(value, specs[key].dtype) for key, value in inputs.items()}
    return {key: value.numpy() for key, value in function(**tensors).items()}


def assert_same(served, expected, rtol=1e-5):
    """A served column (JSON) equals a numpy output."""
    if expected.dtype == object:
        assert served == [value.decode("utf-8", "replace") for value in expected.tolist()]
    elif expected.dtype.kind == "f":
        np.testing.assert_allclose(np.array(served, dtype="float32"), expected, rtol=rtol)
    else:
        np.testing.assert_array_equal(np.array(served), expected)


# --- Answers ------------------------------------------------------------------------------


def test_status_and_metadata_as_tf_serving_gives_them(server, exports):
    for task in TASKS:
        assert server.call("GET", f"/v1/models/{task}") == (
            200,
            {
                "model_version_status": [
                    {
                        "version": "1",
                        "state": "AVAILABLE",
                        "status": {"error_code": "OK", "error_message": ""},
                    }
                ]
            },
        )
    status, metadata = server.call("GET", "/v1/models/translate/metadata")
    assert status == 200
    assert metadata["model_spec"] == {"name": "translate", "signature_name": "", "version": "1"}
    signatures = metadata["metadata"]["signature_def"]["signature_def"]
    assert set(signatures) == {"serving_default", "translate", "translate_with_options", "logits"}
    assert signatures["translate"]["inputs"]["text"] == {
        "dtype": "DT_STRING",
        "tensor_shape": {"dim": [{"size": "-1", "name": ""}], "unknown_rank": False},
        "name": "text",
    }
    assert signatures["translate"]["inputs"]["beam_width"]["tensor_shape"]["dim"] == []
    assert signatures["logits"]["outputs"]["logits"]["dtype"] == "DT_FLOAT"
    assert server.call("GET", "/v1/models/classify/versions/1/metadata")[0] == 200


def test_every_version_was_warmed_up_before_the_server_answered(server, exports):
    log = server.log()
    for task in TASKS:
        records = len(read_warmup_requests(exports[task] / "1"))
        assert records >= 2
        assert f"{task}: version 1 ready (" in log
        assert f"{records} warm-up requests" in log.split(f"{task}: version 1 ready")[1]


SENTENCES = ["the ball is red", "a small cat sees the dog"]


def test_translate_in_both_forms_and_every_signature(server, exports):
    path = exports["translate"] / "1"
    expected = call_here(path, "serving_default", text=SENTENCES)
    status, answer = server.predict("translate", {"instances": SENTENCES})
    assert status == 200
    assert [row["translation"] for row in answer["predictions"]] == [
        t.decode("utf-8", "replace") for t in expected["translation"]
    ]
    assert_same([row["token_ids"] for row in answer["predictions"]], expected["token_ids"])
    settings = {"beam_width": 2, "max_length": 6}
    expected = call_here(path, "translate", text=SENTENCES, **settings)
    status, answer = server.predict(
        "translate", {"signature_name": "translate", "inputs": {"text": SENTENCES, **settings}}
    )
    assert status == 200
    for key in ("translation", "token_ids", "score"):
        assert_same(answer["outputs"][key], expected[key])
    # Row form with the settings in every instance (the same value each time).
    status, rows = server.predict(
        "translate",
        {
            "signature_name": "translate_with_options",
            "instances": [{"text": s, "no_repeat_ngram_size": 0, **settings} for s in SENTENCES],
        },
        version=1,
    )
    assert status == 200
    assert [row["translation"] for row in rows["predictions"]] == answer["outputs"]["translation"]
    ids = [[5, 6, 7]]
    expected = call_here(path, "logits", encoder_token_ids=ids, decoder_token_ids=[[1, 5]])
    status, answer = server.predict(
        "translate",
        {
            "signature_name": "logits",
            "inputs": {"encoder_token_ids": ids, "decoder_token_ids": [[1, 5]]},
        },
    )
    assert status == 200
    assert_same(answer["outputs"], expected["logits"], rtol=1e-4)


def test_generate_score_fill_mask_and_classify(server, exports):
    settings = dict(
        max_new_tokens=5, temperature=0.7, top_k=3, top_p=0.9, seed=11, no_repeat_ngram_size=0
    )
    expected = call_here(exports["generate"] / "1", "generate", prompt=["the "], **settings)
    status, answer = server.predict(
        "generate", {"signature_name": "generate", "inputs": {"prompt": ["the "], **settings}}
    )
    assert status == 200
    assert_same(answer["outputs"]["token_ids"], expected["token_ids"])
    texts = ["the cat", "a red ball"]
    expected = call_here(exports["generate"] / "1", "score", text=texts)
    status, answer = server.predict("generate", {"signature_name": "score", "instances": texts})
    assert status == 200
    assert_same(
        [row["log_likelihood"] for row in answer["predictions"]], expected["log_likelihood"]
    )

    texts = ["the ball [MASK] red"]
    expected = call_here(exports["fill_mask"] / "1", "serving_default", text=texts)
    status, answer = server.predict("fill_mask", {"instances": texts})
    assert status == 200
    assert_same([row["token_ids"] for row in answer["predictions"]], expected["token_ids"])
    assert_same([row["probabilities"] for row in answer["predictions"]], expected["probabilities"])

    texts = ["a good film", "a bad film"]
    expected = call_here(exports["classify"] / "1", "classify", text=texts)
    status, answer = server.predict("classify", {"signature_name": "classify", "instances": texts})
    assert status == 200
    assert_same([row["label"] for row in answer["predictions"]], expected["label"])
    assert_same([row["probabilities"] for row in answer["predictions"]], expected["probabilities"])


def test_concurrent_requests_each_get_their_own_answer(server, exports):
    """Concurrent requests are batched into shared calls; each still gets its own rows."""
    texts = [f"film number {i} was {'good' if i % 2 else 'bad'}" for i in range(24)]
    expected = call_here(exports["classify"] / "1", "classify", text=texts)

    def ask(i):
        return server.predict("classify", {"signature_name": "classify", "instances": [texts[i]]})

    with concurrent.futures.ThreadPoolExecutor(12) as pool:
        answers = list(pool.map(ask, range(len(texts))))
    assert all(status == 200 for status, _ in answers)
    got = np.array([answer["predictions"][0]["probabilities"] for _, answer in answers])
    np.testing.assert_allclose(got, expected["probabilities"], rtol=1e-4, atol=1e-6)


# --- Bad requests: each answered with a 4xx and a message; the server keeps serving --------

BAD = {
    "empty body": (b"", 400, "Input is a zero-length, empty document"),
    "not JSON": (b"{instances: 3", 400, "Unrecognized request format"),
    "not an object": ([1, 2], 400, "must be a JSON object"),
    "no instances": ({}, 400, "exactly one of 'instances'"),
    "empty instances": ({"instances": []}, 400, "'instances' is empty"),
    "number for text": ({"instances": [3]}, 400, "Input 'text' takes strings; received a number"),
    "null for text": ({"instances": [None]}, 400, "takes strings; received a null"),
    "unknown signature": (
        {"signature_name": "nope", "instances": ["a"]},
        400,
        "Model 'translate' has no signature 'nope'",
    ),
    "unknown input": (
        {"inputs": {"text": ["a"], "colour": ["red"]}},
        400,
        "gives unknown inputs ['colour']",
    ),
    "missing input": (
        {"signature_name": "translate", "inputs": {"text": ["a"]}},
        400,
        "lacks ['beam_width', 'max_length']",
    ),
    "ragged": (
        {
            "signature_name": "logits",
            "inputs": {"encoder_token_ids": [[1, 2], [3]], "decoder_token_ids": [[1], [1]]},
        },
        400,
        "is ragged",
    ),
    "float for int": (
        {
            "signature_name": "translate",
            "inputs": {"text": ["a"], "beam_width": 1.5, "max_length": 4},
        },
        400,
        "Input 'beam_width' takes integers (int32); received 1.5",
    ),
    "setting out of range": (
        {
            "signature_name": "translate",
            "inputs": {"text": ["a"], "beam_width": 0, "max_length": 4},
        },
        400,
        "beam_width must be between 1 and 4; received 0.",
    ),
    "too many instances": (
        {"instances": ["a"] * (MAX_REQUEST_ROWS + 1)},
        413,
        f"this server takes at most {MAX_REQUEST_ROWS} per request",
    ),
    "too large": (
        {"instances": ["a" * (MAX_REQUEST_BYTES + 1)]},
        413,
        f"this server takes at most {MAX_REQUEST_BYTES}",
    ),
    "invalid UTF-8": (
        b'{"instances": ["caf\xe9"]}',
        400,
        "not valid UTF-8",
    ),
    "lone surrogate escape": (
        b'{"instances": ["\\udc80"]}',
        400,
        "surrogate",
    ),
}


@pytest.mark.parametrize("case", list(BAD))
def test_a_bad_request_gets_a_4xx_and_a_message_and_the_server_keeps_serving(server, case):
    body, status, message = BAD[case]
    if isinstance(body, list):
        body = json.dumps(body).encode()
    got_status, answer = server.predict("translate", body)
    assert (got_status, set(answer)) == (status, {"error"}), answer
    assert message in answer["error"]
    assert server.predict("classify", {"instances": ["still there"]})[0] == 200


def test_bytes_that_are_not_json_text_are_refused_in_any_content_type(server):
    status, answer = server.predict(
        "translate", b'{"instances": ["caf\xe9"]}', headers={"Content-Type": "text/plain"}
    )
    assert status == 400
    assert answer == {
        "error": "The request body is not valid UTF-8 (byte 19); send JSON text in UTF-8, "
        'and bytes as {"b64": "..."}.'
    }


def test_unknown_model_and_version(server):
    assert server.predict("nomodel", {"instances": ["a"]}) == (
        404,
        {"error": "Model with name nomodel does not exist."},
    )
    assert server.call("GET", "/v1/models/nomodel")[0] == 404
    assert server.predict("classify", {"instances": ["a"]}, version=7) == (
        404,
        {"error": "Version 7 of model 'classify' is not served; the served version is 1."},
    )


# --- A new version appears ----------------------------------------------------------------


def test_a_new_version_is_picked_up_and_answers(server, exports, tiny_exports):
    """Runs last in this file: version 2 of the classify export is written (atomically, by
    `zoo.export`) while the server runs; it is warmed up and swapped in, and answers."""
    import zoo
    from tests.export.conftest import CLASS_NAMES, CLASSIFY_MAX_LENGTH

    export = tiny_exports["classify"]
    keras.utils.set_random_seed(99)
    model = zoo.build(
        "transformer",
        task="classify",
        preset="tiny",
        vocab_size=export.tokenizer.vocabulary_size,
        num_classes=len(CLASS_NAMES),
    )
    path = zoo.export_model(
        model,
        export.tokenizer,
        exports["classify"],
        family="transformer",
        version=2,
        class_names=CLASS_NAMES,
        max_length=CLASSIFY_MAX_LENGTH,
    )
    deadline = time.monotonic() + 120
    while server.call("GET", "/v1/models/classify")[1]["model_version_status"][0]["version"] != "2":
        assert time.monotonic() < deadline, server.log()[-2000:]
        time.sleep(0.2)
    texts = ["a good film", "a bad film"]
    expected = call_here(path, "classify", text=texts)
    before = call_here(exports["classify"] / "1", "classify", text=texts)
    assert not np.allclose(expected["probabilities"], before["probabilities"])
    status, answer = server.predict("classify", {"signature_name": "classify", "instances": texts})
    assert status == 200
    assert_same([row["probabilities"] for row in answer["predictions"]], expected["probabilities"])
    assert server.predict("classify", {"instances": texts}, version=2)[0] == 200
    assert server.predict("classify", {"instances": texts}, version=1)[0] == 404
    assert "classify: version 2 ready" in server.log()

    # A version that cannot load is reported, and the one serving stays.
    broken = exports["classify"] / "3"
    broken.mkdir()
    (broken / "saved_model.pb").write_bytes(b"not a SavedModel")
    deadline = time.monotonic() + 120
    while len(server.call("GET", "/v1/models/classify")[1]["model_version_status"]) < 2:
        assert time.monotonic() < deadline, server.log()[-2000:]
        time.sleep(0.2)
    serving, failed = server.call("GET", "/v1/models/classify")[1]["model_version_status"]
    assert (serving["version"], serving["state"]) == ("2", "AVAILABLE")
    assert (failed["version"], failed["state"]) == ("3", "END")
    assert failed["status"]["error_message"]
    status, again = server.predict("classify", {"signature_name": "classify", "instances": texts})
    assert (status, again) == (200, answer)


def test_the_command_refuses_a_folder_without_versions_in_one_line(tmp_path):
    completed = subprocess.run(
        [*zoo_command(), "serve", str(tmp_path), "--port", str(free_port())],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert completed.returncode == 1
    # The last line; TensorFlow's start-up lines may come before it.
    assert completed.stderr.strip().splitlines()[-1] == (
        f"zoo serve: error: {tmp_path} holds no version folder (1/, 2/, ...); give the folder "
        "that `zoo.export` wrote into (e.g. saved_models/translate_en_fr)."
    )
    assert "Traceback" not in completed.stderr
