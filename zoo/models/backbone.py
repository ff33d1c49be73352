"""Backbones: the body every task model is built on, and what fine-tuning reuses.

keras-hub's shape: a task model is a backbone plus a head. In zoo, `model.backbone` is a
`keras.Model` from the task model's inputs to its body's output (the hidden states before
the head), made of the task model's own layers — the same objects, so the same weights. A
new task model built on it (`zoo.build(name, task=..., backbone=model.backbone)`) takes
those layer objects and adds its own head: fine-tuning starts from the pre-trained weights
with nothing copied.

The task models stay flat functional models (their layers at the top level, as before), so
`.keras` checkpoints written before backbones existed load unchanged, with identical
outputs, and a model's weights are created in the same order from the same seed.

| kind | families' task models | its tasks |
|---|---|---|
| `encoder_decoder` | seq2seq | `seq2seq` |
| `decoder` | lm | `lm` |
| `encoder` | mlm, classify | `mlm`, `classify` |
| `feature_encoder` | regress | `regress` |
"""

from __future__ import annotations

import keras

from zoo import registry
from zoo.models.base import ZooModel

TASKS_OF_KIND = {
    "encoder_decoder": ("seq2seq",),
    "decoder": ("lm",),
    "encoder": ("mlm", "classify"),
    "feature_encoder": ("regress",),
}


def kind_of_task(task: str) -> str:
    return next(kind for kind, tasks in TASKS_OF_KIND.items() if task in tasks)


@keras.saving.register_keras_serializable(package="zoo")
class Backbone(ZooModel):
    """A task model's body: its inputs -> the hidden states its head reads.

    Attributes:
        family: the registry family (`"transformer"`, `"lstm"`, ...).
        kind: `"encoder_decoder"`, `"decoder"`, `"encoder"` or `"feature_encoder"`.
        layer_names: the attributes that hold its layers (`encoder_embedding`,
            `encoder_blocks`, ...), which a task model built on it takes.

    Saved alone (`backbone.save(...)`), it reloads by rebuilding its family's model from the
    config and taking that model's backbone.
    """

    def __init__(self, *args, family=None, kind=None, layers=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.family = family
        self.kind = kind
        self.layer_names = tuple(layers or {})
        for name, value in (layers or {}).items():
            setattr(self, name, value)

    def get_config(self):
        return {**super().get_config(), "family": self.family, "kind": self.kind}

    @classmethod
    def from_config(cls, config):
        fields = dict(config["config"])
        task = fields.pop("task")
        return registry.build(config["family"], task=task, **fields).backbone


def reuse_layers(model, backbone: Backbone | None, config) -> bool:
    """Give `model` the backbone's layers (same objects) when there is one; True if it did.
    The backbone must be of the model's family and kind."""
    if backbone is None:
        return False
    family = getattr(model, "cell_type", None) or "transformer"
    if backbone.family != family or backbone.kind != kind_of_task(config.task):
        raise ValueError(
            f"A {backbone.family} {backbone.kind} backbone cannot carry a {family} "
            f"{config.task} model."
        )
    for name in backbone.layer_names:
        setattr(model, name, getattr(backbone, name))
    return True


def make_backbone(model, config, inputs, outputs, layer_names, family, backbone=None):
    """`model`'s backbone: `backbone` when the model was built on one, else a new view from
    `inputs` to `outputs` over the model's layers."""
    if backbone is not None:
        return backbone
    return Backbone(
        inputs=inputs,
        outputs=outputs,
        config=config,
        family=family,
        kind=kind_of_task(config.task),
        layers={name: getattr(model, name) for name in layer_names},
        name=f"{family}_{kind_of_task(config.task)}_backbone",
    )
