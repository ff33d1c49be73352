"""The `zoo` command's list, info, export and predict (zoo.commands), in process: answers
compared with the model's own methods, info with the files it reads, errors in one line."""

import json
import subprocess
import sys

import keras
import numpy as np
import pytest

import zoo
from zoo import cli
from zoo.data import ByteTokenizer


@pytest.fixture(scope="module")
def tiny_preset(tmp_path_factory):
    """An untrained byte-level language model as a preset folder, and the model itself."""
    keras.utils.set_random_seed(5)
    tokenizer = ByteTokenizer()
    model = zoo.build("transformer", task="lm", preset="tiny", vocab_size=tokenizer.vocabulary_size)
    zoo.attach(model, tokenizer, context_length=16)
    folder = tmp_path_factory.mktemp("presets") / "tiny_lm"
    zoo.save_to_preset(
        model,
        folder,
        family="transformer",
        data={"name": "nothing", "licence": "none"},
        metrics={"loss": 2.5},
    )
    return folder, model


def zoo_command(capsys, *argv):
    status = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return status, out, err


def test_list_names_every_family_with_its_tasks_presets_and_tunings(capsys):
    status, out, _ = zoo_command(capsys, "list", "--json")
    assert status == 0
    listed = json.loads(out)
    assert sorted(listed) == zoo.list_models()
    for name, family in listed.items():
        assert family["tasks"] == list(zoo.list_tasks(name))
        assert family["presets"] == list(zoo.list_presets(name))
        assert family["tunings"] == list(zoo.list_tunings(name))
    status, out, _ = zoo_command(capsys, "list")
    assert status == 0 and out.splitlines()[0] == zoo.list_models()[0]
    assert "  presets: " in out and "tiny" in out


def test_info_of_a_preset_reads_its_metadata(capsys, tiny_preset):
    folder, _ = tiny_preset
    status, out, _ = zoo_command(capsys, "info", folder, "--json")
    assert status == 0
    info = json.loads(out)
    assert (info["kind"], info["task"], info["family"]) == ("preset", "lm", "transformer")
    assert info["metrics"] == {"loss": 2.5} and info["data"]["licence"] == "none"
    assert info["methods"] == ["generate", "score"]
    status, out, _ = zoo_command(capsys, "info", folder)
    assert "a preset" in out and "task: lm" in out and "loss: 2.5" in out


def test_info_of_a_run_folder_says_whether_it_finished(capsys, tmp_path):
    run = tmp_path / "run"
    (run / "backup").mkdir(parents=True)
    settings = {"settings": {"model": "lstm", "steps": 8}, "overrides": {"hidden_dim": 32}}
    (run / "settings.json").write_text(json.dumps({"recipe": "recipes.char_lm", **settings}))
    (run / "backup" / "state.json").write_text(json.dumps({"epoch": 3, "weights": "w.h5"}))
    info = json.loads(zoo_command(capsys, "info", run, "--json")[1])
    assert info["kind"] == "run" and info["recipe"] == "recipes.char_lm"
    assert info["family"] == "lstm" and info["overrides"] == {"hidden_dim": 32}
    assert "after 3 epochs" in info["status"]
    (run / "results.json").write_text(json.dumps({"metrics": {"loss": 1.0}, **settings}))
    info = json.loads(zoo_command(capsys, "info", run, "--json")[1])
    assert info["status"] == "finished" and info["metrics"] == {"loss": 1.0}


def test_predict_answers_as_the_model_does(capsys, tiny_preset):
    folder, model = tiny_preset
    prompts = ["the ", "a"]
    expected = model.generate(prompts, max_new_tokens=5, temperature=0.0)
    status, out, _ = zoo_command(
        capsys, "predict", folder, *prompts, "--max-new-tokens", 5, "--temperature", 0, "--json"
    )
    assert status == 0 and json.loads(out) == expected
    status, out, _ = zoo_command(
        capsys, "predict", folder, "the ", "--max-new-tokens", 5, "--temperature", 0
    )
    assert out == f"the  -> {expected[0]}\n"
    status, out, _ = zoo_command(capsys, "predict", folder, "the cat", "--score", "--json")
    scores = json.loads(out)
    np.testing.assert_allclose(
        scores[0]["log_likelihood"], model.score(["the cat"])[0]["log_likelihood"], rtol=1e-5
    )


def test_errors_are_one_line_and_debug_shows_the_traceback(capsys, tiny_preset, tmp_path):
    folder, _ = tiny_preset
    status, out, err = zoo_command(capsys, "predict", folder, "x", "--beam-width", 2)
    assert status == 1 and out == ""
    assert err == (
        f"zoo predict: error: --beam-width: not a setting of generate (the lm model at {folder}).\n"
    )
    status, _, err = zoo_command(capsys, "info", tmp_path / "missing")
    assert status == 1 and err.count("\n") == 1 and "Nothing at" in err
    with pytest.raises(FileNotFoundError):
        cli.main(["info", str(tmp_path / "missing"), "--debug"])


@pytest.mark.skipif(keras.config.backend() != "tensorflow", reason="exports need TensorFlow")
def test_export_of_a_preset_then_info_and_predict_of_the_export(capsys, tiny_preset, tmp_path):
    folder, model = tiny_preset
    out_folder = tmp_path / "saved"
    status, out, err = zoo_command(capsys, "export", folder, "--out", out_folder, "--version", 3)
    assert status == 0, err
    assert sorted(p.name for p in out_folder.iterdir()) == ["3"]
    info = json.loads(zoo_command(capsys, "info", out_folder, "--json")[1])
    assert (info["kind"], info["task"], info["versions"]) == ("export", "lm", [3])
    assert "generate" in info["signatures"]
    status, out, _ = zoo_command(
        capsys, "predict", out_folder, "the ", "--max-new-tokens", 4, "--temperature", 0, "--json"
    )
    assert json.loads(out) == model.generate(["the "], max_new_tokens=4, temperature=0.0)


def test_the_old_export_command_is_an_alias_of_zoo_export():
    import subprocess
    import sys
    from pathlib import Path

    shown = subprocess.run(
        [sys.executable, "-m", "recipes.export", "--help"],
        cwd=Path(__file__).resolve().parents[1],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.startswith("usage: zoo export [-h] [--out OUT] [--version VERSION]")


def test_predict_on_a_missing_folder_fails_before_importing_tensorflow(tmp_path):
    script = (
        "import sys\n"
        "from zoo import cli\n"
        f"status = cli.main(['predict', {str(tmp_path / 'missing')!r}, 'x'])\n"
        "print(status, 'tensorflow' in sys.modules, 'keras' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.stdout.split() == ["1", "False", "False"]
    assert "zoo predict: error: Nothing at" in done.stderr
