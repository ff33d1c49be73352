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

    # --- Text in, text out: `model.preprocessor` (keras-hub's shape) ---------------------
    # A model answers text once a preprocessor is attached: `zoo.from_preset(path)` and
    # `zoo.load(path)` attach the one it was saved with; in code, `zoo.attach(model,
    # tokenizer, **options)`. The preprocessor (`zoo.tasks`) does the work; this room only
    # forwards to it.

    @property
    def preprocessor(self):
        return self.__dict__.get("_zoo_preprocessor")

    @preprocessor.setter
    def preprocessor(self, preprocessor):
        if preprocessor is not None:
            preprocessor.check_model(self)
        # Kept outside Keras's attribute tracking: a preprocessor has no weights and is
        # saved by `zoo.save_to_preset`, not in `.keras` checkpoints (old ones load as before).
        object.__setattr__(self, "_zoo_preprocessor", preprocessor)

    def _text_method(self, method: str):
        preprocessor = self.preprocessor
        if preprocessor is None:
            raise ValueError(
                f"This model has no preprocessor, so it cannot `{method}` text. Load a trained "
                "model with `zoo.load(path)` or `zoo.from_preset(path)`, or attach its tokenizer "
                "with `zoo.attach(model, tokenizer)`."
            )
        if method not in preprocessor.text_methods:
            raise ValueError(
                f"A {self.config.task} model cannot `{method}`; it can "
                f"{', '.join(f'`{name}`' for name in preprocessor.text_methods)}."
            )
        return getattr(preprocessor, method)

    def translate(self, texts, **settings):
        """`seq2seq`: `texts` translated (`beam_width`, `max_length`); see `zoo.load`."""
        return self._text_method("translate")(self, texts, **settings)

    def generate(self, prompts, **settings):
        """`lm`: each prompt's continuation (`max_new_tokens`, `temperature`, `top_k`,
        `top_p`, `seed`); see `zoo.load`."""
        return self._text_method("generate")(self, prompts, **settings)

    def score(self, texts):
        """`lm`: each text's `{"log_likelihood", "num_tokens"}`."""
        return self._text_method("score")(self, texts)

    def fill_mask(self, texts, **settings):
        """`mlm`: the likeliest fillers of each text's first `[MASK]` (`top_k`)."""
        return self._text_method("fill_mask")(self, texts, **settings)

    def classify(self, texts):
        """`classify`: each text's `{"label", "label_id", "probabilities"}`."""
        return self._text_method("classify")(self, texts)

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


def position_limit(model) -> int | None:
    """The most positions a model can read (`position_encoding="learned"`: its table's
    `max_sequence_length`), or None (sinusoidal positions, recurrent models: no limit)."""
    config = model.config
    if getattr(config, "position_encoding", None) == "learned":
        return int(config.max_sequence_length)
    return None


def within_positions(model, limit: int) -> int:
    """`limit`, cut to the positions `model` can read."""
    positions = position_limit(model)
    return limit if positions is None else min(limit, positions)


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


def masked_pool(sequence, padding_mask, how: str):
    """`(B, T, d)` -> `(B, d)`: the `"max"` or the `"mean"` over the steps where
    `padding_mask` `(B, T)` is true; a row without real steps pools to zeros."""
    real = ops.cast(padding_mask, sequence.dtype)[..., None]
    if how == "mean":
        return ops.sum(sequence * real, axis=1) / ops.maximum(ops.sum(real, axis=1), 1.0)
    if how != "max":
        raise ValueError(f"`how` must be 'max' or 'mean', received {how!r}.")
    lowest = ops.cast(ops.min(sequence) - 1.0, sequence.dtype)  # below every real value
    pooled = ops.max(ops.where(real > 0, sequence, lowest), axis=1)
    return ops.where(ops.any(real > 0, axis=1), pooled, ops.zeros_like(pooled))


def pooled_head(config, pooled):
    """`classify`: class logits; `regress`: real values — from a pooled `(B, d)` vector."""
    if config.task == "classify":
        return keras.layers.Dense(config.num_classes, name="classifier")(pooled)
    return keras.layers.Dense(config.num_outputs, name="regressor")(pooled)
