"""Each benchmark's `--quick` runs and writes well-formed JSON; run_all writes the report."""

from __future__ import annotations

import json
import math

import pytest

from benchmarks import accelerator_step, cached_decoding, recurrent_speed, run_all, training_speed
from benchmarks.flops import config_training_flops
from benchmarks.training_speed import transformer_config


def finite_positive(value) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value) and value > 0


@pytest.mark.slow
def test_training_speed_quick(tmp_path):
    document = training_speed.main(["--quick", "--output-dir", str(tmp_path)])
    written = json.loads((tmp_path / "training_speed.json").read_text())
    assert written["rows"] == json.loads(json.dumps(document["rows"]))
    assert {(row["task"], row["precision"]) for row in written["rows"]} == {
        ("seq2seq", "float32"),
        ("lm", "float32"),
    }
    for row in written["rows"]:
        assert set(row["tokens_per_second"]) == {"zoo", "keras_nlp", "keras"}
        assert len(set(row["weights"].values())) == 1, row["weights"]
        assert all(finite_positive(v) for v in row["tokens_per_second"].values())
        assert finite_positive(row["peak_gflops"]) and finite_positive(row["flops_per_step"])
        for peer, ratio in row["ratio_zoo_over"].items():
            seconds = row["step_seconds"]
            assert ratio == pytest.approx(seconds[peer] / seconds["zoo"])
        assert row["batch_size"] * row["length"] == 256  # --quick: 256 tokens a step
    goals = {goal["key"]: goal for goal in written["goals"]}
    assert goals["training_vs_keras_nlp"]["met"] in (True, False)
    assert goals["float32_fraction_of_peak_base"]["met"] is None  # no base in --quick


@pytest.mark.slow
def test_recurrent_speed_quick(tmp_path):
    recurrent_speed.main(["--quick", "--output-dir", str(tmp_path)])
    written = json.loads((tmp_path / "recurrent_speed.json").read_text())
    assert [row["family"] for row in written["rows"]] == ["simple_rnn", "lstm", "gru"]
    for row in written["rows"]:
        assert row["weights"]["zoo"] == row["weights"]["keras"]
        assert all(finite_positive(v) for v in row["tokens_per_second"].values())
        assert len(row["ratio_per_round"]) == 2  # --quick: two rounds
    assert written["goals"][0]["key"] == "recurrent_vs_keras"


@pytest.mark.slow
def test_run_all_quick_writes_the_report(tmp_path):
    # training_speed and recurrent_speed --quick are tested above, serving_speed in
    # tests/export (its quick run exports a model: minutes); the others run here.
    code = run_all.main(
        ["--quick", "--skip", "training_speed", "recurrent_speed", "serving_speed",
         "--output-dir", str(tmp_path), "--report", str(tmp_path / "BENCHMARKS.md")]
    )  # fmt: skip
    assert code == 0
    summary = json.loads((tmp_path / "benchmarks_partial.json").read_text())
    statuses = {name: record["status"] for name, record in summary["benchmarks"].items()}
    assert statuses["precision_speed"] == statuses["sequential_vs_parallel"] == "ok"
    assert statuses["cached_decoding"] == "ok"
    assert statuses["decode_speed"] == "not part of --quick"
    json.loads((tmp_path / "precision_speed.json").read_text())
    cached = json.loads((tmp_path / "cached_decoding.json").read_text())
    assert [row["new_tokens"] for row in cached["rows"]] == [8, 16]
    report = (tmp_path / "BENCHMARKS.md").read_text()
    assert "## Issue 11's goals" in report and "float32 against mixed_bfloat16" in report
    assert len(summary["goals"]) == len(run_all.ISSUE_GOALS)


def test_cached_decoding_equals_recompute_and_states_the_goal(tmp_path):
    # The two greedy loops must emit the same tokens: cached decoding equals the full
    # forward pass (float32, an untrained tiny model).
    document = cached_decoding.run(
        preset="tiny", vocab_size=64, new_tokens=(6, 128), batch_size=2, prompt_length=3,
        repeats=1, beam=True, output_dir=str(tmp_path),
    )  # fmt: skip
    for row in document["rows"]:
        assert row["same_tokens"], row
        assert set(row["tokens_per_second"]) == {"cached", "recompute", "beam 4"}
        assert row["cached_over_recompute"] == pytest.approx(
            row["seconds"]["recompute"] / row["seconds"]["cached"]
        )
    (goal,) = document["goals"]  # stated from the 128-token row
    assert goal["key"] == "cached_decoding_vs_recompute"
    assert goal["met"] == (document["rows"][1]["cached_over_recompute"] >= 5.0)


def test_accelerator_step_quick(tmp_path):
    # The GPU check's benchmark, CI-sized on this machine: MFU is FLOPs / time / peak, and
    # the H200 goal is judged only on an H200.
    document = accelerator_step.main(["--quick", "--output-dir", str(tmp_path)])
    train = document["training"]
    assert train["flops_per_step"] == config_training_flops(
        transformer_config("tiny", "seq2seq", 16, True, 0.0), 4, 16
    )
    assert train["mfu_vs_measured_peak"] == pytest.approx(
        train["flops_per_step"] / train["step_seconds"] / (train["matmul_peak_tflops"] * 1e12)
    )
    assert finite_positive(document["cached_decoding"]["new_tokens_per_second"])
    (goal,) = document["goals"]
    assert goal["key"] == "gpu_mfu" and goal["met"] is None  # not an H200
    backend = document["backend"]
    assert (tmp_path / f"accelerator_step_{backend}.json").exists()


def test_profile_ops_are_grouped_by_their_name_scope():
    from benchmarks.profile_step import part_of

    expected = {
        ("compile_loss/masked_sparse_categorical_crossentropy/Exp", "Exp"): "loss and metric",
        ("gradient_tape/transformer_seq2seq_1/token_embedding_1/Tensordot/MatMul", "_MklMatMul"):
            "vocabulary projection",
        ("AddN/tmp_var_accum_2", "AssignAdd"): "vocabulary projection",
        ("adam/AssignAddVariableOp", "AssignAddVariableOp"): "optimizer",
        ("model/decoder_block_0/self_attention_layer_norm/moments/mean", "Mean"): "layer norms",
        ("keras_nlp_seq2seq_1/decoder_0_1/self_attention/einsum", "_MklEinsum"): "attention",
        ("keras_nlp_seq2seq_1/encoder_1_1/feedforward_output_dense_1/MatMul", "_MklMatMul"):
            "feed-forward",
        ("ArgMax", "ArgMax"): "loss and metric",  # unscoped, next to the metric
        ("model/ArgMax", "ArgMax"): "other",  # scoped elsewhere: not the metric's
        ("model/embedding_scale/mul", "Mul"): "other",
    }  # fmt: skip
    assert {key: part_of(*key) for key in expected} == expected


def test_mlm_step_times_both_forms_at_the_same_loss(tmp_path):
    from benchmarks import mlm_step

    argv = ["--steps", "2", "--warmup", "1", "--preset", "tiny", "--vocab-size", "300"]
    argv += ["--batch-size", "4", "--length", "40", "--output-dir", str(tmp_path)]
    document = mlm_step.main(argv)
    written = json.loads((tmp_path / "mlm_step.json").read_text())
    assert written["median_ms_per_step"] == document["median_ms_per_step"]
    assert written["model"]["dtype_policy"] == "float32"
    assert all(finite_positive(v) for v in written["median_ms_per_step"].values())
    medians = written["median_ms_per_step"]
    ratio = medians["full_logits"] / medians["masked_only"]
    assert written["ratio_full_over_masked"] == pytest.approx(ratio, rel=0.05)  # ms rounded
    assert all(len(samples) == 2 for samples in written["ms_per_step"].values())
    # 15 % of the 39 selectable tokens of each row: ceil(5.85) = 6.
    assert written["batch"] == dict(
        rows=4, length=40, tokens=160, masked_per_row=6, masked_tokens=24
    )
    losses = written["loss_at_equal_weights"]
    assert losses["masked_only"] == pytest.approx(losses["full_logits"], rel=1e-5)


@pytest.mark.slow
def test_char_lm_step_times_each_variant_in_its_own_process(tmp_path):
    from benchmarks import char_lm_step

    out = tmp_path / "char_lm_step.json"
    char_lm_step.main(
        ["--steps", "2", "--warmup", "1", "--repeats", "2", "--out", str(out)]
        + ["--variants", "tensorflow", "tensorflow, muon"]
    )
    rows = json.loads(out.read_text())["rows"]
    assert set(rows) == {"tensorflow", "tensorflow, muon"}
    for row in rows.values():
        assert len(row["runs_ms"]) == 2
        assert row["ms_per_step"] == pytest.approx(min(row["runs_ms"]), abs=0.01)
        assert all(finite_positive(value) for value in row["runs_ms"])


def test_optimizer_step_times_each_optimiser_on_its_own_model(tmp_path):
    from benchmarks import optimizer_step

    model = optimizer_step.build(optimizer_step.VARIANTS["muon, bfloat16 iterations"], 50, "tiny")
    assert model.optimizer.ns_dtype == "bfloat16"
    out = tmp_path / "optimizer_step.json"
    argv = ["--preset", "tiny", "--vocab-size", "50", "--batch", "4", "--length", "6"]
    result = optimizer_step.main(argv + ["--steps", "1", "--repeats", "1", "--out", str(out)])
    assert json.loads(out.read_text()) == result
    assert set(result["rows"]) == set(optimizer_step.VARIANTS)
    assert result["rows"]["adam"]["x_adam"] == 1.0 and result["batch"] == "4 pairs of 6 + 6 pieces"
