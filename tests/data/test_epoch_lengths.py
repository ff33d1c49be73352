"""Bucketed pipelines declare how many batches an epoch has: Keras 3.15's fit() on TensorFlow
takes one extra optimizer step at the end of every epoch whose length it does not know."""

import keras
import pytest

if keras.config.backend() != "tensorflow":
    pytest.skip("tf.data pipelines", allow_module_level=True)


import zoo  # noqa: E402
from zoo.data import (  # noqa: E402
    SubwordTokenizer,
    generate_en_fr_pairs,
    generated_sentiment,
    make_translation_dataset,
)
from zoo.data.buckets import bucket_batch_count  # noqa: E402
from zoo.data.pipeline import make_classification_dataset  # noqa: E402
from zoo.training import MaskedSparseCategoricalCrossentropy  # noqa: E402


def test_bucket_batch_count_by_hand():
    # Buckets (0, 4], (4, 8], (8, 16]: lengths 1, 4, 4, 4 | 5, 8 | 9, 16, 16, 16, 16.
    lengths = [1, 4, 4, 4, 5, 8, 9, 16, 16, 16, 16]
    assert bucket_batch_count(lengths, (4, 8, 16), (3, 3, 2)) == 2 + 1 + 3
    assert bucket_batch_count(lengths, (4, 8, 16), (3, 3, 2), drop_remainder=True) == 1 + 0 + 2


@pytest.fixture(scope="module")
def tokenizer():
    pairs = generate_en_fr_pairs(200, seed=0)
    return pairs, SubwordTokenizer.train([s for pair in pairs for s in pair], 300)


@pytest.mark.parametrize("shuffle", [True, False])
@pytest.mark.parametrize("drop_remainder", [False, True])
def test_translation_epochs_have_the_length_they_declare(tokenizer, shuffle, drop_remainder):
    pairs, subwords = tokenizer
    dataset = make_translation_dataset(
        pairs,
        subwords,
        batch_size=None,
        tokens_per_batch=128,
        max_length=16,
        shuffle=shuffle,
        drop_remainder=drop_remainder,
    )
    declared = int(dataset.cardinality())
    assert declared > 0
    for _ in range(2):  # every epoch, reshuffled or not
        assert sum(1 for _ in dataset) == declared


def test_classification_epochs_have_the_length_they_declare(tokenizer):
    _, subwords = tokenizer
    data = generated_sentiment(150)
    dataset = make_classification_dataset(data.texts, data.labels, subwords, batch_size=16)
    assert int(dataset.cardinality()) == sum(1 for _ in dataset) > 0


def test_fill_mask_epochs_have_the_length_they_declare():
    from zoo.data.books import generated_paragraphs
    from zoo.tasks.fill_mask import make_dataset, train_tokenizer

    texts = list(generated_paragraphs(60, seed=0)[0].paragraphs)
    dataset = make_dataset(texts, train_tokenizer(texts, 300), sequence_length=32, batch_size=4)
    assert int(dataset.cardinality()) == sum(1 for _ in dataset) > 0


def test_fit_takes_one_optimizer_step_per_batch(tokenizer):
    pairs, subwords = tokenizer
    dataset = make_translation_dataset(
        pairs[:60], subwords, batch_size=None, tokens_per_batch=256, max_length=16
    )
    model = zoo.build(
        "transformer", preset="tiny", vocab_size=subwords.vocabulary_size, num_layers=1
    )
    model.compile(optimizer="adam", loss=MaskedSparseCategoricalCrossentropy())
    model.fit(dataset, epochs=2, verbose=0)
    # Without a declared length: 2 more (one per epoch), and Adam moved the weights then.
    assert int(model.optimizer.iterations.numpy()) == 2 * sum(1 for _ in dataset)
