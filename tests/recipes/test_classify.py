import json

import keras
import numpy as np
import pytest

if keras.config.backend() != "tensorflow":
    pytest.skip("the recipe exports a SavedModel (TensorFlow)", allow_module_level=True)

import zoo  # noqa: E402
from recipes import classify  # noqa: E402
from zoo.data import SubwordTokenizer, generated_sentiment  # noqa: E402
from zoo.runs import classify as classify_run  # noqa: E402


def test_flags_and_family_defaults():
    settings, overrides = classify.parse_args([])
    assert (settings.model, settings.sequence_length, settings.data) == ("transformer", 64, None)
    settings, overrides = classify.parse_args(
        ["--model", "lstm", "--hidden-dim", "64", "--class-names", "bad", "good", "--epochs", "2"]
    )
    assert (settings.model, overrides, settings.class_names) == (
        "lstm",
        {"hidden_dim": 64},
        ("bad", "good"),
    )
    with pytest.raises(SystemExit):  # a transformer field is not an lstm flag
        classify.parse_args(["--model", "lstm", "--intermediate-dim", "64"])


def small_settings(tmp_path, name, **changes):
    return classify.Settings(
        **{
            "preset": "tiny",
            "epochs": 2,
            "generated_examples": 1500,
            "batch_size": 32,
            "warmup_steps": 10,
            "learning_rate": 3e-3,
            "out": str(tmp_path / name / "saved"),
            "run_dir": str(tmp_path / name / "run"),
            **changes,
        }
    )


@pytest.mark.slow
def test_recipe_trains_scores_exports_and_keeps_its_tokenizer(tmp_path):
    settings = small_settings(tmp_path, "scratch")
    result = classify.run(settings)
    metrics = result["metrics"]
    assert metrics["epochs_run"] == 2 and len(result["curve"]) == 2
    test = result["scores"]["test"]
    assert np.sum(test["confusion_matrix"]) == test["examples"] > 0
    assert test["accuracy"] == metrics["test_accuracy"]
    # Learned something about the generated reviews (chance is about 0.5).
    assert metrics["test_accuracy"] > 0.6
    card = json.loads((tmp_path / "scratch" / "saved" / "1" / "assets" / "zoo.json").read_text())
    assert card["decoding"]["class_names"] == ["negative", "positive"]
    assert card["metrics"]["test_accuracy"] == metrics["test_accuracy"]
    assert set(result["samples"]) == set(classify_run.SAMPLES)
    assert result["export_agrees_with_model"]  # reloaded with TensorFlow alone
    saved = json.loads((tmp_path / "scratch" / "run" / "results.json").read_text())
    assert saved["metrics"] == metrics
    # --resume keeps the run's tokenizer (the ids its checkpoints were trained on).
    run_dir = tmp_path / "scratch" / "run"
    proto = (run_dir / "tokenizer" / "sentencepiece.model").read_bytes()
    resumed = small_settings(tmp_path, "scratch", resume=True)
    other_texts = ["entirely different words here"] * 50
    assert classify_run.tokenizer_for(resumed, other_texts, run_dir).proto == proto
    fresh = small_settings(tmp_path, "fresh")
    assert classify_run.tokenizer_for(fresh, other_texts, tmp_path / "fresh").proto != proto


@pytest.mark.slow
def test_recipe_fine_tunes_a_pretrained_encoder(tmp_path):
    pretrained = tmp_path / "fill_mask"
    tokenizer = SubwordTokenizer.train(generated_sentiment(500).texts, 400, mask_token=True)
    tokenizer.save(pretrained / "tokenizer")
    encoder = zoo.build("lstm", task="mlm", preset="tiny", vocab_size=tokenizer.vocabulary_size)
    (pretrained / "checkpoints").mkdir(parents=True)
    encoder.save(pretrained / "checkpoints" / "final.keras")
    settings = small_settings(tmp_path, "tuned", epochs=1, pretrained=str(pretrained))
    result = classify.run(settings)
    assert result["settings"]["model"] == "lstm"  # the family comes from the checkpoint
    assert result["metrics"]["pretrained"] == str(pretrained)
    card = json.loads((tmp_path / "tuned" / "saved" / "1" / "assets" / "zoo.json").read_text())
    assert card["tokenizer"]["vocabulary_size"] == tokenizer.vocabulary_size
    with pytest.raises(FileNotFoundError, match="recipes.fill_mask"):
        classify.run(small_settings(tmp_path, "missing", pretrained=str(tmp_path / "nothing")))
