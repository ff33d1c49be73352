"""Preset folders: `from_preset(save_to_preset(model))` is the same model, every family x task,
on whichever backend runs the suite (`make test` runs this file on TensorFlow and on JAX);
and a preset written on one backend loads on the other with the same outputs."""

import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest

import zoo
from zoo.data.toy_tasks import task_data

CASES = [(name, task) for name in zoo.list_models() for task in zoo.list_tasks(name)]


def trained_weights(model):
    """Move every weight off its initial value, so that a load that kept the fresh weights
    of a rebuilt model cannot pass."""
    rng = np.random.default_rng(3)
    for variable in model.weights:
        value = np.asarray(variable)
        variable.assign(value + rng.normal(0.0, 0.02, value.shape).astype(value.dtype))
    return model


@pytest.mark.parametrize("name, task", CASES)
def test_from_preset_gives_back_the_same_model(name, task, tmp_path, rng):
    model = trained_weights(zoo.build(name, task=task, preset="tiny"))
    inputs, _ = task_data(task, model.config, rng)
    expected = np.asarray(model(inputs, training=False))

    folder = zoo.save_to_preset(model, tmp_path / "preset", metrics={"loss": 1.5})
    loaded = zoo.from_preset(folder)

    assert type(loaded) is type(model)
    assert loaded.config == model.config
    assert loaded.count_params() == model.count_params()
    np.testing.assert_array_equal(np.asarray(loaded(inputs, training=False)), expected)
    metadata = json.loads((folder / "metadata.json").read_text())
    assert (metadata["family"], metadata["task"]) == (name, task)
    assert metadata["metrics"] == {"loss": 1.5}
    assert metadata["libraries"]["keras"] == keras.__version__


def test_a_preset_is_replaced_whole_and_atomically(tmp_path):
    first = trained_weights(zoo.build("gru", task="lm", preset="tiny"))
    second = zoo.build("gru", task="lm", preset="tiny")
    folder = zoo.save_to_preset(first, tmp_path / "p")

    class Boom(Exception):
        pass

    def failing_save(path):
        raise Boom

    second.save_weights = failing_save  # a crash in the middle of writing
    with pytest.raises(Boom):
        zoo.save_to_preset(second, folder)
    ids = np.array([[2, 5, 9, 3]], "int32")
    np.testing.assert_array_equal(np.asarray(zoo.from_preset(folder)(ids)), np.asarray(first(ids)))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p"]  # no temporary left behind


def test_damaged_half_written_and_foreign_folders_get_errors_naming_the_file(tmp_path):
    folder = zoo.save_to_preset(zoo.build("lstm", task="lm", preset="tiny"), tmp_path / "p")
    with pytest.raises(FileNotFoundError, match="No preset folder.*registry configuration"):
        zoo.from_preset("small")
    (folder / "model.weights.h5").write_bytes(b"not an h5 file")
    with pytest.raises(ValueError, match="model.weights.h5"):
        zoo.from_preset(folder)
    (folder / "config.json").write_text("{half")
    with pytest.raises(ValueError, match="config.json is damaged"):
        zoo.from_preset(folder)
    (folder / "config.json").write_text(json.dumps({"format": "keras-hub"}))
    with pytest.raises(ValueError, match="not a zoo preset"):
        zoo.from_preset(folder)
    (folder / "metadata.json").unlink()
    with pytest.raises(FileNotFoundError, match="metadata.json is missing"):
        zoo.from_preset(folder)
    with pytest.raises(FileExistsError, match="not a preset folder"):
        (tmp_path / "other").mkdir()
        (tmp_path / "other" / "notes.txt").write_text("mine")
        zoo.save_to_preset(zoo.build("lstm", task="lm", preset="tiny"), tmp_path / "other")


def test_a_model_without_preprocessor_says_how_to_get_one():
    model = zoo.build("transformer", task="lm", preset="tiny")
    with pytest.raises(ValueError, match="zoo.attach"):
        model.generate(["hello"])


OTHER_BACKEND = {"tensorflow": "jax", "jax": "tensorflow"}
LOAD_AND_PREDICT = """
import sys, numpy as np, zoo
model = zoo.from_preset(sys.argv[1])
np.save(sys.argv[3], np.asarray(model(np.load(sys.argv[2]), training=False)))
"""


@pytest.mark.slow
@pytest.mark.parametrize("name", ["transformer", "lstm"])
def test_a_preset_written_on_one_backend_loads_on_the_other(name, tmp_path, rng):
    """Weights and config are backend-free: the other backend's outputs agree to float32
    rounding (its kernels differ)."""
    backend = keras.config.backend()
    other = OTHER_BACKEND.get(backend)
    if other is None:
        pytest.skip(f"no other backend to check against {backend}")
    model = trained_weights(zoo.build(name, task="lm", preset="tiny"))
    ids = np.array([[2, 7, 8, 9, 3, 0], [2, 11, 3, 0, 0, 0]], "int32")
    folder = zoo.save_to_preset(model, tmp_path / "preset")
    np.save(tmp_path / "ids.npy", ids)
    environment = {**os.environ, "KERAS_BACKEND": other}
    subprocess.run(
        [
            sys.executable,
            "-c",
            LOAD_AND_PREDICT,
            str(folder),
            tmp_path / "ids.npy",
            tmp_path / "o.npy",
        ],
        check=True,
        env=environment,
        timeout=300,
    )
    np.testing.assert_allclose(
        np.load(tmp_path / "o.npy"), np.asarray(model(ids, training=False)), atol=1e-5
    )
