"""`zoo.runs.export` (`zoo export`): the export request a recipe writes, and how an export's
answers are compared with the model's (the end-to-end routes are in the recipe tests)."""

import json

import numpy as np
import pytest

import zoo
from zoo.data import ByteTokenizer, SubwordTokenizer
from zoo.runs import export as exporting


def _outputs(**arrays):
    return {name: np.asarray(value) for name, value in arrays.items()}


def test_strings_and_token_ids_must_match_exactly_floats_within_tolerance():
    item = exporting.check(
        "translate",
        {"text": ["a"]},
        {"translation": ["la balle"], "token_ids": [[5, 6, 3, 0]], "score": [-1.0]},
        atol=1e-3,
    )
    same = exporting.compare(
        item,
        _outputs(
            translation=[b"la balle"], token_ids=[[5, 6, 3, 0, 0, 0]], score=[-1.0005]
        ),  # longer padding is still the same ids
    )
    assert same["agrees"] and same["differences"] == {}
    assert same["outputs"]["translation"] == ["la balle"]

    other = exporting.compare(
        item, _outputs(translation=[b"la boule"], token_ids=[[5, 7, 3]], score=[-1.01])
    )
    assert not other["agrees"]
    assert set(other["differences"]) == {"translation", "token_ids", "score"}
    assert "1.00e-02" in other["differences"]["score"]
    assert other["differences"]["token_ids"] == (
        "1 of 1 differ; the first, item 0 from position 1: [7, 3] != [6, 3]"
    )
    assert other["differences"]["translation"] == (
        "1 of 1 differ; the first, item 0: la boule != la balle"
    )

    missing = exporting.compare(item, _outputs(translation=[b"la balle"]))
    assert missing["differences"]["token_ids"] == "missing from the export's outputs"


def test_relative_tolerance_scales_with_the_value():
    item = exporting.check("s", {}, {"score": [-20.0, -0.1]}, atol=0.0, rtol=0.02)
    assert exporting.compare(item, _outputs(score=[-20.3, -0.1]))["agrees"]  # 0.3 <= 0.4
    assert not exporting.compare(item, _outputs(score=[-20.0, -0.11]))["agrees"]  # 0.01 > 0.002


def test_the_request_keeps_the_tokenizer_in_the_run_folder(tmp_path):
    run_dir = tmp_path / "run"
    (run_dir / "checkpoints").mkdir(parents=True)
    elsewhere = tmp_path / "pretrained"
    tokenizer = SubwordTokenizer.train(["la balle est rouge", "the ball is red"] * 50, 300)
    tokenizer.save(elsewhere)
    model = zoo.build(
        "transformer", task="classify", preset="tiny", vocab_size=tokenizer.vocabulary_size
    )
    model.save(run_dir / "checkpoints" / "final.keras")
    path = exporting.write_request(
        run_dir,
        family="transformer",
        out="saved_models/x",
        tokenizer=SubwordTokenizer.load(elsewhere),
        options={"max_length": np.int64(32)},
        metrics={"accuracy": np.float32(0.5)},
        checks=[exporting.check("classify", {"text": ["a"]}, {"label": ["x"]})],
    )
    request = json.loads(path.read_text())
    assert request["tokenizer"] == "tokenizer"
    kept = run_dir / "tokenizer" / "sentencepiece.model"
    assert kept.read_bytes() == tokenizer.proto  # the run folder is all an export needs
    assert request["options"] == {"max_length": 32} and request["metrics"] == {"accuracy": 0.5}
    assert exporting.read_request(run_dir)["family"] == "transformer"
    # ... and the trained model as a preset folder, with the preprocessor's options.
    loaded = zoo.load(run_dir)
    assert loaded.preprocessor.options == {"max_length": 32}
    assert loaded.preprocessor.tokenizer.proto == tokenizer.proto
    assert zoo.presets.read_metadata(run_dir / "preset")["metrics"] == {"accuracy": 0.5}

    zoo.build("transformer", task="lm", preset="tiny", vocab_size=260).save(
        run_dir / "checkpoints" / "final.keras"
    )
    request = exporting.write_request(
        run_dir, family="transformer", out="o", tokenizer=ByteTokenizer()
    )
    assert json.loads(request.read_text())["tokenizer"] == exporting.BYTES


def test_clear_errors_for_runs_that_cannot_be_exported(tmp_path):
    with pytest.raises(FileNotFoundError, match="No checkpoint at"):
        exporting.write_request(tmp_path, family="lstm", out="o", tokenizer=ByteTokenizer())
    with pytest.raises(FileNotFoundError, match="pass the --run-dir folder"):
        exporting.read_request(tmp_path)
    (tmp_path / "checkpoints").mkdir()
    (tmp_path / "checkpoints" / "final.keras").write_bytes(b"stand-in")
    with pytest.raises(FileNotFoundError, match="stopped after training"):
        exporting.read_request(tmp_path)
    (tmp_path / "export.json").write_text("{not json")
    with pytest.raises(ValueError, match="is not a JSON export request"):
        exporting.read_request(tmp_path)
    (tmp_path / "export.json").write_text('{"family": "lstm"}')
    with pytest.raises(ValueError, match=r"lacks \['checkpoint', 'out', 'tokenizer'\]"):
        exporting.read_request(tmp_path)


@pytest.mark.slow
def test_the_export_command_takes_a_preset_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    tokenizer = SubwordTokenizer.train(["a fine film", "a dull film"] * 50, 300)
    model = zoo.build(
        "transformer", task="classify", preset="tiny", vocab_size=tokenizer.vocabulary_size
    )
    zoo.attach(model, tokenizer, class_names=["no", "yes"], max_length=16)
    preset = zoo.save_to_preset(model, tmp_path / "reviews", data={"licence": "none"})
    result = exporting.export_run(preset, verbose=False)
    assert result["export"] == "saved_models/reviews/1"
    texts = ["a fine film", "dull"]
    exported = zoo.load(tmp_path / "saved_models" / "reviews").classify(texts)
    expected = model.classify(texts)
    assert [a["label"] for a in exported] == [a["label"] for a in expected]
    np.testing.assert_allclose(
        [a["probabilities"] for a in exported], [a["probabilities"] for a in expected], atol=1e-5
    )
