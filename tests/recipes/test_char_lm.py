import json

import keras
import pytest

if keras.config.backend() != "tensorflow":
    pytest.skip("the recipe exports a SavedModel (TensorFlow)", allow_module_level=True)

import zoo
from recipes import char_lm  # noqa: E402


def test_flags_defaults_are_nanogpts_configuration():
    settings, overrides = char_lm.parse_args([])
    assert (settings.sequence_length, settings.batch_size, settings.steps) == (64, 12, 2000)
    assert (settings.learning_rate, settings.min_learning_rate) == (1e-3, 1e-4)
    model = zoo.list_tunings("transformer")["char_lm"]
    assert (model["num_layers"], model["num_heads"], model["hidden_dim"]) == (4, 4, 128)
    settings, overrides = char_lm.parse_args(
        ["--model", "lstm", "--hidden-dim", "64", "--prompts", "ROMEO:", "--time-budget", "5"]
    )
    assert (settings.model, overrides, settings.prompts) == (
        "lstm",
        {"hidden_dim": 64},
        ("ROMEO:",),
    )
    with pytest.raises(SystemExit):  # whole rounds of --steps-per-epoch steps
        char_lm.parse_args(["--steps", "1300"])
    with pytest.raises(SystemExit):  # a transformer field is not an lstm flag
        char_lm.parse_args(["--model", "lstm", "--intermediate-dim", "64"])


@pytest.mark.slow
def test_recipe_trains_samples_exports_and_agrees(tmp_path):
    settings = char_lm.Settings(
        steps=12,
        steps_per_epoch=6,
        eval_windows=8,
        batch_size=4,
        sequence_length=16,
        generated_examples=300,
        sample_tokens=20,
        preset="tiny",
        out=str(tmp_path / "saved"),
        run_dir=str(tmp_path / "run"),
    )
    result = char_lm.run(settings, num_layers=1, hidden_dim=32, num_heads=2, intermediate_dim=64)
    metrics = result["metrics"]
    assert metrics["train_steps"] == 12 and metrics["epochs_run"] == 2
    assert 0 < metrics["validation_loss_nats_per_char"] < 6.0
    assert len(metrics["validation_estimate_during_training"]) == 2
    assert result["export_agrees_with_model"]
    assert set(result["samples"]) == set(settings.prompts)
    card = json.loads((tmp_path / "saved" / "1" / "assets" / "zoo.json").read_text())
    assert card["task"] == "lm" and card["decoding"]["context_length"] == 17
    assert (
        card["metrics"]["validation_loss_nats_per_char"] == metrics["validation_loss_nats_per_char"]
    )
    saved = json.loads((tmp_path / "run" / "results.json").read_text())
    assert saved["metrics"] == metrics
    assert len(saved["samples_during_training"]) >= 1
