"""Replaced-token detection (ELECTRA, Clark et al. 2020): pre-training with a loss at every token.

A small generator — a zoo `mlm` model — fills the masked positions of a BERT-masked batch
with tokens sampled from its own predictions. The discriminator — the encoder being
pre-trained, a zoo `Backbone` with a one-logit head per position — reads the result and tells,
at every real token, whether it is the original or a replacement. Both train together on
`generator loss + discriminator_weight x discriminator loss` (the paper's 50); nothing flows
back through the sampling, so the generator learns from its own masked-LM loss alone. After
pre-training the generator is dropped and the discriminator's backbone fine-tunes like any
other (`zoo.tasks.classify.from_pretrained_encoder`).

Masked-LM scores the 15 % of positions that were masked; the discriminator is scored at
every position — the paper's reason that it learns more per step, most of all in small models.
A position whose sample happens to be the original token counts as original (as in the paper).

Inputs: `{"token_ids" (B, T), "mask_positions" (B, M), "mask_weights" (B, M)}` — the masked
batches of `zoo.tasks.fill_mask.make_dataset` with their weights among the inputs
(`zoo.tasks.replaced_token.make_dataset`); positions are distinct within a row, and the
padding slots of ragged rows have weight 0. Labels: `mask_ids (B, M)`, the original tokens at
the positions. `call()` returns a dict: `generator_logits (B, M, V)`, `sampled_ids (B, M)`,
`corrupted_ids (B, T)` and `discriminator_logits (B, T)`; `compute_loss` reads it (any
backend: no custom `train_step`).
"""

from __future__ import annotations

import dataclasses

import keras
from keras import ops

from zoo import registry
from zoo.models.backbone import Backbone
from zoo.special_ids import MASK_ID, PAD_ID

# The paper's weight of the discriminator's loss (it is ~50x smaller per token).
DISCRIMINATOR_WEIGHT = 50.0
# The paper's generators work best at 1/4 to 1/2 of the discriminator's width.
GENERATOR_SIZE = 0.25
# Ids a sample never takes: padding, unknown, start, end, [MASK] (0-4).
LAST_SPECIAL_ID = MASK_ID


def replace_at_positions(token_ids, positions, new_ids, valid):
    """`token_ids (B, T)` with `new_ids (B, M)` written at `positions (B, M)` where `valid
    (B, M)`; positions must be distinct within a row. Returns `(ids (B, T), written (B, T)
    bool)`."""
    length = ops.shape(token_ids)[1]
    one_hot = ops.one_hot(ops.cast(positions, "int32"), length, dtype="int32")  # (B, M, T)
    one_hot = one_hot * ops.cast(valid, "int32")[:, :, None]
    written = ops.max(one_hot, axis=1) > 0  # (B, T)
    values = ops.sum(one_hot * ops.cast(new_ids, "int32")[:, :, None], axis=1)
    return ops.where(written, values, ops.cast(token_ids, "int32")), written


@keras.saving.register_keras_serializable(package="zoo")
class ReplacedTokenDetector(keras.Model):
    """ELECTRA's generator and discriminator, trained together by `fit()`.

    Args:
        generator: a zoo `mlm` model (the masked-positions path is what it runs).
        discriminator: an `encoder` `Backbone` (`zoo.build(..., task="mlm").backbone`) of the
            same vocabulary: what fine-tuning takes afterwards.
        discriminator_weight: the discriminator loss's weight in the total (50, the paper's).
        temperature: of the generator's softmax when sampling (1: as it predicts).
        seed: of the sampling.
    """

    def __init__(
        self,
        generator,
        discriminator,
        discriminator_weight: float = DISCRIMINATOR_WEIGHT,
        temperature: float = 1.0,
        seed: int | None = None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if getattr(getattr(generator, "config", None), "task", None) != "mlm":
            raise ValueError(
                "The generator must be a zoo `mlm` model (`zoo.build(name, task='mlm')`); "
                f"received {type(generator).__name__}."
            )
        if not isinstance(discriminator, Backbone) or discriminator.kind != "encoder":
            raise ValueError(
                "The discriminator must be an encoder backbone (`zoo.build(name, task='mlm')"
                f".backbone`); received {type(discriminator).__name__}."
            )
        if generator.config.vocab_size != discriminator.config.vocab_size:
            raise ValueError(
                f"The generator's vocabulary ({generator.config.vocab_size}) and the "
                f"discriminator's ({discriminator.config.vocab_size}) must be the same."
            )
        if temperature <= 0:
            raise ValueError(f"`temperature` must be > 0; received {temperature}.")
        self.generator = generator
        self.discriminator = discriminator
        self.detection_head = keras.layers.Dense(1, name="detection_head")
        self.detection_head.build((None, None, discriminator.config.hidden_dim))
        self.discriminator_weight = float(discriminator_weight)
        self.temperature = float(temperature)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.generator_loss = keras.metrics.Mean(name="generator_loss")
        self.discriminator_loss = keras.metrics.Mean(name="discriminator_loss")
        self.generator_accuracy = keras.metrics.Mean(name="generator_accuracy")
        self.detection_accuracy = keras.metrics.Mean(name="detection_accuracy")
        self.replaced_share = keras.metrics.Mean(name="replaced_share")
        self.built = True

    def sample(self, generator_logits):
        """One token per position `(B, M)` from the generator's softmax (no special id)."""
        logits = ops.cast(generator_logits, "float32") / self.temperature
        vocabulary = ops.shape(logits)[-1]
        special = ops.arange(vocabulary) <= LAST_SPECIAL_ID
        logits = ops.where(special, -1e9, logits)
        flat = ops.reshape(logits, (-1, vocabulary))
        drawn = keras.random.categorical(flat, 1, seed=self.seed_generator, dtype="int32")
        return ops.stop_gradient(ops.reshape(drawn, ops.shape(logits)[:-1]))

    def detect(self, token_ids, training=None):
        """The discriminator's replaced-token logits `(B, T)` for `token_ids (B, T)`."""
        hidden = self.discriminator(token_ids, training=training)
        return ops.cast(ops.squeeze(self.detection_head(hidden), axis=-1), "float32")

    def call(self, inputs, training=None):
        token_ids = ops.cast(inputs["token_ids"], "int32")
        positions = ops.cast(inputs["mask_positions"], "int32")
        valid = ops.cast(inputs["mask_weights"], "float32") > 0
        generator_logits = self.generator(
            {"token_ids": token_ids, "mask_positions": positions}, training=training
        )
        sampled = self.sample(generator_logits)
        corrupted, _ = replace_at_positions(token_ids, positions, sampled, valid)
        return {
            "generator_logits": ops.cast(generator_logits, "float32"),
            "sampled_ids": sampled,
            "corrupted_ids": corrupted,
            "discriminator_logits": self.detect(corrupted, training=training),
        }

    def objective_terms(self, x, y, y_pred) -> dict:
        """The two losses and the figures `fit()` shows, from a batch and `call()`'s output."""
        weights = ops.cast(x["mask_weights"], "float32")
        labels = ops.cast(y, "int32")
        logits = y_pred["generator_logits"]
        per_slot = ops.sparse_categorical_crossentropy(labels, logits, from_logits=True)
        total_weight = ops.maximum(ops.sum(weights), 1.0)
        generator_loss = ops.sum(per_slot * weights) / total_weight
        hits = ops.cast(ops.equal(ops.argmax(logits, axis=-1), labels), "float32")
        generator_accuracy = ops.sum(hits * weights) / total_weight

        replaced_slots = ops.not_equal(y_pred["sampled_ids"], labels) & (weights > 0)
        positions = ops.cast(x["mask_positions"], "int32")
        _, replaced = replace_at_positions(
            x["token_ids"], positions, y_pred["sampled_ids"], replaced_slots
        )
        replaced = ops.cast(replaced, "float32")  # (B, T): 1 where a token was replaced
        real = ops.cast(ops.not_equal(x["token_ids"], PAD_ID), "float32")
        detection_logits = y_pred["discriminator_logits"]
        per_token = ops.binary_crossentropy(
            replaced[..., None], detection_logits[..., None], from_logits=True
        )[..., 0]
        tokens = ops.maximum(ops.sum(real), 1.0)
        discriminator_loss = ops.sum(per_token * real) / tokens
        right = ops.cast(ops.equal(ops.cast(detection_logits > 0, "float32"), replaced), "float32")
        return {
            "generator_loss": generator_loss,
            "discriminator_loss": discriminator_loss,
            "generator_accuracy": generator_accuracy,
            "detection_accuracy": ops.sum(right * real) / tokens,
            "replaced_share": ops.sum(replaced * real) / tokens,
        }

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        terms = self.objective_terms(x, y, y_pred)
        for name, value in terms.items():
            getattr(self, name).update_state(value)
        loss = terms["generator_loss"] + self.discriminator_weight * terms["discriminator_loss"]
        for extra in self.losses:  # weight regularisers, if any
            loss = loss + ops.cast(ops.sum(extra), "float32")
        return loss

    def get_config(self):
        return {
            "name": self.name,
            "generator": keras.saving.serialize_keras_object(self.generator),
            "discriminator": keras.saving.serialize_keras_object(self.discriminator),
            "discriminator_weight": self.discriminator_weight,
            "temperature": self.temperature,
            "seed": self.seed,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        for part in ("generator", "discriminator"):
            config[part] = keras.saving.deserialize_keras_object(config[part])
        return cls(**config)


def generator_fields(config, size: float = GENERATOR_SIZE) -> dict:
    """The generator's config fields: the discriminator's, with its widths (`hidden_dim`,
    `intermediate_dim`) times `size` and as many heads as keep each head's width."""
    if not 0 < size <= 1:
        raise ValueError(f"The generator's size must be in (0, 1]; received {size}.")
    fields = {}
    hidden = max(8, int(round(config.hidden_dim * size)))
    fields["hidden_dim"] = hidden
    if hasattr(config, "intermediate_dim"):
        fields["intermediate_dim"] = max(8, int(round(config.intermediate_dim * size)))
    if hasattr(config, "num_heads"):
        heads = max(1, int(round(config.num_heads * size)))
        while hidden % heads:
            heads -= 1
        fields["num_heads"] = heads
    return fields


def build_replaced_token_detector(
    family: str = "transformer",
    *,
    generator_size: float = GENERATOR_SIZE,
    discriminator_weight: float = DISCRIMINATOR_WEIGHT,
    seed: int | None = None,
    **fields,
) -> ReplacedTokenDetector:
    """A discriminator `zoo.build(family, task="mlm", **fields).backbone` and a generator of
    the same family and depth, `generator_size` times as wide (`generator_fields`).

    Args:
        family: a registry family with an `mlm` task (`transformer`, `lstm`, ...).
        **fields: `preset` and config fields of the discriminator (`vocab_size`, ...).
    """
    discriminator = registry.build(family, task="mlm", **fields).backbone
    generator_config = dataclasses.asdict(discriminator.config)
    generator_config.pop("task")
    generator_config.update(generator_fields(discriminator.config, generator_size))
    generator = registry.build(family, task="mlm", **generator_config)
    return ReplacedTokenDetector(
        generator,
        discriminator,
        discriminator_weight=discriminator_weight,
        seed=seed,
        name=f"{family}_replaced_token_detector",
    )
