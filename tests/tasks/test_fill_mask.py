"""The fill_mask task: examples, BERT masking against hand counts, labels, deterministic
validation, the top-k metric, evaluation and in-process filling."""

from __future__ import annotations

import math

import keras
import numpy as np
import pytest

if keras.config.backend() != "tensorflow":
    pytest.skip("the fill_mask pipelines are tf.data", allow_module_level=True)

import tensorflow as tf  # noqa: E402

import zoo  # noqa: E402
from zoo.data import SubwordTokenizer  # noqa: E402
from zoo.data.books import generated_paragraphs  # noqa: E402
from zoo.special_ids import END_ID, MASK_ID, PAD_ID, START_ID  # noqa: E402
from zoo.tasks import fill_mask as filling  # noqa: E402
from zoo.tasks import get_task  # noqa: E402

TEXTS = list(generated_paragraphs(400, seed=0)[0].paragraphs)


@pytest.fixture(scope="module")
def tokenizer():
    return filling.train_tokenizer(TEXTS, 400)


def test_task_is_registered_for_mlm_models():
    model = zoo.build("transformer", task="mlm", preset="tiny", vocab_size=300)
    assert get_task(model) is filling.FILL_MASK and filling.FILL_MASK.name == "fill_mask"
    assert get_task("fill_mask") is filling.FILL_MASK


def test_rows_start_with_start_and_long_texts_become_several(tokenizer):
    text = " ".join(TEXTS[:6])
    ids = tokenizer.encode([text])[0]
    rows = filling.example_rows([text, ""], tokenizer, sequence_length=8)
    assert len(rows) == math.ceil(len(ids) / 7)
    assert all(row[0] == START_ID and 2 <= len(row) <= 8 for row in rows)
    assert [i for row in rows for i in row[1:]] == ids  # every token, once, in order
    with pytest.raises(ValueError, match="sequence_length"):
        filling.example_rows([text], tokenizer, sequence_length=1)


def synthetic_rows(num_rows=3000, seed=0):
    """Rows `[start] + tokens (+ [end])` of ids 10..299, lengths 3..40."""
    rng = np.random.default_rng(seed)
    rows = []
    for index in range(num_rows):
        body = rng.integers(10, 300, size=rng.integers(3, 41)).tolist()
        rows.append([START_ID, *body, *([END_ID] if index % 2 else [])])
    return rows


def test_masking_statistics_match_berts_recipe_by_hand_counts():
    rows = synthetic_rows()
    masker = filling.mask_generator(300)
    inputs, labels = (
        x.numpy() for x in filling.mask_batch(masker, tf.ragged.constant(rows, tf.int32))
    )
    selected = kept = masked = random = 0
    for row, given, label in zip(rows, inputs, labels):
        original = np.array(row + [PAD_ID] * (len(given) - len(row)))
        chosen = label != PAD_ID
        # BERT's rule per row: ceil(15 % of the selectable tokens); never pad, start, end.
        assert chosen.sum() == math.ceil(0.15 * (len(row) - 1 - (row[-1] == END_ID)))
        assert not chosen[np.isin(original, [PAD_ID, START_ID, END_ID])].any()
        # Labels: the original id where chosen, 0 exactly elsewhere; the rest unchanged.
        np.testing.assert_array_equal(label[chosen], original[chosen])
        np.testing.assert_array_equal(given[~chosen], original[~chosen])
        selected += chosen.sum()
        masked += (given[chosen] == MASK_ID).sum()
        kept += (given[chosen] == original[chosen]).sum()
        random += ((given[chosen] != MASK_ID) & (given[chosen] != original[chosen])).sum()
    selectable = sum(len(row) - 1 - (row[-1] == END_ID) for row in rows)
    assert 0.15 <= selected / selectable < 0.19  # the ceiling adds a little on short rows
    assert masked / selected == pytest.approx(0.8, abs=0.02)
    # A random token is the original one 1 time in 300: kept counts it.
    assert random / selected == pytest.approx(0.1 * 299 / 300, abs=0.015)
    assert kept / selected == pytest.approx(0.1 + 0.1 / 300, abs=0.015)
    assert not (inputs[labels != PAD_ID] == PAD_ID).any()  # padding never inside a row


def test_training_batches_remask_each_epoch_and_validation_is_fixed(tokenizer):
    train = filling.make_dataset(TEXTS, tokenizer, sequence_length=16, batch_size=8, seed=1)
    (x1, y1, w1), (_, y2, _) = next(iter(train)), next(iter(train))
    ids = x1["token_ids"]
    # Batched by length: at most 8 x 16 tokens, rows from one bucket of (8, 12, 16].
    assert ids.shape[0] * ids.shape[1] <= 8 * 16 and ids.shape[1] <= 16 and ids.dtype == tf.int32
    assert x1["mask_positions"].shape == y1.shape == w1.shape and w1.dtype == tf.float32
    for x, _, _ in train.take(20):
        lengths = np.sum(x["token_ids"].numpy() != PAD_ID, axis=1)
        buckets = np.searchsorted([8, 12, 16], lengths)  # index of the bucket each row is in
        assert len(set(buckets.tolist())) == 1
        assert x["token_ids"].shape[0] == 128 // (8, 12, 16)[buckets[0]]
    assert np.all(ids.numpy()[:, 0] == START_ID)
    assert not np.array_equal(y1.numpy(), y2.numpy())  # reshuffled and re-masked
    first = filling.make_dataset(TEXTS, tokenizer, sequence_length=16, batch_size=8, shuffle=False)
    batches = [tf.nest.map_structure(lambda t: t.numpy(), batch) for batch in first]
    for _ in range(2):  # the same masks in every evaluation
        for batch, expected in zip(first, batches):
            tf.nest.map_structure(np.testing.assert_array_equal, batch, expected)
    other = filling.make_dataset(
        TEXTS, tokenizer, sequence_length=16, batch_size=8, shuffle=False, seed=7
    )
    assert any(not np.array_equal(y.numpy(), by) for (_, y, _), (_, by, _) in zip(other, batches))
    rows = filling.example_rows(TEXTS, tokenizer, 16)
    assert sum(len(x["token_ids"]) for x, _, _ in batches) == len(rows)


def masked_synthetic_batch(num_rows=64, seed=0):
    """One batch of `synthetic_rows` masked once, in both forms (the same draw)."""
    rows = tf.ragged.constant(synthetic_rows(num_rows, seed), tf.int32)
    masked = filling.mask_rows(filling.mask_generator(300), rows)
    return filling.training_batch(masked), filling.training_batch(masked, masked_only=False)


def test_the_masked_form_holds_the_selected_positions_and_their_original_ids():
    (inputs, mask_ids, weights), (token_ids, labels) = (
        tf.nest.map_structure(np.asarray, form) for form in masked_synthetic_batch()
    )
    positions = inputs["mask_positions"]
    np.testing.assert_array_equal(inputs["token_ids"], token_ids)  # the same masked rows
    assert positions.dtype == mask_ids.dtype == np.int32 and weights.dtype == np.float32
    for row in range(len(labels)):
        selected = np.flatnonzero(labels[row])  # the full form's selected columns
        count = len(selected)
        # Each selected column once, with its label; then padding slots: 0, weight 0.
        np.testing.assert_array_equal(np.sort(positions[row, :count]), selected)
        np.testing.assert_array_equal(mask_ids[row, :count], labels[row, positions[row, :count]])
        np.testing.assert_array_equal(
            weights[row], [1.0] * count + [0.0] * (len(weights[row]) - count)
        )
        assert not mask_ids[row, count:].any() and not positions[row, count:].any()
    assert positions.shape[1] == max(np.count_nonzero(labels, axis=1))


@pytest.mark.parametrize("name", ["transformer", "lstm"])
def test_the_masked_step_has_the_full_steps_loss_and_gradients(name):
    """The same batch and weights through both forms: the compiled loss, the metrics and
    every gradient agree; the reference is the cross-entropy of the full-sequence logits at
    the labelled positions, computed here in NumPy."""
    (inputs, mask_ids, weights), (token_ids, labels) = masked_synthetic_batch(24, seed=2)
    model = zoo.build(name, task="mlm", preset="tiny", vocab_size=300, dropout=0.0)
    filling.FILL_MASK.compile(model)

    def loss_and_gradients(x, y, w=None):
        with tf.GradientTape() as tape:
            loss = model.compute_loss(x=x, y=y, y_pred=model(x, training=True), sample_weight=w)
        return float(loss), tape.gradient(loss, model.trainable_variables)

    masked_loss, masked_gradients = loss_and_gradients(inputs, mask_ids, weights)
    full_loss, full_gradients = loss_and_gradients(token_ids, labels)
    logits = np.asarray(model(token_ids), "float64")
    log_probabilities = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    rows, columns = np.nonzero(labels.numpy())
    expected = -log_probabilities[rows, columns, labels.numpy()[rows, columns]].mean()
    assert masked_loss == pytest.approx(expected, rel=1e-5)
    assert full_loss == pytest.approx(expected, rel=1e-5)
    for masked, full in zip(masked_gradients, full_gradients):
        np.testing.assert_allclose(
            tf.convert_to_tensor(masked), tf.convert_to_tensor(full), rtol=1e-4, atol=1e-6
        )
    scores = [model.test_on_batch(inputs, mask_ids, weights, return_dict=True)]
    scores.append(model.test_on_batch(token_ids, labels, return_dict=True))
    for key in ("loss", "top1_accuracy", "top5_accuracy"):
        assert scores[0][key] == pytest.approx(scores[1][key], rel=1e-5)


def test_tokenizer_without_mask_is_refused():
    plain = SubwordTokenizer.train(TEXTS, 400)
    with pytest.raises(ValueError, match="mask_token=True"):
        filling.make_dataset(TEXTS, plain)


def test_top_k_accuracy_counts_only_labelled_positions():
    metric = filling.MaskedTopKAccuracy(k=2)
    logits = np.log(np.array([[[0.5, 0.3, 0.2], [0.1, 0.1, 0.8], [0.2, 0.3, 0.5]]]))
    metric.update_state(np.array([[1, 0, 2]]), logits)  # 1: in the top 2; 2: in it too
    metric.update_state(np.array([[2, 0, 0]]), np.log([[[0.5, 0.3, 0.2]] * 3]))  # 2: not
    assert float(metric.result()) == pytest.approx(2 / 3)
    assert filling.MaskedTopKAccuracy(1).name == "top1_accuracy"


@pytest.fixture(scope="module")
def trained(tokenizer):
    keras.utils.set_random_seed(3)
    model = zoo.build(
        "transformer", task="mlm", preset="tiny", vocab_size=tokenizer.vocabulary_size
    )
    filling.FILL_MASK.compile(
        model, learning_rate=5e-3, min_learning_rate=5e-4, warmup_steps=5, decay_steps=40
    )
    train = filling.make_dataset(TEXTS, tokenizer, sequence_length=24, batch_size=16, repeat=True)
    model.fit(train, steps_per_epoch=30, epochs=1, verbose=0)
    return model


def test_evaluate_agrees_with_the_compiled_metrics(trained, tokenizer):
    validation = filling.make_dataset(
        TEXTS[:80], tokenizer, sequence_length=24, batch_size=16, shuffle=False
    )
    scores = filling.evaluate(trained, validation)
    compiled = trained.evaluate(validation, return_dict=True, verbose=0)
    assert scores["top1_accuracy"] == pytest.approx(compiled["top1_accuracy"], abs=1e-4)
    assert scores["top5_accuracy"] == pytest.approx(compiled["top5_accuracy"], abs=1e-4)
    # The loss is per masked token (Keras averages batch means: not the same with batches
    # of different sizes), here from the full pass's logits at the masked positions.
    total, count = 0.0, 0
    for x, mask_ids, weights in validation:
        logits = np.asarray(trained(x["token_ids"]), "float64")  # (B, T, V)
        log_probs = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
        rows, slots = np.nonzero(weights.numpy())
        columns, labels = x["mask_positions"].numpy()[rows, slots], mask_ids.numpy()[rows, slots]
        total -= log_probs[rows, columns, labels].sum()
        count += len(rows)
    assert scores["loss"] == pytest.approx(total / count, rel=1e-3)
    assert scores["masked_tokens"] == count
    # Better than 10 times chance (1 / 400): it learned something.
    assert scores["top5_accuracy"] >= scores["top1_accuracy"] > 10 / tokenizer.vocabulary_size


def test_evaluate_gives_the_same_figures_for_either_form_of_the_same_masks(trained, tokenizer):
    rows = filling.example_rows(TEXTS[:80], tokenizer, 24)
    masker = filling.mask_generator(tokenizer.vocabulary_size)
    masked = [
        filling.mask_rows(masker, tf.ragged.constant(rows[start : start + 16], tf.int32))
        for start in range(0, len(rows), 16)
    ]

    def dataset(masked_only):
        batches = [filling.training_batch(batch, masked_only) for batch in masked]
        signature = tf.nest.map_structure(
            lambda t: tf.TensorSpec([None] * t.shape.rank, t.dtype), batches[0]
        )
        return tf.data.Dataset.from_generator(lambda: iter(batches), output_signature=signature)

    masked_scores = filling.evaluate(trained, dataset(True))
    full_scores = filling.evaluate(trained, dataset(False))
    assert masked_scores["masked_tokens"] == full_scores["masked_tokens"] > 0
    for key in ("loss", "top1_accuracy", "top5_accuracy"):
        assert masked_scores[key] == pytest.approx(full_scores[key], abs=1e-4)


def test_fill_predicts_the_first_mask_from_the_models_softmax(trained, tokenizer):
    texts = ["The small cat [MASK] the ball.", "[MASK] dog sees a [MASK]."]
    fills = filling.fill_mask_texts(trained, tokenizer, texts, top_k=4)
    ids = filling.encode_for_fill(tokenizer, texts, 128)
    logits = np.asarray(trained(ids), dtype="float64")
    for row, candidates in enumerate(fills):
        position = list(ids[row]).index(MASK_ID)  # the first [MASK]
        scores = logits[row, position].copy()
        scores[: MASK_ID + 1] = -np.inf  # special ids (0..4) never fill a blank
        probabilities = np.exp(scores - scores.max())
        probabilities /= probabilities.sum()
        best = np.argsort(-probabilities)[:4]
        assert [c["id"] for c in candidates] == best.tolist()
        np.testing.assert_allclose(
            [c["probability"] for c in candidates], probabilities[best], rtol=1e-5
        )
        assert [c["token"] for c in candidates] == tokenizer.decode([[i] for i in best])
    assert list(ids[1]).count(MASK_ID) == 2  # the second blank stays masked as context


def test_fill_errors_say_how_to_fix(trained, tokenizer):
    with pytest.raises(ValueError, match=r"Text 1 .*no \[MASK\]"):
        filling.fill_mask_texts(trained, tokenizer, ["a [MASK] b", "no blank"])
    with pytest.raises(ValueError, match="max_length"):  # cut off by truncation
        filling.fill_mask_texts(trained, tokenizer, ["a b c d e f [MASK]"], max_length=4)
    with pytest.raises(ValueError, match="top_k"):
        filling.fill_mask_texts(trained, tokenizer, ["a [MASK]"], top_k=0)
    with pytest.raises(TypeError, match="list of texts"):
        filling.fill_mask_texts(trained, tokenizer, "a [MASK]")
    assert filling.fill_mask_texts(trained, tokenizer, []) == []


def test_a_typed_mask_reads_like_a_masked_piece_in_training(tokenizer):
    space = filling.word_start_id(tokenizer)
    assert tokenizer.get_vocabulary()[space] == "\u2581"
    ids = [space, MASK_ID, 7, space, 9, space, MASK_ID]
    assert filling.drop_word_start_before_mask(ids, space) == [MASK_ID, 7, space, 9, MASK_ID]
    # Training masks the piece `▁dog` of "the dog sees"; typed, "the [MASK] sees" must give
    # the same ids (and "[MASK] dog", at the start, no lone `▁` either).
    the, dog, sees = tokenizer.encode(["the dog sees"])[0][:3]
    assert tokenizer.get_vocabulary()[dog] == "\u2581dog"
    typed = filling.encode_for_fill(tokenizer, ["the [MASK] sees", "[MASK] dog"], 16)
    assert typed[0][:4].tolist() == [START_ID, the, MASK_ID, sees]
    assert typed[1][:3].tolist() == [START_ID, MASK_ID, dog]


def test_fills_table_rounds_and_format_fills_shows_each_text_with_its_fills():
    from zoo.tasks.fill_mask import fills_table, format_fills

    candidates = [[{"token": "▁water", "id": 7, "probability": 0.123456}]]
    table = fills_table(["The [MASK] is cold."], candidates)
    assert table == {"The [MASK] is cold.": [{"token": "▁water", "id": 7, "probability": 0.1235}]}
    assert format_fills(table) == "  The [MASK] is cold.\n    -> '▁water' 0.123"
