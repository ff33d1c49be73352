"""The route of a model trained where there is no TensorFlow (the GPU machine): the
translation recipe trains on JAX in a subprocess that cannot import TensorFlow, keras-nlp or
tensorflow-text, and says how to export; `zoo export RUN_DIR` (TensorFlow)
exports the checkpoint; the export, reloaded here with TensorFlow alone, answers as the JAX
model did in process."""

import json
import os
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest

if keras.config.backend() != "tensorflow":
    pytest.skip("the test reloads the export with TensorFlow", allow_module_level=True)
pytest.importorskip("jax")

import tensorflow as tf  # noqa: E402
import tensorflow_text  # noqa: E402, F401  (the SentencePiece ops of the graph)

ROOT = Path(__file__).resolve().parents[2]
# A tiny model in float32: bfloat16 matmuls round differently in XLA on JAX and in
# TensorFlow's kernels, which moves scores by about 1e-2 (token ids still agreed when tried).
TINY = [
    "--epochs", "1", "--generated-examples", "600", "--vocab-size", "300",
    "--sequence-length", "16",
    "--tokens-per-batch", "1024", "--warmup-steps", "20", "--test-examples", "4",
    "--beam-width", "2", "--preset", "tiny", "--num-layers", "1", "--hidden-dim", "32",
    "--num-heads", "2", "--no-mixed-precision",
]  # fmt: skip


def _trim(row):
    row = list(row)
    while row and row[-1] == 0:
        row.pop()
    return row


@pytest.mark.slow
def test_translation_trained_on_jax_without_tensorflow_exports_and_answers_alike(tmp_path):
    run_dir, out = tmp_path / "run", tmp_path / "saved"
    trained = subprocess.run(
        [sys.executable, "-m", "recipes.translate", *TINY, "--run-dir", run_dir, "--out", out],
        env={
            **os.environ,
            "KERAS_BACKEND": "jax",
            "PYTHONPATH": str(ROOT / "tests" / "without_tensorflow"),
        },
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert trained.returncode == 0, trained.stdout[-3000:] + trained.stderr[-3000:]
    assert "backend jax" in trained.stdout
    command = f"zoo export {run_dir} --out {out}"
    assert "has no TensorFlow" in trained.stdout and command in trained.stdout
    assert not out.exists()

    exported = subprocess.run(
        [sys.executable, "-m", "zoo.cli", "export", run_dir, "--out", out],
        env={**os.environ, "KERAS_BACKEND": "jax", "TF_CPP_MIN_LOG_LEVEL": "2"},  # overridden
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert exported.returncode == 0, exported.stdout[-3000:] + exported.stderr[-3000:]
    assert "answers as the model did in process" in exported.stdout
    request = json.loads((run_dir / "export.json").read_text())
    assert request["trained_with"]["backend"] == "jax"
    exported = json.loads((run_dir / "export_result.json").read_text())
    assert exported["exported_with"]["backend"] == "tensorflow"
    assert exported["export"] == str(out / "1")

    # What the JAX model answered in process (its beam search), against the export called
    # here, with TensorFlow alone.
    check = request["checks"][0]
    inputs = check["inputs"]
    translate = tf.saved_model.load(str(out / "1")).signatures["translate"]
    answer = translate(
        text=tf.constant(inputs["text"]),
        beam_width=tf.constant(inputs["beam_width"]),
        max_length=tf.constant(inputs["max_length"]),
    )
    expected = check["expected"]
    assert [_trim(r) for r in answer["token_ids"].numpy().tolist()] == [
        _trim(r) for r in expected["token_ids"]
    ]
    assert [t.decode() for t in answer["translation"].numpy()] == expected["translation"]
    np.testing.assert_allclose(answer["score"].numpy(), expected["score"], atol=1e-4)
    assert len(expected["token_ids"]) == 4 and any(map(_trim, expected["token_ids"]))

    results = json.loads((run_dir / "results.json").read_text())
    assert results["export"] is None  # nothing was exported where there is no TensorFlow
    card = json.loads((out / "1" / "assets" / "zoo.json").read_text())
    assert card["metrics"]["bleu"] == results["metrics"]["bleu"]
    assert card["data"]["licence"] and card["family"] == "transformer"
