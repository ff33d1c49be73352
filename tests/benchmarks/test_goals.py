"""How the benchmarks judge issue 11's goals, on figures made up for the test."""

from __future__ import annotations

import json

from benchmarks import recurrent_speed, run_all, training_speed


def row(preset, precision, ratio, fraction, length=32):
    return {
        "preset": preset,
        "task": "seq2seq",
        "precision": precision,
        "length": length,
        "ratio_zoo_over": {"keras_nlp": ratio, "keras": 1.0},
        "fraction_of_peak": {"zoo": fraction},
        "peak_gflops": 200.0,
    }


def test_training_goals():
    rows = [
        row("small", "float32", 1.30, 0.20),
        row("base", "float32", 1.26, 0.61),
        row("base", "float32", 1.24, 0.65, length=128),
        row("base", "mixed_bfloat16", 1.50, 0.39),
    ]
    goals = {goal["key"]: goal for goal in training_speed.goals(rows)}
    speedup = goals["training_vs_keras_nlp"]
    assert speedup["met"] is False  # 1.24 < 1.25
    assert "1.24–1.50" in speedup["figure"] and "3 of 4" in speedup["figure"]
    assert goals["float32_fraction_of_peak_base"]["met"] is True  # 61 % and 65 % >= 60 %
    assert "T=128: 65%" in goals["float32_fraction_of_peak_base"]["figure"]
    assert goals["bfloat16_fraction_of_peak_base"]["met"] is False  # 39 % < 40 %


def test_training_goals_without_base_are_not_judged():
    goals = {goal["key"]: goal for goal in training_speed.goals([row("small", "float32", 2, 1)])}
    assert goals["training_vs_keras_nlp"]["met"] is True
    assert goals["float32_fraction_of_peak_base"]["met"] is None


def test_recurrent_goal_allows_the_stated_tolerance():
    rows = [
        {"family": "lstm", "precision": "float32", "length": 32, "ratio_zoo_over_keras": 0.98},
        {"family": "gru", "precision": "float32", "length": 32, "ratio_zoo_over_keras": 1.10},
    ]
    (goal,) = recurrent_speed.goals(rows)
    assert goal["met"] is True and "lowest: lstm float32 T=32" in goal["figure"]
    rows[0]["ratio_zoo_over_keras"] = 0.96
    assert recurrent_speed.goals(rows)[0]["met"] is False


def test_report_goals_come_from_the_benchmark_that_states_them():
    stated = {"key": "recurrent_vs_keras", "goal": "...", "figure": "1.01", "met": True}
    records = {
        "recurrent_speed": {"status": "ok", "documents": {"r.json": {"goals": [stated]}}},
        "training_speed": {"status": "failed (1)"},
        "cached_decoding": {"status": "skipped: a reason"},
    }
    goals = {goal["key"]: goal for goal in run_all.collect_goals(records)}
    assert [goal["key"] for goal in run_all.collect_goals(records)] == [
        key for key, _, _ in run_all.ISSUE_GOALS
    ]
    assert goals["recurrent_vs_keras"]["met"] is True
    assert goals["recurrent_vs_keras"]["figure"] == "1.01"
    assert goals["training_vs_keras_nlp"]["met"] is None
    assert "failed (1)" in goals["training_vs_keras_nlp"]["figure"]
    assert goals["cached_decoding_vs_recompute"]["figure"] == "cached_decoding: skipped: a reason"
    assert "serving_speed: not run" == goals["serving_throughput"]["figure"]
    assert "README" in goals["translation_bleu"]["figure"]
    table = run_all.goals_table(list(goals.values()))
    assert "| **met** |" in table and "| — |" in table


def test_report_only_reads_the_json_already_there(tmp_path):
    stated = {"key": "recurrent_vs_keras", "goal": "...", "figure": "zoo / keras 1.02", "met": True}
    document = {"goals": [stated], "table": "| family |\n|---|\n| lstm |"}
    (tmp_path / "recurrent_speed.json").write_text(json.dumps(document))
    report_path = tmp_path / "BENCHMARKS.md"
    code = run_all.main(
        ["--report-only", "--output-dir", str(tmp_path), "--report", str(report_path)]
    )
    assert code == 0
    report = report_path.read_text()
    assert (
        "| Recurrent families no slower than plain Keras | zoo / keras 1.02 | **met** |" in report
    )
    assert "| lstm |" in report and "(an earlier run)" in report
    assert "Not run (no training_speed.json" in report
