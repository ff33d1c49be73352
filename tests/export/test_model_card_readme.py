"""Every export version carries a human-readable model card, `assets/README.md`, beside
`zoo.json`: YAML front matter (licence, data sets, metrics, intended use, runtimes) and a
body made from the same card."""

import json

import keras
import pytest

if keras.config.backend() != "tensorflow":
    pytest.skip("SavedModel export needs the TensorFlow backend", allow_module_level=True)

yaml = pytest.importorskip("yaml")


def front_matter(path) -> dict:
    text = (path / "assets" / "README.md").read_text("utf-8")
    assert text.startswith("---\n")
    header, body = text[4:].split("\n---\n", 1)
    return yaml.safe_load(header), body


@pytest.mark.parametrize("task", ["translate", "generate", "fill_mask", "classify"])
def test_every_export_has_a_readme_model_card_that_agrees_with_zoo_json(tiny_exports, task):
    path = tiny_exports[task].path
    card = json.loads((path / "assets" / "zoo.json").read_text("utf-8"))
    header, body = front_matter(path)
    assert header["license"] == "none"  # the fixture's data card
    assert header["datasets"] == ["test"]
    assert header["metrics"] == {}
    assert header["library_name"] == "zoo"
    assert task.split("_")[0] in header["intended_use"] or card["task"] in header["tags"]
    for signature in card["signatures"]:
        assert f"- `{signature}`:" in body


def test_runtimes_say_which_exports_need_tensorflow_text(tiny_exports):
    subword, _ = front_matter(tiny_exports["translate"].path)  # SentencePiece
    byte_level, _ = front_matter(tiny_exports["generate"].path)  # UTF-8 bytes
    assert any("tensorflow-text" in runtime for runtime in subword["runtimes"])
    assert not any("saved_model_cli" in runtime for runtime in subword["runtimes"])
    assert "saved_model_cli" in byte_level["runtimes"]
    assert not any("tensorflow-text" in runtime for runtime in byte_level["runtimes"])


def test_metrics_and_licence_are_written_into_the_front_matter():
    from zoo.export.model_card import model_card_readme

    card = {
        "family": "transformer",
        "task": "seq2seq",
        "data": {"name": "Tatoeba fra-eng", "licence": "CC BY 2.0"},
        "metrics": {"bleu": 44.4, "chrf": 61.2, "note": "not a number"},
        "tokenizer": {"type": "sentencepiece"},
        "signatures": {"translate": "text -> translation"},
    }
    header = yaml.safe_load(model_card_readme(card).split("---\n")[1])
    assert header["license"] == "CC BY 2.0"
    assert header["datasets"] == ["Tatoeba fra-eng"]
    assert header["metrics"] == {"bleu": 44.4, "chrf": 61.2}
    assert header["intended_use"].startswith("translating")


def test_the_runtimes_are_true_saved_model_cli_runs_only_the_byte_level_export(tiny_exports):
    """`saved_model_cli` (TensorFlow alone) runs the byte-level export's `score` and stops
    at the SentencePiece op of a subword export, as the cards say."""
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    cli = shutil.which("saved_model_cli", path=str(Path(sys.executable).parent))
    if cli is None:
        pytest.skip("saved_model_cli is not installed beside this Python")

    def run(task, signature):
        return subprocess.run(
            [cli, "run", "--dir", str(tiny_exports[task].path), "--tag_set", "serve"]
            + ["--signature_def", signature, "--input_exprs", 'text=["the cat"]'],
            capture_output=True,
            text=True,
            timeout=300,
        )

    byte_level = run("generate", "score")
    assert byte_level.returncode == 0, byte_level.stderr[-2000:]
    assert "Result for output key num_tokens:\n[7]" in byte_level.stdout
    subword = run("classify", "classify")
    assert subword.returncode != 0
    assert "Op type not registered 'SentencepieceOp'" in subword.stderr
