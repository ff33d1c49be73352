"""Replaced-token detection (ELECTRA): the corrupted input, the labels and the loss against
hand-computed values and a NumPy reference; training moves both networks; a saved detector
reloads; its backbone carries a classifier."""

import keras
import numpy as np
import pytest

import zoo
from zoo.models.replaced_token import (
    ReplacedTokenDetector,
    build_replaced_token_detector,
    generator_fields,
    replace_at_positions,
)

VOCAB = 64


def batch(rng):
    """Ids `(3, 12)` (two rows padded), distinct positions `(3, 4)` with weight-0 padding
    slots at position 0, as `zoo.tasks.fill_mask.make_dataset` gives them."""
    token_ids = rng.integers(5, VOCAB, size=(3, 12)).astype("int32")
    token_ids[:, 0] = 2
    token_ids[1, 8:] = 0
    token_ids[2, 5:] = 0
    positions = np.array([[1, 3, 11, 6], [2, 7, 5, 0], [4, 1, 0, 0]], "int32")
    weights = np.array([[1, 1, 1, 1], [1, 1, 1, 0], [1, 1, 0, 0]], "float32")
    labels = token_ids[np.arange(3)[:, None], positions] * (weights > 0)
    masked = token_ids.copy()
    masked[np.arange(3)[:, None], positions] = np.where(weights > 0, 4, token_ids[:, :1])
    inputs = {"token_ids": masked, "mask_positions": positions, "mask_weights": weights}
    return inputs, labels.astype("int32")


@pytest.fixture(scope="module")
def detector():
    return build_replaced_token_detector("transformer", preset="tiny", vocab_size=VOCAB, seed=1)


def test_replace_at_positions_writes_only_the_valid_slots():
    ids = np.array([[2, 10, 11, 12, 0], [2, 20, 21, 0, 0]], "int32")
    positions = np.array([[3, 1], [2, 0]], "int32")
    new = np.array([[30, 31], [40, 41]], "int32")
    valid = np.array([[True, True], [True, False]])
    out, written = replace_at_positions(ids, positions, new, valid)
    np.testing.assert_array_equal(np.asarray(out), [[2, 31, 11, 30, 0], [2, 20, 40, 0, 0]])
    np.testing.assert_array_equal(np.asarray(written), [[0, 1, 0, 1, 0], [0, 0, 1, 0, 0]])


def test_the_discriminator_reads_the_generators_samples_at_the_masked_positions(detector, rng):
    inputs, _ = batch(rng)
    out = {k: np.asarray(v) for k, v in detector(inputs, training=False).items()}
    assert out["generator_logits"].shape == (3, 4, VOCAB)
    assert out["discriminator_logits"].shape == (3, 12)
    sampled, corrupted = out["sampled_ids"], out["corrupted_ids"]
    assert sampled.min() > 4  # never padding, unknown, start, end or [MASK]
    rows = np.arange(3)[:, None]
    valid = inputs["mask_weights"] > 0
    expected = inputs["token_ids"].copy()
    expected[rows, inputs["mask_positions"]] = np.where(
        valid, sampled, inputs["token_ids"][rows, inputs["mask_positions"]]
    )
    np.testing.assert_array_equal(corrupted, expected)
    # The discriminator's logits are its own pass over the corrupted ids.
    np.testing.assert_allclose(
        out["discriminator_logits"], np.asarray(detector.detect(corrupted)), atol=1e-5
    )


def test_the_loss_is_the_generators_cross_entropy_plus_50_times_the_detection_loss(detector, rng):
    inputs, labels = batch(rng)
    y_pred = {k: np.asarray(v) for k, v in detector(inputs, training=False).items()}
    # Hand-made samples: slot (0, 0) and (1, 1) reproduce the original token (not replaced).
    sampled = np.full((3, 4), 63, "int32")
    sampled[0, 0], sampled[1, 1] = labels[0, 0], labels[1, 1]
    y_pred["sampled_ids"] = sampled
    loss = float(detector.compute_loss(inputs, labels, y_pred))

    logits = y_pred["generator_logits"].astype("float64")
    log_probs = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    weights = inputs["mask_weights"]
    chosen = np.take_along_axis(log_probs, labels[..., None], -1)[..., 0]
    generator = -(chosen * weights).sum() / weights.sum()
    replaced = np.zeros((3, 12))
    for b, m in zip(*np.nonzero((weights > 0) & (sampled != labels))):
        replaced[b, inputs["mask_positions"][b, m]] = 1
    assert replaced.sum() == weights.sum() - 2  # the two reproduced tokens count as original
    real = inputs["token_ids"] != 0
    z = y_pred["discriminator_logits"].astype("float64")
    bce = np.maximum(z, 0) - z * replaced + np.log1p(np.exp(-np.abs(z)))
    discriminator = (bce * real).sum() / real.sum()
    assert loss == pytest.approx(generator + 50 * discriminator, rel=1e-5)
    terms = detector.objective_terms(inputs, labels, y_pred)
    assert float(terms["replaced_share"]) == pytest.approx(replaced.sum() / real.sum(), rel=1e-6)


def test_fit_trains_both_networks_and_lowers_the_loss(rng):
    model = build_replaced_token_detector("transformer", preset="tiny", vocab_size=VOCAB, seed=0)
    inputs, labels = batch(rng)
    inputs = {k: np.repeat(v, 8, axis=0) for k, v in inputs.items()}
    labels = np.repeat(labels, 8, axis=0)
    model.compile(optimizer=keras.optimizers.Adam(3e-3))
    before = model.evaluate(inputs, labels, batch_size=24, verbose=0, return_dict=True)
    generator_weights = [np.array(w) for w in model.generator.trainable_weights]
    discriminator_weights = [np.array(w) for w in model.discriminator.trainable_weights]
    model.fit(inputs, labels, batch_size=24, epochs=40, verbose=0)
    after = model.evaluate(inputs, labels, batch_size=24, verbose=0, return_dict=True)
    assert after["loss"] < 0.5 * before["loss"]
    assert after["generator_loss"] < before["generator_loss"]
    assert after["discriminator_loss"] < before["discriminator_loss"]
    for old, new in (
        (generator_weights, model.generator),
        (discriminator_weights, model.discriminator),
    ):
        assert any(not np.allclose(a, np.asarray(b)) for a, b in zip(old, new.trainable_weights))


def test_a_saved_detector_reloads_with_its_weights(detector, tmp_path, rng):
    inputs, _ = batch(rng)
    detector.save(tmp_path / "rtd.keras")
    loaded = keras.saving.load_model(tmp_path / "rtd.keras")
    assert isinstance(loaded, ReplacedTokenDetector)
    assert loaded.discriminator_weight == 50.0
    assert len(loaded.weights) == len(detector.weights)
    ids = inputs["token_ids"]
    np.testing.assert_allclose(np.asarray(loaded.detect(ids)), np.asarray(detector.detect(ids)))
    masked = {k: inputs[k] for k in ("token_ids", "mask_positions")}
    np.testing.assert_allclose(
        np.asarray(loaded.generator(masked)), np.asarray(detector.generator(masked))
    )


def test_the_discriminators_backbone_carries_a_classifier(detector):
    classifier = zoo.build(
        "transformer", task="classify", backbone=detector.discriminator, num_classes=2
    )
    assert classifier.encoder_embedding is detector.discriminator.encoder_embedding
    assert classifier.encoder_blocks[0] is detector.discriminator.encoder_blocks[0]


def test_the_generator_is_a_quarter_as_wide(detector):
    small = zoo.build("transformer", task="mlm", preset="small", vocab_size=VOCAB)
    assert generator_fields(small.config) == dict(hidden_dim=64, intermediate_dim=256, num_heads=1)
    config = detector.generator.config
    assert (config.hidden_dim, config.num_layers) == (8, 1)  # tiny: 32 wide -> 8
    assert detector.discriminator.config.hidden_dim == 32


def test_bad_parts_are_refused():
    mlm = zoo.build("transformer", task="mlm", preset="tiny", vocab_size=VOCAB)
    classifier = zoo.build("transformer", task="classify", preset="tiny", vocab_size=VOCAB)
    with pytest.raises(ValueError, match="generator must be a zoo `mlm` model"):
        ReplacedTokenDetector(classifier, mlm.backbone)
    with pytest.raises(ValueError, match="encoder backbone"):
        ReplacedTokenDetector(mlm, mlm)
    other = zoo.build("transformer", task="mlm", preset="tiny", vocab_size=VOCAB + 1)
    with pytest.raises(ValueError, match="vocabulary"):
        ReplacedTokenDetector(other, mlm.backbone)
    with pytest.raises(ValueError, match="size must be in"):
        generator_fields(mlm.config, 0)
