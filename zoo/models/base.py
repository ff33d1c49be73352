"""What every zoo model shares: its config travels with it, and the task heads."""

from __future__ import annotations

import dataclasses

import keras
from keras import ops


class ZooModel(keras.Model):
    """A functional `keras.Model` built from one frozen dataclass config.

    Subclasses set `config_class`, build their graph in `__init__(config, **kwargs)` and call
    `super().__init__(inputs=..., outputs=..., config=config, **kwargs)`. The config is what
    `get_config()` returns, so a `.keras` file rebuilds the same model (the checkpoint
    carries its config).
    """

    config_class: type = None

    def __init__(self, *args, config=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.config = config

    @classmethod
    def coerce_config(cls, config):
        if isinstance(config, dict):
            return cls.config_class(**config)
        if not isinstance(config, cls.config_class):
            raise TypeError(
                f"{cls.__name__} takes a {cls.config_class.__name__} (or its dict), "
                f"received {type(config).__name__}."
            )
        return config

    def get_config(self):
        # Not chained to super(): a functional model's config is its graph, which the
        # constructor does not take.
        return {
            "name": self.name,
            "trainable": self.trainable,
            "config": dataclasses.asdict(self.config),
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        return cls(config.pop("config"), **config)


def token_ids_input(name="token_ids"):
    return keras.Input(shape=(None,), dtype="int32", name=name)


def features_input(num_features, name="features"):
    return keras.Input(shape=(None, num_features), dtype="float32", name=name)


def feature_padding_mask(features):
    """For real-valued sequences a step is padding when all its features are 0.0 (the
    `keras.layers.Masking` convention): pad with zeros, keep real steps non-zero."""
    return ops.any(ops.not_equal(features, 0.0), axis=-1)


def to_float32(tensor):
    """Logits and predictions leave the model in float32, whatever the compute dtype."""
    return ops.cast(tensor, "float32")


def pooled_head(config, pooled):
    """`classify`: class logits; `regress`: real values — from a pooled `(B, d)` vector."""
    if config.task == "classify":
        return keras.layers.Dense(config.num_classes, name="classifier")(pooled)
    return keras.layers.Dense(config.num_outputs, name="regressor")(pooled)
