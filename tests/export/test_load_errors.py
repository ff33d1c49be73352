"""What a user loads: `.keras` files load with Keras's `safe_mode=True`, and a damaged
export (a tampered `zoo.json`, a missing tokenizer file) is refused at load by
`recipes/use_exported.py` with a message naming the file and what to do."""

import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import keras
import numpy as np
import pytest

import zoo
from zoo.data.toy_tasks import task_data

CASES = [(name, task) for name in zoo.list_models() for task in zoo.list_tasks(name)]
ROOT = Path(__file__).resolve().parents[2]


def compile_as_recipes_do(model, task):
    """With the task's own compile (losses, metrics, schedules are part of the file)."""
    from zoo.tasks import list_task_products
    from zoo.tasks.base import get_task

    if task in list_task_products():
        return get_task(task).compile(model)
    model.compile(optimizer="adam", loss="mse")  # `regress` has no text product
    return model


@pytest.mark.parametrize("name, task", CASES)
def test_keras_files_load_in_safe_mode(name, task, tmp_path, rng):
    model = compile_as_recipes_do(zoo.build(name, task=task, preset="tiny"), task)
    inputs, _ = task_data(task, model.config, rng)
    model.optimizer.build(model.trainable_variables)  # as in a checkpoint saved by fit()
    path = tmp_path / f"{name}_{task}.keras"
    model.save(path)
    with zipfile.ZipFile(path) as archive:
        saved_config = archive.read("config.json").decode()
    assert '"Lambda"' not in saved_config and "__lambda__" not in saved_config
    reloaded = keras.saving.load_model(path, safe_mode=True)
    assert type(reloaded) is type(model) and reloaded.config == model.config
    np.testing.assert_allclose(
        np.asarray(reloaded(inputs, training=False)),
        np.asarray(model(inputs, training=False)),
        atol=1e-6,
    )
    assert reloaded.loss is not None  # the compile config came back too


def test_safe_mode_would_refuse_a_lambda_layer(tmp_path):
    """The check above has teeth: a file with Python code in it does not load."""
    inputs = keras.Input((3,))
    model = keras.Model(inputs, keras.layers.Lambda(lambda x: x * 2)(inputs))
    model.save(tmp_path / "lambda.keras")
    with pytest.raises(ValueError, match="safe_mode"):
        keras.saving.load_model(tmp_path / "lambda.keras", safe_mode=True)


# --- Damaged exports --------------------------------------------------------------------


@pytest.fixture
def use_exported():
    """The script users serve exports with (it needs TensorFlow, not zoo)."""
    return pytest.importorskip("recipes.use_exported")


@pytest.fixture
def damaged(tiny_exports, tmp_path):
    """`damaged(task)`: a copy of the task's tiny export, to break."""

    def copy(task):
        target = tmp_path / task / "1"
        shutil.copytree(tiny_exports[task].path, target)
        return target

    return copy


def card_of(version):
    return json.loads((version / "assets" / "zoo.json").read_text())


def write_card(version, text):
    (version / "assets" / "zoo.json").write_text(text)


def test_an_intact_export_reads(tiny_exports, use_exported):
    card = use_exported.read_model_card(tiny_exports["classify"].path)
    assert card["task"] == "classify" and card["tokenizer"]["file"] == "assets/sentencepiece.model"
    assert use_exported.read_model_card(tiny_exports["generate"].path)["task"] == "lm"


@pytest.mark.parametrize(
    "tamper, message",
    [
        (
            lambda v: (v / "assets" / "zoo.json").unlink(),
            r"zoo\.json is missing: .* not a complete",
        ),
        (lambda v: write_card(v, '{"task": "lm", '), "is not valid JSON"),
        (lambda v: (v / "assets" / "zoo.json").write_bytes(b"\xff\xfe{}"), "is not UTF-8 text"),
        (lambda v: write_card(v, "[1, 2]"), "must hold a JSON object .*not list"),
        (
            lambda v: write_card(v, json.dumps({**card_of(v), "task": None})),
            "'task' is not a string",
        ),
        (
            lambda v: write_card(
                v, json.dumps({k: x for k, x in card_of(v).items() if k != "task"})
            ),
            "the field 'task' is missing",
        ),
        (
            lambda v: write_card(v, json.dumps({**card_of(v), "task": "banana"})),
            "'banana' is not a zoo task",
        ),
        (
            lambda v: write_card(v, json.dumps({**card_of(v), "tokenizer": "sentencepiece"})),
            "'tokenizer' is not an object",
        ),
        (
            lambda v: (v / "assets" / "sentencepiece.model").unlink(),
            r"sentencepiece\.model is missing",
        ),
    ],
    ids=[
        "card missing",
        "card truncated",
        "card not UTF-8",
        "card a list",
        "task null",
        "task removed",
        "task unknown",
        "tokenizer not an object",
        "tokenizer file missing",
    ],
)
def test_a_damaged_export_is_refused_naming_the_file(damaged, use_exported, tamper, message):
    version = damaged("classify")
    tamper(version)
    with pytest.raises(ValueError, match=message) as error:
        use_exported.read_model_card(version)
    assert str(version) in str(error.value)
    assert "export the model again" in str(error.value)  # and what to do


def test_a_card_of_another_task_is_refused_at_the_signature(damaged, use_exported):
    version = damaged("generate")
    write_card(version, json.dumps({**card_of(version), "task": "seq2seq"}))
    card = use_exported.read_model_card(version)  # a consistent-looking card ...
    with pytest.raises(ValueError, match="has no 'translate' signature .* does not belong"):
        use_exported.load_signature(version, card)  # ... that is not this model's
    write_card(version, json.dumps({**card_of(version), "task": "classify"}))
    with pytest.raises(ValueError, match="a 'classify' export; this script serves"):
        use_exported.load_signature(version, use_exported.read_model_card(version))


@pytest.mark.slow
def test_the_script_prints_one_line_and_exits_1(damaged):
    version = damaged("generate")
    write_card(version, "{")
    completed = subprocess.run(
        [sys.executable, "recipes/use_exported.py", str(version), "hello"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    assert completed.returncode == 1
    assert "Traceback" not in completed.stderr
    (line,) = [x for x in completed.stderr.splitlines() if x.startswith("error:")]
    assert f"{version}/assets/zoo.json is not valid JSON" in line
