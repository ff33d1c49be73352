"""Replaced-token detection (ELECTRA) as a pre-training objective beside masked-LM.

Not a product of its own (nothing is exported): what it leaves is an encoder backbone that
`recipes.classify --pretrained` fine-tunes (`zoo.tasks.classify.from_pretrained_encoder`
takes a backbone as it takes an `mlm` model). The model is
`zoo.models.replaced_token.ReplacedTokenDetector`; this module gives it text and a
compile step.

- `make_dataset(texts, tokenizer, ...)`: `zoo.tasks.fill_mask.make_dataset`'s masked batches
  (the same rows, BERT's masking, the same seeds), their weights moved among the inputs:
  `({"token_ids", "mask_positions", "mask_weights"}, mask_ids)`.
- `compile(model, ...)`: the fill-mask schedule and optimiser (AdamW or Muon); the loss is
  the model's own (`compute_loss`).
- `evaluate(model, dataset)`: the generator's top-1 at the masked positions and the
  discriminator's accuracy and loss at every real token, over the whole dataset.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
import tensorflow as tf
from keras import ops

from zoo.tasks import fill_mask as filling
from zoo.training.optimizers import make_optimizer


def with_weights_in_inputs(inputs, mask_ids, mask_weights):
    """A masked batch `(inputs, mask_ids, mask_weights)` in the detector's form."""
    return {**inputs, "mask_weights": mask_weights}, mask_ids


def make_dataset(texts: Sequence[str], tokenizer, **options):
    """`zoo.tasks.fill_mask.make_dataset(texts, tokenizer, **options)` (masked form) as
    `({"token_ids" (B, T), "mask_positions" (B, M), "mask_weights" (B, M)}, mask_ids (B, M))`."""
    if options.get("masked_only") is False:
        raise ValueError("Replaced-token detection reads the masked-positions form only.")
    return filling.make_dataset(texts, tokenizer, **options).map(with_weights_in_inputs)


def compile(  # noqa: A001 - the task modules' verb
    model,
    *,
    learning_rate: float = 1e-3,
    min_learning_rate: float = 1e-4,
    warmup_steps: int = 100,
    decay_steps: int = 10000,
    weight_decay: float = 0.01,
    beta_2: float = 0.999,
    clipnorm: float | None = 1.0,
    optimizer: str = "adamw",
    jit_compile=False,
):
    """The fill-mask recipe's optimiser and schedule (warm-up, cosine decay) for both
    networks; the loss is `ReplacedTokenDetector.compute_loss`."""
    model.compile(
        optimizer=make_optimizer(
            optimizer,
            learning_rate,
            warmup_steps=warmup_steps,
            decay="cosine",
            decay_steps=decay_steps,
            min_learning_rate=min_learning_rate,
            weight_decay=weight_decay,
            beta_2=beta_2,
            clipnorm=clipnorm,
        ),
        jit_compile=jit_compile,
    )
    return model


def evaluate(model, dataset) -> dict:
    """Over every batch: `{"generator_top1", "detection_accuracy", "discriminator_loss",
    "replaced_share", "masked_tokens", "tokens"}`, each a mean over masked positions or real
    tokens (not over batches). The generator samples afresh, so the discriminator's figures
    vary a little from call to call. On TensorFlow one `tf.function` step."""
    per_token = ("detection_accuracy", "discriminator_loss", "replaced_share")

    def step(inputs, labels):
        terms = model.objective_terms(inputs, labels, model(inputs, training=False))
        masked = ops.sum(ops.cast(inputs["mask_weights"], "float32"))
        tokens = ops.sum(ops.cast(ops.not_equal(inputs["token_ids"], 0), "float32"))
        sums = {key: terms[key] * tokens for key in per_token}
        return {
            **sums,
            "generator_top1": terms["generator_accuracy"] * masked,
            "masked_tokens": masked,
            "tokens": tokens,
        }

    if keras.config.backend() == "tensorflow":
        step, batches = tf.function(step, reduce_retracing=True), dataset
    else:
        batches = dataset.as_numpy_iterator()
    totals = {}
    for inputs, labels in batches:
        for key, value in step(inputs, labels).items():
            totals[key] = totals.get(key, 0.0) + float(value)
    masked, tokens = max(totals.get("masked_tokens", 0.0), 1.0), max(totals.get("tokens", 0.0), 1.0)
    result = {"generator_top1": round(totals.get("generator_top1", 0.0) / masked, 4)}
    result.update({key: round(totals.get(key, 0.0) / tokens, 4) for key in per_token})
    return {**result, "masked_tokens": int(masked), "tokens": int(tokens)}
