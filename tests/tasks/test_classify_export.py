"""The exported classifier: `classify(text)` with TensorFlow alone, agreeing with the model in
process; empty, over-long and unknown-character texts get defined answers."""

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
from zoo.data import SubwordTokenizer, generated_sentiment  # noqa: E402
from zoo.tasks import classify as classification  # noqa: E402

MAX_LENGTH = 12
CLASS_NAMES = ("negative", "neutral", "positive")
TEXTS = [
    "the film is good",
    "",
    "the plot is dull , but the acting is very moving " * 5,  # far past MAX_LENGTH
    "电影 🎬 très réussi",  # characters the vocabulary never saw: bytes
    "the film",
]


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    keras.utils.set_random_seed(3)
    tokenizer = SubwordTokenizer.train(generated_sentiment(300).texts, 400)
    model = zoo.build(
        "transformer",
        task="classify",
        preset="tiny",
        vocab_size=tokenizer.vocabulary_size,
        num_classes=len(CLASS_NAMES),
    )
    directory = tmp_path_factory.mktemp("saved") / "classify"
    path = zoo.export_model(
        model,
        tokenizer,
        directory,
        family="transformer",
        data={"name": "test", "licence": "none", "citation": "Socher et al. 2013"},
        class_names=CLASS_NAMES,
        max_length=MAX_LENGTH,
    )
    return model, tokenizer, path


CLEAN_PROCESS = textwrap.dedent(
    """
    import json, sys
    import tensorflow as tf
    import tensorflow_text  # noqa: F401  (the SentencePiece ops)

    path, texts = sys.argv[1], json.loads(sys.argv[2])
    out = tf.saved_model.load(path).signatures["serving_default"](text=tf.constant(texts))
    print("RESULT" + json.dumps({
        "label": [x.decode() for x in out["label"].numpy()],
        "label_id": out["label_id"].numpy().tolist(),
        "probabilities": out["probabilities"].numpy().tolist(),
    }))
    """
)


def test_classifies_in_a_fresh_tensorflow_process_like_in_process(exported):
    model, tokenizer, path = exported
    result = run_without_zoo(CLEAN_PROCESS, path, TEXTS)
    expected = classification.classify_texts(model, tokenizer, TEXTS, max_length=MAX_LENGTH)
    np.testing.assert_allclose(result["probabilities"], expected, atol=1e-5)
    assert result["label_id"] == expected.argmax(axis=1).tolist()
    assert result["label"] == [CLASS_NAMES[i] for i in result["label_id"]]


def test_long_texts_are_cut_and_odd_texts_are_defined(exported):
    model, tokenizer, path = exported
    classify = tf.saved_model.load(str(path)).signatures["classify"]
    out = classify(text=tf.constant(TEXTS))
    probabilities = out["probabilities"].numpy()
    assert probabilities.shape == (len(TEXTS), 3) and out["label_id"].dtype == tf.int32
    assert np.all(np.isfinite(probabilities))
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)
    # The long text reads as its first MAX_LENGTH - 1 tokens.
    ids = tokenizer.encode([TEXTS[2]])[0][: MAX_LENGTH - 1]
    cut = tokenizer.decode([ids])[0]
    np.testing.assert_allclose(
        classify(text=tf.constant([cut]))["probabilities"].numpy()[0], probabilities[2], atol=1e-5
    )
    # A batch of one, and an empty batch.
    np.testing.assert_allclose(
        classify(text=tf.constant([TEXTS[1]]))["probabilities"].numpy()[0],
        probabilities[1],
        atol=1e-5,
    )
    assert classify(text=tf.constant([], tf.string))["label"].shape == (0,)


def test_model_card_names_the_classes_and_the_truncation(exported):
    _, _, path = exported
    card = json.loads((path / "assets" / "zoo.json").read_text())
    assert card["task"] == "classify"
    assert card["decoding"]["class_names"] == list(CLASS_NAMES)
    assert card["decoding"]["max_length"] == MAX_LENGTH and "truncated" in card["decoding"]["input"]
    assert card["data"]["citation"] == "Socher et al. 2013"
    assert list(card["signatures"]) == ["classify"]


def test_class_names_must_match_the_head(exported, tmp_path):
    model, tokenizer, _ = exported
    with pytest.raises(ValueError, match="3 classes but 2 class names"):
        zoo.export_model(
            model, tokenizer, tmp_path / "x", family="transformer", class_names=("a", "b")
        )
    assert not (tmp_path / "x").exists() or not any((tmp_path / "x").iterdir())
