"""Replaced-token detection's data and evaluation: the fill-mask batches with their weights
among the inputs, and whole-dataset figures that agree with an independent count."""

from __future__ import annotations

import keras
import numpy as np
import pytest

if keras.config.backend() != "tensorflow":
    pytest.skip("the pre-training pipelines are tf.data", allow_module_level=True)

from zoo.data.books import generated_paragraphs  # noqa: E402
from zoo.models.replaced_token import build_replaced_token_detector  # noqa: E402
from zoo.tasks import fill_mask as filling  # noqa: E402
from zoo.tasks import replaced_token  # noqa: E402

TEXTS = list(generated_paragraphs(300, seed=0)[0].paragraphs)


@pytest.fixture(scope="module")
def tokenizer():
    return filling.train_tokenizer(TEXTS, 300)


def test_batches_are_the_fill_mask_batches_with_weights_among_the_inputs(tokenizer):
    options = dict(sequence_length=32, batch_size=8, shuffle=False, seed=3)
    # Validation batches are masked once, when made: iterating one dataset twice sees the same.
    masked = filling.make_dataset(TEXTS, tokenizer, **options)
    mapped = masked.map(replaced_token.with_weights_in_inputs)
    pairs = list(zip(masked.as_numpy_iterator(), mapped.as_numpy_iterator()))
    assert len(pairs) > 1
    for (inputs, ids, weights), (x, y) in pairs:
        assert set(x) == {"token_ids", "mask_positions", "mask_weights"}
        for key in ("token_ids", "mask_positions"):
            np.testing.assert_array_equal(x[key], inputs[key])
        np.testing.assert_array_equal(x["mask_weights"], weights)
        np.testing.assert_array_equal(y, ids)
    # make_dataset gives that form: the original (non-zero) id wherever a weight is 1.
    for x, y in replaced_token.make_dataset(TEXTS, tokenizer, **options).as_numpy_iterator():
        assert x["mask_positions"].shape == x["mask_weights"].shape == y.shape
        assert np.all((y > 0) == (x["mask_weights"] > 0))
    with pytest.raises(ValueError, match="masked-positions form only"):
        replaced_token.make_dataset(TEXTS, tokenizer, masked_only=False)


def test_evaluate_counts_every_token_and_agrees_with_the_fill_mask_metric(tokenizer):
    model = build_replaced_token_detector(
        "transformer", preset="tiny", vocab_size=tokenizer.vocabulary_size, seed=0
    )
    options = dict(sequence_length=32, batch_size=8, shuffle=False, seed=1)
    masked = filling.make_dataset(TEXTS, tokenizer, **options)
    scores = replaced_token.evaluate(model, masked.map(replaced_token.with_weights_in_inputs))
    batches = list(masked.as_numpy_iterator())
    assert scores["tokens"] == sum(int(np.sum(x["token_ids"] != 0)) for x, _, _ in batches)
    assert scores["masked_tokens"] == sum(int(np.sum(w)) for _, _, w in batches)
    # The generator's top-1 counted another way: fill_mask's top-k metric on the generator.
    generator = filling.evaluate(model.generator, masked)
    assert scores["generator_top1"] == pytest.approx(generator["top1_accuracy"], abs=1e-4)
    assert 0 < scores["replaced_share"] < 0.2 and 0 <= scores["detection_accuracy"] <= 1
