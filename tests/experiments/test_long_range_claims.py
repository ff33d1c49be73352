"""Summaries, tables, JSON and verdicts on hand-made sweep results (no training)."""

from __future__ import annotations

import math

import pytest

from experiments.long_range.claims import (
    NOT_MEASURED,
    NOT_REPRODUCED,
    REPRODUCED,
    adding_evidence,
    judge_claims,
    recall_evidence,
)
from experiments.long_range.report import (
    load_results,
    markdown_tables,
    results_document,
    study_settings,
    summarize,
    write_json,
)
from experiments.long_range.sweep import CellResult, SweepConfig, chance_band, is_solved

CONFIG = SweepConfig(num_test=500, num_symbols=4)


def cell(model, length, score, task="recall", seed=0, steps=100):
    return CellResult(
        model=model,
        task=task,
        length=length,
        seed=seed,
        score=score,
        solved=is_solved(task, score),
        steps=steps,
        stopped_by="solved" if is_solved(task, score) else "max_steps",
        train_seconds=1.0,
        num_parameters=9000,
    )


def the_story(simple_rnn=(1.0, 0.27, 0.26, 0.25), lstm=(1.0, 1.0, 0.97, 0.5), transformer=1.0):
    """Recall results at T = 10, 20, 100, 1000 shaped like the zoo's story."""
    lengths = (10, 20, 100, 1000)
    results = [cell("simple_rnn", t, s) for t, s in zip(lengths, simple_rnn)]
    results += [cell("lstm", t, s) for t, s in zip(lengths, lstm)]
    results += [cell("transformer", t, transformer) for t in lengths]
    return results


def statuses(results, config=CONFIG):
    return [verdict.status for verdict in judge_claims(results, config)]


def test_chance_band_is_three_standard_errors_either_side():
    margin = 3 * math.sqrt(0.25 * 0.75 / 500)
    assert chance_band(CONFIG) == pytest.approx((0.25 - margin, 0.25 + margin))
    assert chance_band(CONFIG, num_seeds=4)[1] == pytest.approx(
        0.25 + 3 * math.sqrt(0.25 * 0.75 / 2000)
    )


def test_the_story_reproduces():
    verdicts = judge_claims(the_story(), CONFIG)
    assert [v.status for v in verdicts] == [REPRODUCED] * 3
    assert "At chance from T=20 on" in verdicts[0].evidence
    assert "Stretch not reached (0.50 at T=1000)" in verdicts[1].evidence
    # The LSTM's verdict names the gate initialisation it was measured with.
    assert "gate init chrono" in verdicts[1].claim
    keras_gates = SweepConfig(num_test=500, num_symbols=4, gate_init="keras")
    assert "gate init keras" in judge_claims(the_story(), keras_gates)[1].claim


def test_each_claim_can_fail():
    # Chance plus three standard errors of 500 answers is 0.308: 0.32 is above chance.
    assert statuses(the_story(simple_rnn=(1.0, 1.0, 1.0, 0.32)))[0] == NOT_REPRODUCED
    # At chance only from T=1000, past "20–50".
    assert statuses(the_story(simple_rnn=(1.0, 1.0, 0.9, 0.25)))[0] == NOT_REPRODUCED
    # Chance at T=20 then recovering is not "at chance by T=20".
    assert statuses(the_story(simple_rnn=(1.0, 0.25, 0.9, 0.25)))[0] == NOT_REPRODUCED
    # Far below chance is not guessing: the answer still depends on the first token.
    assert statuses(the_story(simple_rnn=(1.0, 0.25, 0.25, 0.16)))[0] == NOT_REPRODUCED
    assert statuses(the_story(lstm=(1.0, 1.0, 0.94, 0.25)))[1] == NOT_REPRODUCED
    assert statuses(the_story(transformer=0.989))[2] == NOT_REPRODUCED


def test_transformer_is_judged_on_its_worst_seed():
    results = the_story() + [cell("transformer", 1000, 0.95, seed=1)]
    verdict = judge_claims(results, CONFIG)[2]
    assert verdict.status == NOT_REPRODUCED and "T=1000: 0.950" in verdict.evidence


def test_missing_cells_are_not_measured():
    only_transformer = [cell("transformer", 10, 1.0)]
    assert statuses(only_transformer) == [NOT_MEASURED, NOT_MEASURED, REPRODUCED]
    assert "measured only up to T=10" in judge_claims(only_transformer, CONFIG)[2].evidence


def test_summaries_over_seeds():
    results = [cell("lstm", 50, s, seed=i) for i, s in enumerate([1.0, 0.25, 0.995])]
    results += [cell("lstm", 50, m, task="adding", seed=i) for i, m in enumerate([0.2, 0.001])]
    recall, adding = summarize(results)
    assert recall.mean == pytest.approx(2.245 / 3)
    assert (recall.low, recall.high, recall.num_solved, recall.num_seeds) == (0.25, 1.0, 2, 3)
    # For MSE the worst seed is the highest.
    assert (adding.low, adding.high, adding.num_solved) == (0.2, 0.001, 1)


def test_markdown_table_rows_and_columns():
    results = the_story() + [
        cell("lstm", 10, 0.9, task="adding"),
        cell("lstm", 20, 0.004, "adding"),
    ]
    text = markdown_tables(results, CONFIG)
    columns = [
        "simple_rnn (64 units)",
        "lstm (32 units, chrono)",
        "transformer (width 32, 8 heads)",
    ]
    assert "| T | " + " | ".join(columns) + " |" in text
    assert "| 100 | 0.26, 100 steps | 0.97, 100 steps | 1.00, 100 steps |" in text
    assert "| 20 | — | 0.004, 100 steps | — |" in text
    assert "chance 0.25" in text and "0.167" in text


def test_the_settings_that_decide_the_result_are_in_the_table_and_json():
    results = the_story() + [cell("gru", 10, 1.0), cell("gru", 10, 0.002, "adding")]
    text = markdown_tables(results, CONFIG)
    assert "| gate init (lstm, gru) | **chrono**: chrono (Tallec & Ollivier 2018)" in text
    assert "lstm (32 units, chrono): chrono_init = T, 9,000 weights (recall)" in text
    gru = "gru (37 units, chrono): chrono_init = T, 9,000 / 9,000 weights (recall / adding)"
    assert gru in text
    assert "simple_rnn (64 units): no gates" in text
    assert "Adam, learning rate 0.003, gradients clipped to global norm 1" in text
    assert "at most 300 steps of 32 fresh sequences per cell" in text
    assert "| seeds | 0, 1, 2 in every cell |" in text

    settings = study_settings(SweepConfig(gate_init="open"), results)
    assert settings["gate_init"] == "open"
    assert settings["models"]["lstm"]["gates"] == "forget gate bias 3"
    assert settings["models"]["gru"]["gates"] == "update gate bias 3"
    assert settings["models"]["gru"]["overrides"]["hidden_dim"] == 37
    assert settings["models"]["gru"]["num_parameters"] == {"recall": 9000, "adding": 9000}
    keras_gates = study_settings(SweepConfig(gate_init="keras"), results)["models"]
    assert keras_gates["lstm"]["gates"] == "Keras defaults (forget bias 1)"
    assert keras_gates["gru"]["gates"] == "Keras defaults (update bias 0)"
    document = results_document(CONFIG, results)
    assert document["settings"] == study_settings(CONFIG, results)


def test_recall_evidence_per_model():
    results = the_story() + [cell("gru", 10, 1.0), cell("gru", 100, 0.25)]
    results += [cell("gru", 20, s, seed=i) for i, s in enumerate([1.0, 0.995, 0.5])]
    lines = recall_evidence(summarize(results), CONFIG)
    [gru] = [line for line in lines if line.startswith("recall, gru:")]
    assert "longest T solved by every seed: 10; at chance from T=100" in gru
    [simple_rnn] = [line for line in lines if line.startswith("recall, simple_rnn:")]
    assert "at chance from T=20" in simple_rnn
    [transformer] = [line for line in lines if line.startswith("recall, transformer:")]
    assert "solved by every seed: 1000; never at chance" in transformer


def test_adding_evidence_names_solved_and_baseline_lengths():
    results = [cell("lstm", t, m, "adding") for t, m in [(10, 0.001), (50, 0.05), (100, 0.16)]]
    [line] = adding_evidence(summarize(results))
    assert "longest T solved (MSE ≤ 0.01): 10" in line
    assert "no better than the baseline from T=100" in line


def test_json_round_trip(tmp_path):
    results = the_story()
    verdicts = judge_claims(results, CONFIG)
    path = tmp_path / "out" / "sweep.json"
    write_json(path, results_document(CONFIG, results, verdicts, {"cpu": "test"}))
    config, loaded, machine = load_results(path)
    assert config == CONFIG and loaded == results and machine == {"cpu": "test"}

    # A JSON of an older version of the study is refused, not read with today's defaults.
    document = results_document(CONFIG, results)
    document["config"]["lstm_forget_bias"] = 3.0
    write_json(path, document)
    with pytest.raises(ValueError, match="older version of the study.*lstm_forget_bias"):
        load_results(path)


def test_sweep_config_cells_and_errors():
    config = SweepConfig(models=("lstm",), lengths=(100, 10), seeds=(0, 1))
    assert config.cells() == [
        ("lstm", "recall", 10, 0),
        ("lstm", "recall", 10, 1),
        ("lstm", "recall", 100, 0),
        ("lstm", "recall", 100, 1),
        ("lstm", "adding", 10, 0),
        ("lstm", "adding", 10, 1),
        ("lstm", "adding", 100, 0),
        ("lstm", "adding", 100, 1),
    ]
    with pytest.raises(ValueError, match="choose from simple_rnn, lstm, gru, transformer"):
        SweepConfig(models=("rnn",))
    with pytest.raises(ValueError, match="multiple of check_every"):
        SweepConfig(max_steps=30, check_every=20)
