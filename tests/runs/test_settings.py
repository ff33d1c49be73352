"""Flags made from a settings dataclass, `--config` replay, and what a run folder says a run
is (new, continued, finished)."""

import dataclasses
import json

import pytest

from zoo.runs import RunSettings, parse_settings, setting
from zoo.runs.settings import read_settings, settings_parser, write_settings
from zoo.runs.training import run_state


@dataclasses.dataclass
class Settings(RunSettings):
    sequence_length: int = setting(64, "tokens per example")
    learning_rate: float | None = setting(None, "peak rate (default: the family's)")
    prompts: tuple[str, ...] = setting(("", "The "), "prompts of the samples")
    shuffle: bool = setting(True, "shuffle the training data")
    run_dir: str = setting("runs/test")


def parse(argv, task="lm"):
    return parse_settings(Settings, argv, doc="A recipe.\n\nMore.", task=task)


def test_every_field_is_a_flag_with_its_help_and_default(capsys):
    with pytest.raises(SystemExit):
        parse(["--help"])
    shown = " ".join(capsys.readouterr().out.split())
    assert "--sequence-length SEQUENCE_LENGTH tokens per example (default: 64)" in shown
    assert "--learning-rate LEARNING_RATE peak rate (default: the family's)" in shown
    assert "--shuffle, --no-shuffle shuffle the training data (default: True)" in shown
    assert "(default: '' 'The ')" in shown
    # A field that only changes its default keeps its parent's help.
    assert "--run-dir RUN_DIR the run folder" in shown and "(default: runs/test)" in shown
    assert "--resume" not in shown  # not a flag: the run folder decides


def test_flags_become_settings_and_config_fields_become_overrides():
    settings, overrides, _ = parse(
        ["--sequence-length", "32", "--prompts", "a", "b", "--no-shuffle", "--num-layers", "2"]
    )
    assert (settings.sequence_length, settings.prompts, settings.shuffle) == (32, ("a", "b"), False)
    assert overrides == {"num_layers": 2}
    assert parse([])[0] == Settings()


def test_config_fields_that_mean_nothing_for_the_task_are_not_offered():
    names = lambda task: {  # noqa: E731
        action.dest for action in settings_parser(Settings, doc="d", task=task)._actions
    }
    assert "config_num_classes" not in names("seq2seq") | names("lm")
    assert "config_num_features" not in names("seq2seq")
    assert "config_num_decoder_layers" in names("seq2seq")
    assert "config_num_decoder_layers" not in names("lm")
    with pytest.raises(SystemExit):
        parse(["--num-outputs", "3"], task="seq2seq")


def test_config_replays_a_run_and_flags_beside_it_win(tmp_path):
    recorded, overrides, _ = parse(["--sequence-length", "16", "--model", "lstm", "--seed", "4"])
    overrides = {"hidden_dim": 24}
    write_settings(tmp_path, recorded, overrides, recipe="recipes.test")
    assert read_settings(tmp_path)["overrides"] == {"hidden_dim": 24}
    settings, replayed, _ = parse(["--config", str(tmp_path / "settings.json"), "--seed", "5"])
    assert (settings.model, settings.sequence_length, settings.seed) == ("lstm", 16, 5)
    assert replayed == {"hidden_dim": 24}
    assert settings.prompts == ("", "The ")  # a tuple again after JSON
    # A results.json holds "settings" and "overrides" too.
    (tmp_path / "results.json").write_text(
        json.dumps({"settings": {"steps_unknown": 1}, "overrides": {}})
    )
    with pytest.raises(SystemExit):
        parse(["--config", str(tmp_path / "results.json")])
    with pytest.raises(FileNotFoundError, match="--config takes"):
        read_settings(tmp_path / "nothing.json")


def test_a_run_folder_decides_new_continued_or_finished(tmp_path):
    settings = Settings(run_dir=str(tmp_path))
    assert run_state(tmp_path, settings, {}) == "new"
    write_settings(tmp_path, settings, {})
    (tmp_path / "backup").mkdir()
    (tmp_path / "backup" / "state.json").write_text(json.dumps({"epoch": 2, "weights": "w"}))
    assert run_state(tmp_path, settings, {}) == "resume"
    # Where it exports and how long this process trains may change; what it trains may not.
    assert run_state(tmp_path, dataclasses.replace(settings, out="x", time_budget=9), {}) == (
        "resume"
    )
    with pytest.raises(ValueError, match=r"other settings \(sequence_length\).*--config"):
        run_state(tmp_path, dataclasses.replace(settings, sequence_length=8), {})
    with pytest.raises(ValueError, match=r"other settings \(model config\)"):
        run_state(tmp_path, settings, {"hidden_dim": 8})
    # Finished: fit() removed the backup, the recipe wrote its results.
    (tmp_path / "backup" / "state.json").unlink()
    (tmp_path / "results.json").write_text("{}")
    with pytest.raises(ValueError, match="holds a finished run.*--restart"):
        run_state(tmp_path, settings, {})
    (tmp_path / "backup" / "state.json").write_text(json.dumps({"epoch": 2, "weights": "w"}))
    assert run_state(tmp_path, dataclasses.replace(settings, restart=True), {}) == "new"
    assert not (tmp_path / "backup").exists() and not (tmp_path / "results.json").exists()
