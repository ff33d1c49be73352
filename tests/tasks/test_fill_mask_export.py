"""The exported `mlm`: `fill_mask` and `logits` with TensorFlow alone, agreeing with
`fill_mask_texts` in process; several masks, no mask, empty and long texts are defined."""

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
from zoo.data.books import generated_paragraphs  # noqa: E402
from zoo.tasks import fill_mask as filling  # noqa: E402

MAX_LENGTH = 12
WITH_MASK = [
    "The small cat [MASK] the ball.",
    "[MASK] dog sees a [MASK] on the [MASK].",  # several: the first is predicted
    "The [MASK] runs.",
]
WITHOUT_MASK = [
    "",  # empty
    "A girl takes the ball.",  # no mask
    "A bird watches the red windows and the children carry the hats [MASK].",  # cut off
]


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    keras.utils.set_random_seed(5)
    texts = list(generated_paragraphs(400, seed=0)[0].paragraphs)
    tokenizer = filling.train_tokenizer(texts, 400)
    model = zoo.build(
        "transformer", task="mlm", preset="tiny", vocab_size=tokenizer.vocabulary_size
    )
    directory = tmp_path_factory.mktemp("saved") / "fill_mask"
    path = zoo.export_model(
        model,
        tokenizer,
        directory,
        family="transformer",
        data={"name": "test", "licence": "none"},
        max_length=MAX_LENGTH,
    )
    return model, tokenizer, path


CLEAN_PROCESS = textwrap.dedent(
    """
    import json, sys
    import tensorflow as tf
    import tensorflow_text  # noqa: F401  (its SentencePiece ops)

    path, calls = sys.argv[1], json.loads(sys.argv[2])
    fill_mask = tf.saved_model.load(path).signatures["fill_mask"]
    results = []
    for call in calls:
        out = fill_mask(text=tf.constant(call["texts"]), top_k=tf.constant(call["top_k"]))
        results.append({
            "tokens": [[t.decode("utf-8") for t in row] for row in out["tokens"].numpy()],
            "token_ids": out["token_ids"].numpy().tolist(),
            "probabilities": out["probabilities"].numpy().tolist(),
        })
    print("RESULT" + json.dumps(results))
    """
)


def test_fills_in_a_fresh_tensorflow_process_like_in_process(exported):
    model, tokenizer, path = exported
    calls = [
        {"texts": WITH_MASK + WITHOUT_MASK, "top_k": 5},
        {"texts": WITH_MASK[1:2], "top_k": 1},  # another batch size and k
    ]
    results = run_without_zoo(CLEAN_PROCESS, path, calls)
    for call, out in zip(calls, results):
        expected = filling.fill_mask_texts(
            model,
            tokenizer,
            WITH_MASK if len(call["texts"]) > 1 else call["texts"],
            top_k=call["top_k"],
            max_length=MAX_LENGTH,
        )
        for row, candidates in enumerate(expected):
            assert out["token_ids"][row] == [c["id"] for c in candidates]
            np.testing.assert_allclose(
                out["probabilities"][row], [c["probability"] for c in candidates], atol=1e-5
            )
            assert out["tokens"][row] == [c["token"] for c in candidates]
    # No mask, an empty text, a mask cut off by max_length: defined, empty answers.
    rows = slice(len(WITH_MASK), None)
    assert results[0]["token_ids"][rows] == [[-1] * 5] * 3
    assert results[0]["probabilities"][rows] == [[0.0] * 5] * 3
    assert results[0]["tokens"][rows] == [[""] * 5] * 3


def test_top_k_is_clipped_to_the_vocabulary_and_must_be_positive(exported):
    model, tokenizer, path = exported
    fill_mask = tf.saved_model.load(str(path)).signatures["fill_mask"]
    out = fill_mask(text=tf.constant(WITH_MASK[:1]), top_k=tf.constant(10**6))
    assert out["token_ids"].shape == (1, tokenizer.vocabulary_size)
    np.testing.assert_allclose(out["probabilities"].numpy().sum(), 1.0, atol=1e-4)
    with pytest.raises(tf.errors.InvalidArgumentError, match="top_k must be >= 1"):
        fill_mask(text=tf.constant(WITH_MASK[:1]), top_k=tf.constant(0))


def test_logits_signature_is_the_model_and_card(exported):
    model, tokenizer, path = exported
    loaded = tf.saved_model.load(str(path))
    ids = np.array([[2, 50, 4, 60, 0], [2, 4, 0, 0, 0]], "int32")
    logits = loaded.signatures["logits"](token_ids=tf.constant(ids))["logits"].numpy()
    np.testing.assert_allclose(logits, np.asarray(model(ids)), atol=1e-5)
    card = json.loads((path / "assets" / "zoo.json").read_text())
    assert card["task"] == "mlm"
    assert card["decoding"]["max_length"] == MAX_LENGTH
    assert list(card["signatures"]) == ["fill_mask", "logits"]  # fill_mask is the default
