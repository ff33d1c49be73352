"""The exported `lm`: `generate`, `score` and `logits` with TensorFlow alone, agreeing with
the model in process; bad inputs give defined results or clear errors."""

import json
import textwrap

import keras
import numpy as np
import pytest

if keras.config.backend() != "tensorflow":
    pytest.skip("SavedModel export needs the TensorFlow backend", allow_module_level=True)

import tensorflow as tf  # noqa: E402

import zoo  # noqa: E402
from tests.clean_process import run_without_zoo  # noqa: E402
from zoo.data import ByteTokenizer  # noqa: E402
from zoo.export import existing_versions  # noqa: E402
from zoo.tasks import generate as generation  # noqa: E402

CONTEXT = 12
PROMPTS = ["", "to be", "a prompt much longer than the twelve-token context"]


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    keras.utils.set_random_seed(5)
    model = zoo.build(
        "transformer",
        task="lm",
        preset="tiny",
        vocab_size=260,
        position_encoding="learned",
        max_sequence_length=CONTEXT + 8,
    )
    tokenizer = ByteTokenizer()
    directory = tmp_path_factory.mktemp("saved") / "char_lm"
    path = zoo.export_model(
        model,
        tokenizer,
        directory,
        family="transformer",
        data={"name": "test", "licence": "none"},
        context_length=CONTEXT,
    )
    return model, tokenizer, directory, path


CLEAN_PROCESS = textwrap.dedent(
    """
    import json, sys
    import tensorflow as tf

    path, calls = sys.argv[1], json.loads(sys.argv[2])
    loaded = tf.saved_model.load(path)
    results = []
    for call in calls:
        out = loaded.signatures["generate"](
            prompt=tf.constant(call["prompts"]),
            max_new_tokens=tf.constant(call["max_new_tokens"]),
            temperature=tf.constant(call["temperature"], tf.float32),
            top_k=tf.constant(call["top_k"]),
            top_p=tf.constant(call["top_p"], tf.float32),
            seed=tf.constant(call["seed"]),
            no_repeat_ngram_size=tf.constant(call.get("no_repeat_ngram_size", 0)),
        )
        results.append([t.decode("utf-8") for t in out["text"].numpy()])
    print("RESULT" + json.dumps(results))
    """
)


def run_clean(path, calls):
    return run_without_zoo(CLEAN_PROCESS, path, calls)


def test_generates_in_a_fresh_tensorflow_process_like_in_process(exported):
    model, tokenizer, _, path = exported
    calls = [
        dict(prompts=PROMPTS, max_new_tokens=10, temperature=0.0, top_k=0, top_p=1.0, seed=0),
        dict(prompts=PROMPTS, max_new_tokens=10, temperature=1.3, top_k=40, top_p=0.9, seed=11),
        dict(prompts=PROMPTS[:2], max_new_tokens=5, temperature=1.0, top_k=-1, top_p=1.0, seed=3),
        dict(
            prompts=PROMPTS,
            max_new_tokens=7,
            temperature=0.0,
            top_k=0,
            top_p=1.0,
            seed=0,
            no_repeat_ngram_size=2,
        ),
    ]
    results = run_clean(path, calls)
    for call, texts in zip(calls, results):
        expected = generation.generate_texts(
            model,
            tokenizer,
            call["prompts"],
            max_new_tokens=call["max_new_tokens"],
            temperature=call["temperature"],
            top_k=call["top_k"],
            top_p=call["top_p"],
            seed=call["seed"],
            no_repeat_ngram_size=call.get("no_repeat_ngram_size", 0),
            context_length=CONTEXT,
        )
        assert texts == expected


def test_score_and_logits_signatures_are_the_model(exported):
    model, tokenizer, _, path = exported
    loaded = tf.saved_model.load(str(path))
    texts = ["to be or not", "x"]
    out = loaded.signatures["score"](text=tf.constant(texts))
    expected = generation.score_texts(model, tokenizer, texts)
    np.testing.assert_allclose(
        out["log_likelihood"].numpy(), [e["log_likelihood"] for e in expected], rtol=1e-4
    )
    assert out["num_tokens"].numpy().tolist() == [e["num_tokens"] for e in expected]
    ids = np.array([[2, 50, 60, 0], [2, 70, 0, 0]], "int32")
    logits = loaded.signatures["logits"](token_ids=tf.constant(ids))["logits"].numpy()
    np.testing.assert_allclose(logits, np.asarray(model(ids)), atol=1e-5)


def test_odd_inputs_give_defined_results_or_clear_errors(exported):
    _, tokenizer, _, path = exported
    generate = tf.saved_model.load(str(path)).signatures["generate"]

    def call(prompts, max_new_tokens=4, temperature=1.0, top_k=0, top_p=1.0):
        return generate(
            prompt=tf.constant(prompts),
            max_new_tokens=tf.constant(max_new_tokens),
            temperature=tf.constant(temperature),
            top_k=tf.constant(top_k),
            top_p=tf.constant(top_p),
            seed=tf.constant(0),
            no_repeat_ngram_size=tf.constant(0),
        )

    out = call(["", "é😀", "x" * 500], max_new_tokens=300)  # more than the positions allow
    assert out["text"].shape == (3,)
    assert out["token_ids"].shape[1] <= CONTEXT + 8 - 1
    assert call(["a"], max_new_tokens=0)["text"].numpy().tolist() == [b""]
    for bad, message in [
        (dict(top_p=0.0), "top_p"),
        (dict(top_p=1.5), "top_p"),
        (dict(temperature=-0.5), "temperature"),
    ]:
        with pytest.raises(tf.errors.InvalidArgumentError, match=message):
            call(["a"], **bad)


def test_model_card_and_versions(exported):
    model, tokenizer, directory, path = exported
    card = json.loads((path / "assets" / "zoo.json").read_text())
    assert card["task"] == "lm"
    assert card["tokenizer"]["type"] == "utf-8 bytes"
    assert card["decoding"]["context_length"] == CONTEXT
    assert set(card["signatures"]) == {"generate", "score", "logits"}
    assert list(card["signatures"])[0] == "generate"  # also serving_default
    assert existing_versions(directory) == [int(path.name)]
