"""`pip install` gives a working `zoo` command outside the checkout.

A fresh virtual environment, away from the checkout, gets the project by a plain (not
editable) `pip install` of a copy of its sources. To keep the test to a minute, the
dependencies are not downloaded again: a `.pth` file puts this environment's site-packages
at the end of the new one's path (a path line only: this environment's own `.pth` files,
its editable install of zoo among them, are not run). The installed `zoo` then runs from a
folder outside the checkout, and must be the installed copy, not the checkout's.
"""

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import keras
import pytest

import zoo
from zoo.data import ByteTokenizer

REPOSITORY = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """`(the installed zoo command, its environment variables, a folder to run it in)`."""
    folder = tmp_path_factory.mktemp("install")
    source = folder / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPOSITORY / name, source / name)
    shutil.copytree(
        REPOSITORY / "zoo", source / "zoo", ignore=shutil.ignore_patterns("__pycache__")
    )
    venv = folder / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    site_packages = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    ours = sysconfig.get_paths()["purelib"]
    Path(site_packages, "project_dependencies.pth").write_text(ours + "\n")
    subprocess.run(
        [python, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation"]
        + ["--no-index", str(source)],
        check=True,
        cwd=folder,
    )
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "TF_CPP_MIN_LOG_LEVEL")}
    env["KERAS_BACKEND"] = "tensorflow"
    workdir = folder / "elsewhere"
    workdir.mkdir()
    return venv / "bin" / "zoo", env, workdir


def run(installed, *arguments):
    command, env, workdir = installed
    return subprocess.run(
        [str(command), *map(str, arguments)],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_help_and_list_run_quietly_from_the_installed_copy(installed):
    command, _, workdir = installed
    shown = run(installed, "--help")
    assert shown.returncode == 0, shown.stderr
    for name in ("list", "info", "export", "predict", "serve"):
        assert name in shown.stdout
    # No TensorFlow start-up lines (CUDA, oneDNN, CPU instructions).
    assert shown.stderr == ""
    listed = run(installed, "list", "--json")
    assert listed.returncode == 0 and listed.stderr == ""
    assert sorted(json.loads(listed.stdout)) == zoo.list_models()
    where = subprocess.run(
        [str(command.parent / "python"), "-c", "import zoo; print(zoo.__file__)"],
        cwd=workdir,
        capture_output=True,
        text=True,
    )
    assert not where.stdout.strip().startswith(str(REPOSITORY)), where.stdout


# What `zoo --help` and its usage errors run, in the installed copy: the console script's
# `from zoo.cli import main`, then `main(argv)` up to argparse's exit.
HELP_IMPORTS = """
import sys
from zoo.cli import main
for argv in (["--help"], ["list", "--help"], ["predict", "--help"], ["predict"], ["nothing"]):
    try:
        main(argv)
    except SystemExit:
        pass
print(sorted(name for name in ("keras", "tensorflow") if name in sys.modules))
"""


def test_help_and_usage_errors_import_neither_tensorflow_nor_keras(installed):
    command, env, workdir = installed
    shown = subprocess.run(
        [str(command.parent / "python"), "-c", HELP_IMPORTS],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.strip().splitlines()[-1] == "[]", shown.stdout[-2000:]


@pytest.mark.skipif(keras.config.backend() != "tensorflow", reason="the preset is saved on TF")
def test_info_and_predict_on_a_tiny_preset(installed, tmp_path):
    keras.utils.set_random_seed(2)
    tokenizer = ByteTokenizer()
    model = zoo.build("lstm", task="lm", preset="tiny", vocab_size=tokenizer.vocabulary_size)
    zoo.attach(model, tokenizer)
    folder = zoo.save_to_preset(model, tmp_path / "tiny", family="lstm")
    info = run(installed, "info", folder, "--json")
    assert info.returncode == 0, info.stderr
    assert json.loads(info.stdout)["task"] == "lm"
    answered = run(
        installed, "predict", folder, "ab", "--max-new-tokens", 3, "--temperature", 0, "--json"
    )
    assert answered.returncode == 0, answered.stderr
    assert json.loads(answered.stdout) == model.generate(["ab"], max_new_tokens=3, temperature=0.0)
    failed = run(installed, "predict", tmp_path / "nothing", "ab")
    assert failed.returncode == 1 and failed.stderr.count("\n") == 1
