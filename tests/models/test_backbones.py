"""`model.backbone` for every family x task: the task model's own layers up to its head;
task models built on a backbone share its weights; old checkpoints are unaffected."""

import keras
import numpy as np
import pytest

import zoo
from zoo.data.toy_tasks import task_data
from zoo.models.backbone import Backbone, kind_of_task

CASES = [(name, task) for name in zoo.list_models() for task in zoo.list_tasks(name)]


def as_numpy(outputs):
    if isinstance(outputs, dict):
        return {key: np.asarray(value) for key, value in outputs.items()}
    return np.asarray(outputs)


@pytest.mark.parametrize("name, task", CASES)
def test_every_model_has_a_backbone_made_of_its_own_layers(name, task, rng):
    model = zoo.build(name, task=task, preset="tiny")
    backbone = model.backbone
    assert isinstance(backbone, Backbone)
    assert (backbone.family, backbone.kind) == (name, kind_of_task(task))
    model_weights = {id(w) for w in model.weights}
    assert backbone.weights and all(id(w) in model_weights for w in backbone.weights)
    head = [w for w in model.weights if id(w) not in {id(b) for b in backbone.weights}]
    assert len(backbone.weights) + len(head) == len(model.weights)
    inputs, _ = task_data(task, model.config, rng)
    hidden = as_numpy(backbone(inputs, training=False))
    if task in ("seq2seq", "lm"):  # the head is the token projection alone
        logits = keras.ops.cast(model.output_projection(hidden), "float32")
        np.testing.assert_allclose(
            np.asarray(logits), np.asarray(model(inputs, training=False)), atol=1e-6
        )


@pytest.mark.parametrize("name", ["transformer", "lstm"])
def test_a_backbone_saves_and_loads_alone(name, tmp_path, rng):
    model = zoo.build(name, task="mlm", preset="tiny")
    inputs, _ = task_data("mlm", model.config, rng)
    model.backbone.save(tmp_path / "backbone.keras")
    loaded = keras.saving.load_model(tmp_path / "backbone.keras")
    assert isinstance(loaded, Backbone) and loaded.kind == "encoder"
    expected, got = as_numpy(model.backbone(inputs)), as_numpy(loaded(inputs))
    if isinstance(expected, dict):
        for key in expected:
            np.testing.assert_array_equal(got[key], expected[key])
    else:
        np.testing.assert_array_equal(got, expected)


def test_a_language_model_continues_on_a_backbone():
    lm = zoo.build("transformer", task="lm", preset="tiny")
    again = zoo.build("transformer", task="lm", backbone=lm.backbone)
    ids = np.array([[2, 9, 10, 11]], "int32")
    np.testing.assert_array_equal(np.asarray(again.backbone(ids)), np.asarray(lm.backbone(ids)))


def test_building_on_a_backbone_refuses_what_cannot_be_reused():
    mlm = zoo.build("transformer", task="mlm", preset="tiny")
    with pytest.raises(ValueError, match=r"\['num_layers'\] shape the backbone's layers"):
        zoo.build("transformer", task="classify", backbone=mlm.backbone, num_layers=3)
    with pytest.raises(ValueError, match="cannot carry a transformer lm model"):
        zoo.build("transformer", task="lm", backbone=mlm.backbone)
    with pytest.raises(ValueError, match="must be a 'lstm' model's"):
        zoo.build("lstm", task="classify", backbone=mlm.backbone)
    with pytest.raises(ValueError, match="drop preset='small'"):
        zoo.build("transformer", task="classify", preset="small", backbone=mlm.backbone)
