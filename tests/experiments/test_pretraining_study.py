"""The pre-training study's bookkeeping: every arm gets the same total budget, pre-training
included; curves start where pre-training ended; the table's mean and standard error."""

import pytest

from experiments import pretraining_study as study


def fake_recipe(calls):
    def recipe(name, flags, run_dir, reuse=False):
        calls.append((name, flags, run_dir))
        if name == "fill_mask":
            return {"metrics": {"train_seconds": 100.5, "train_steps": 40, "validation_x": 1}}
        return {
            "metrics": {
                "train_seconds": 259.0,
                "train_steps": 90,
                "test_accuracy": 0.75,
                "validation_accuracy": 0.76,
            },
            "curve": [(30.0, 0.6), (60.0, 0.7)],
        }

    return recipe


@pytest.mark.parametrize("arm", ["mlm", "rtd"])
def test_fine_tuning_gets_what_pre_training_left_of_the_budget(arm, monkeypatch, tmp_path):
    calls = []
    monkeypatch.setattr(study, "recipe", fake_recipe(calls))
    args = study.parse_args(["--minutes", "6", "--runs", str(tmp_path)])
    result = study.run_arm(arm, 2, args)
    (pretrain, pre_flags, pre_dir), (classify, flags, _) = calls
    assert (pretrain, classify) == ("fill_mask", "classify")
    assert pre_flags[pre_flags.index("--objective") + 1] == arm
    assert pre_flags[pre_flags.index("--time-budget") + 1] == "180.0"  # half of 6 minutes
    assert flags[flags.index("--time-budget") + 1] == "259.5"  # 360 - 100.5 used
    assert flags[flags.index("--pretrained") + 1] == str(pre_dir)
    assert flags[flags.index("--learning-rate") + 1] == "0.0005"  # from scratch's rate
    assert flags[flags.index("--seed") + 1] == "2" and "--norm-first" not in flags
    assert result["curve"] == [(round(130.5 / 60, 2), 0.6), (round(160.5 / 60, 2), 0.7)]
    assert result["pretrain_validation"] == {"validation_x": 1}


def test_from_scratch_takes_the_whole_budget_with_the_backbones_architecture(monkeypatch, tmp_path):
    calls = []
    monkeypatch.setattr(study, "recipe", fake_recipe(calls))
    result = study.run_arm("none", 0, study.parse_args(["--minutes", "5", "--runs", str(tmp_path)]))
    [(name, flags, _)] = calls
    assert name == "classify" and flags[flags.index("--time-budget") + 1] == "300.0"
    assert "--pretrained" not in flags and "--learning-rate" not in flags
    assert flags[flags.index("--norm-first") + 1] == "true"
    assert result["curve"] == [(0.5, 0.6), (1.0, 0.7)] and result["pretrain_seconds"] == 0


def test_table_mean_and_standard_error_by_hand():
    runs = [{"arm": "none", "test_accuracy": a} for a in (0.70, 0.74, 0.78)]
    runs.append({"arm": "mlm", "test_accuracy": 0.8})
    rows = study.table(runs)
    # mean 0.74; sample standard deviation 0.04; / sqrt(3) = 0.0231
    assert rows["none"] == {
        "test_accuracies": [0.70, 0.74, 0.78],
        "mean": 0.74,
        "standard_error": 0.0231,
    }
    assert rows["mlm"]["standard_error"] is None
