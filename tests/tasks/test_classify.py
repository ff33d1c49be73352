"""The classify task in process: batches, scores against hand counts, padding invariance,
and a classifier that starts from a pre-trained `mlm` encoder."""

from __future__ import annotations

import keras
import numpy as np
import pytest

if keras.config.backend() != "tensorflow":
    pytest.skip("the classify pipeline is TensorFlow's tf.data", allow_module_level=True)

import zoo  # noqa: E402
from zoo.data import LabelledTexts, classification_ids, make_classification_dataset  # noqa: E402
from zoo.special_ids import PAD_ID, START_ID  # noqa: E402
from zoo.tasks import classify as classification  # noqa: E402


class WordTokenizer:
    """One id per word (id = 10 + its index in `words`): easy to count by hand."""

    pad_id, start_id, end_id = PAD_ID, START_ID, 3

    def __init__(self, words):
        self.index = {word: 10 + i for i, word in enumerate(words)}
        self.vocabulary_size = 10 + len(words)

    def encode(self, texts):
        return [[self.index[word] for word in text.split()] for text in texts]


WORDS = "a b c d e f g h i j k l".split()


def test_batches_start_with_the_start_id_and_pad_to_a_bucket():
    tokenizer = WordTokenizer(WORDS)
    texts = ["a", "b c d", "e f g h i j k l a b c", ""]
    batches = list(
        make_classification_dataset(
            texts, [0, 1, 0, 1], tokenizer, batch_size=8, max_length=8, shuffle=False
        )
    )
    rows = {}
    for ids, labels in batches:
        assert ids.shape[1] == 8  # the only bucket boundary up to max_length=8
        for row, label in zip(ids.numpy().tolist(), labels.numpy().tolist()):
            rows[tuple(row)] = label
    assert rows == {
        (START_ID, 10, 0, 0, 0, 0, 0, 0): 0,
        (START_ID, 11, 12, 13, 0, 0, 0, 0): 1,
        (START_ID, 14, 15, 16, 17, 18, 19, 20): 0,  # cut to max_length, the start id kept
        (START_ID, 0, 0, 0, 0, 0, 0, 0): 1,  # an empty text is [start] alone
    }
    assert classification_ids(["a b"], tokenizer, 2) == [[START_ID, 10]]
    with pytest.raises(ValueError, match="one label per text"):
        make_classification_dataset(texts, [0], tokenizer)


def test_confusion_matrix_and_scores_match_hand_counts():
    matrix = classification.confusion_matrix([0, 0, 1, 1, 1, 2], [0, 1, 1, 1, 0, 2], 3)
    assert matrix.tolist() == [[1, 1, 0], [1, 2, 0], [0, 0, 1]]

    class Fixed:
        """Predicts class 1 for texts with "b", else class 0."""

        class config:
            num_classes = 2

        def __call__(self, ids, training=False):
            has_b = np.any(np.asarray(ids) == 11, axis=1)
            return np.stack([np.where(has_b, -5.0, 5.0), np.where(has_b, 5.0, -5.0)], -1)

    data = LabelledTexts(["a b", "b", "c", "a", "d b"], np.array([1, 0, 0, 0, 1]), ("no", "yes"))
    scores = classification.evaluate(Fixed(), WordTokenizer(WORDS), data)
    assert scores["accuracy"] == 0.8
    assert scores["confusion_matrix"] == [[2, 1], [0, 2]]
    assert scores["per_class"]["yes"] == {"precision": 0.6667, "recall": 1.0, "f1": 0.8}


@pytest.mark.parametrize("family", ["transformer", "lstm", "simple_rnn"])
def test_padding_and_batch_company_never_change_a_prediction(family):
    model = zoo.build(family, task="classify", preset="tiny", vocab_size=30, num_classes=3)
    rows = [[START_ID, 10, 11], [START_ID], [START_ID, 12, 13, 14, 15, 16, 17], [START_ID, 20]]
    together = classification.classify_ids(model, rows)
    for row, expected in zip(rows, together):
        alone = classification.classify_ids(model, [row])[0]
        np.testing.assert_allclose(alone, expected, atol=1e-5)
    np.testing.assert_allclose(together.sum(axis=1), 1.0, atol=1e-6)


@pytest.mark.parametrize("family", ["transformer", "lstm", "gru"])
def test_classifier_from_an_mlm_encoder_starts_from_its_backbone(family):
    encoder = zoo.build(family, task="mlm", preset="tiny", vocab_size=40)
    rng = np.random.default_rng(0)
    for variable in encoder.weights:  # "pre-trained": away from any fresh initialisation
        variable.assign(np.asarray(variable) + rng.normal(0, 0.05, variable.shape))
    pretrained = {v.path: np.asarray(v).copy() for v in encoder.backbone.weights}
    model = classification.from_pretrained_encoder(encoder, 3)
    assert model.config.task == "classify" and model.config.num_classes == 3
    assert model.backbone is encoder.backbone  # the object itself, nothing copied
    assert {v.path: np.asarray(v) for v in model.backbone.weights}.keys() == pretrained.keys()
    for variable in model.backbone.weights:
        np.testing.assert_array_equal(np.asarray(variable), pretrained[variable.path])
    # Every weight but the head's is the backbone's.
    head = [v.path for v in model.weights if all(v is not w for w in encoder.backbone.weights)]
    assert head and all(path.startswith("classifier/") for path in head)
    # The encoder's features, pooled, are what the head reads: the same model built from
    # scratch with the same config gives different outputs.
    fresh = zoo.build(family, task="classify", preset="tiny", vocab_size=40, num_classes=3)
    ids = np.array([[START_ID, 12, 13, 0]], "int32")
    assert not np.allclose(np.asarray(model(ids)), np.asarray(fresh(ids)))


def test_confusion_matrix_table_has_a_row_per_true_class():
    from zoo.tasks.classify import format_confusion_matrix

    table = format_confusion_matrix([[3, 1], [0, 2]], ["no", "yes"])
    assert table.split("\n") == ["        no  yes", "   no    3    1", "  yes    0    2"]
