import json

import keras
import pytest

if keras.config.backend() != "tensorflow":
    pytest.skip("the translation recipe exports a SavedModel (TensorFlow)", allow_module_level=True)

import zoo
from recipes import translate  # noqa: E402
from zoo.runs import translate as translate_run  # noqa: E402


def test_flags_demo_and_config_overrides():
    settings, overrides = translate.parse_args(["--demo", "--beam-width", "2", "--num-heads", "2"])
    assert settings.time_budget == translate.DEMO["time_budget"]
    assert settings.beam_width == 2  # explicit flags win over --demo
    assert overrides["num_heads"] == 2 and overrides["hidden_dim"] == 128
    settings, overrides = translate.parse_args(
        ["--model", "lstm", "--use-attention", "false", "--epochs", "3"]
    )
    assert (settings.model, settings.epochs, overrides) == ("lstm", 3, {"use_attention": False})
    assert settings.mixed_precision == "auto" and settings.ema_momentum == 0.99  # the defaults
    settings, _ = translate.parse_args(["--no-mixed-precision", "--ema-momentum", "0"])
    assert not settings.mixed_precision and settings.ema_momentum == 0.0
    with pytest.raises(SystemExit):
        translate.parse_args(["--model", "lstm", "--num-heads", "x"])
    with pytest.raises(SystemExit):  # a transformer field is not an lstm flag
        translate.parse_args(["--model", "lstm", "--intermediate-dim", "64"])


def test_each_family_gets_its_measured_defaults_and_flags_still_win():
    lstm = translate_run.with_family_defaults(translate.Settings(model="lstm"))
    assert (lstm.tokens_per_batch, lstm.warmup_steps, lstm.learning_rate_scale) == tuple(
        translate_run.RECIPE_TRAINING["lstm"][key]
        for key in ("tokens_per_batch", "warmup_steps", "learning_rate_scale")
    )
    transformer = translate_run.with_family_defaults(translate.Settings())
    assert (transformer.warmup_steps, transformer.tokens_per_batch) == (400, 4096)
    settings, _ = translate.parse_args(["--model", "gru", "--warmup-steps", "7"])
    assert translate_run.with_family_defaults(settings).warmup_steps == 7
    assert zoo.list_tunings("lstm")["translate"]["share_embeddings"] is False
    assert zoo.list_tunings("transformer")["translate"]["share_embeddings"] is True


def test_a_recurrent_model_with_the_recipes_defaults_exports_and_reloads(tmp_path):
    """The RNN defaults (bidirectional first encoder layer, residuals, embedding scale) through
    training, beam search in process, export and the TensorFlow-only reload check."""
    settings = translate.Settings(
        model="gru",
        epochs=1,
        generated_examples=600,
        vocab_size=300,
        sequence_length=16,
        test_examples=10,
        beam_width=2,
        out=str(tmp_path / "saved"),
        run_dir=str(tmp_path / "run"),
        preset="tiny",
    )
    result = translate.run(settings, num_layers=2, hidden_dim=32)
    assert result["overrides"]["bidirectional_encoder"] and result["overrides"]["residual"]
    gru_training = translate_run.RECIPE_TRAINING["gru"]
    assert result["settings"]["warmup_steps"] == gru_training["warmup_steps"]
    assert result["export_agrees_with_model"]  # reloaded with TensorFlow alone
    card = json.loads((tmp_path / "saved" / "1" / "assets" / "zoo.json").read_text())
    tuned = zoo.list_tunings("gru")["translate"]
    assert card["config"]["embedding_stddev"] == tuned["embedding_stddev"]
    # serving_default (text alone) decodes as the run was told, not at the library's 4 / 64.
    assert card["serving_default"]["defaults"] == {"beam_width": 2, "max_length": 16}


def test_recipe_trains_evaluates_exports_and_reloads(tmp_path):
    settings = translate.Settings(
        epochs=2,
        generated_examples=1500,
        vocab_size=300,
        sequence_length=24,
        tokens_per_batch=1024,
        warmup_steps=20,
        test_examples=20,
        beam_width=2,
        out=str(tmp_path / "saved"),
        run_dir=str(tmp_path / "run"),
        preset="tiny",
    )
    result = translate.run(settings, num_layers=1, hidden_dim=32, num_heads=2)
    metrics = result["metrics"]
    assert metrics["sentences"] == 20 and 0.0 <= metrics["bleu"] <= 100.0
    assert metrics["epochs_run"] == 2 and metrics["train_steps"] > 0
    export = tmp_path / "saved" / "1"
    assert (export / "saved_model.pb").exists()
    card = json.loads((export / "assets" / "zoo.json").read_text())
    assert card["metrics"]["bleu"] == metrics["bleu"]
    assert card["data"]["licence"]
    assert (tmp_path / "run" / "attention_the_ball_is_red.png").stat().st_size > 1000
    assert set(result["samples"]) == set(translate_run.SAMPLES)
    assert result["export_agrees_with_model"]  # reloaded with TensorFlow alone
    assert metrics["export_sentences_per_second_batch_64"] > 0
    saved = json.loads((tmp_path / "run" / "results.json").read_text())
    assert saved["metrics"] == metrics


def test_a_corpus_too_small_to_split_is_refused_with_its_counts(tmp_path):
    data = tmp_path / "pairs.txt"
    data.write_text("Go.\tVa !\nHi.\tSalut !\nRun!\tCours !\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"has 3 pairs \(3 distinct English sentences\)"):
        translate_run.load_data(translate.Settings(data=str(data)))
