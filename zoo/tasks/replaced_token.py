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


def with_weights_in_inputs(inputs, mask_ids, mask_weights):
    """A masked batch `(inputs, mask_ids, mask_weights)` in the detector's form."""
    return {**inputs, "mask_weights": mask_weights}, mask_ids


def make_dataset(texts: Sequence[str], tokenizer, **options):
    """`zoo.tasks.fill_mask.make_dataset(texts, tokenizer, **options)` (masked form) as
    `({"token_ids" (B, T), "mask_positions" (B, M), "mask_weights" (B, M)}, mask_ids (B, M))`."""
    if options.get("masked_only") is False:
        raise ValueError("Replaced-token detection reads the masked-positions form only.")
    return filling.make_dataset(texts, tokenizer, **options).map(with_weights_in_inputs)


def compile(model, *, jit_compile=False, **options):  # noqa: A001 - the task modules' verb
    """`zoo.tasks.fill_mask.pretraining_optimizer(**options)`, the fill-mask schedule and
    optimiser, for both networks; the loss is `ReplacedTokenDetector.compute_loss`."""
    model.compile(optimizer=filling.pretraining_optimizer(**options), jit_compile=jit_compile)
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
    masked, tokens = totals.get("masked_tokens", 0.0), totals.get("tokens", 0.0)
    result = {"generator_top1": round(totals.get("generator_top1", 0.0) / max(masked, 1.0), 4)}
    result.update({key: round(totals.get(key, 0.0) / max(tokens, 1.0), 4) for key in per_token})
    return {**result, "masked_tokens": int(masked), "tokens": int(tokens)}
