"""The fill-mask training step: logits at every position against logits at the masked ones.

`recipes.fill_mask`'s model (the `transformer` `small` preset, no tuning, vocabulary 8,000)
and its compile (`FILL_MASK.compile`, the recipe's defaults), one batch of 32 rows of 128
tokens (`[start]` + 127 random ids: 4,096 tokens) masked once by `MaskedLMMaskGenerator`
(15 %: 20 tokens a row), in its two forms:

- `full_logits`: `(token_ids (B, T), labels (B, T))`: the model's logits at all `T`
  positions, the loss at the labelled ones (the step before `zoo.models.masked_positions`);
- `masked_only`: `({"token_ids", "mask_positions"}, mask_ids (B, M), mask_weights (B, M))`:
  the hidden states gathered at the `M` masked positions before the output projection.

Two models of the same weights (built from one seed), one per form; first a check that both
forms give the same loss for the same weights, then `train_on_batch` (fit()'s compiled step,
optimizer update included) of each, taking turns (`benchmarks.side_by_side`), after warm-up
steps that trace; the figure is the median over `--steps` steps each, and the ratio
`full_logits / masked_only` (> 1: the masked step is faster).

    python -m benchmarks.mlm_step                       # 10 steps each, the recipe's settings
    python -m benchmarks.mlm_step --steps 3 --preset tiny --vocab-size 400    # seconds

Writes `mlm_step.json` to `--output-dir`. TensorFlow (the recipe's pipeline is tf.data).
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys

import keras
import numpy as np

import zoo
from benchmarks.side_by_side import time_interleaved, write_json
from zoo.analysis.machine import describe_machine, machine_line
from zoo.special_ids import START_ID
from zoo.tasks import fill_mask as filling

FORMS = ("full_logits", "masked_only")


def masked_batch(batch_size: int, length: int, vocab_size: int, seed: int):
    """`{form: (x, y[, sample_weight])}`: one batch of full-length rows masked once."""
    import tensorflow as tf

    rng = np.random.default_rng(seed)
    rows = rng.integers(filling.MASK_ID + 1, vocab_size, size=(batch_size, length - 1))
    rows = np.concatenate([np.full((batch_size, 1), START_ID), rows], axis=1).astype("int32")
    tf.random.set_seed(seed)
    masked = filling.mask_rows(
        filling.mask_generator(vocab_size), tf.RaggedTensor.from_tensor(rows)
    )
    return {
        "full_logits": filling.training_batch(masked, masked_only=False),
        "masked_only": filling.training_batch(masked),
    }


def build(settings, seed: int):
    keras.utils.set_random_seed(seed)
    model = zoo.build(
        "transformer", task="mlm", preset=settings.preset, vocab_size=settings.vocab_size
    )
    filling.FILL_MASK.compile(model, jit_compile=settings.jit_compile)
    return model


def same_loss(models: dict, batches: dict) -> dict:
    """Each form's compiled loss on its batch at the same weights, dropout off."""
    losses = {}
    for form, (x, y, *weights) in batches.items():
        model = models[form]
        predictions = model(x, training=False)
        loss = model.compute_loss(x=x, y=y, y_pred=predictions, sample_weight=weights or None)
        losses[form] = float(loss)
    return losses


def measure(settings) -> dict:
    batches = masked_batch(settings.batch_size, settings.length, settings.vocab_size, settings.seed)
    models = {form: build(settings, settings.seed) for form in FORMS}
    losses = same_loss(models, batches)
    contenders = {
        form: (lambda form=form: models[form].train_on_batch(*batches[form])) for form in FORMS
    }
    load_before = os.getloadavg()
    timing = time_interleaved(
        contenders, repeats=settings.steps, warmup=settings.warmup, min_sample_seconds=0.0
    )
    load_after = os.getloadavg()
    milliseconds = {form: 1000 * timing["median_seconds"][form] for form in FORMS}
    inputs = batches["masked_only"][0]
    return {
        "model": {
            "family": "transformer",
            "preset": settings.preset,
            "vocab_size": settings.vocab_size,
            "weights": models["full_logits"].count_params(),
            "config_changes": "none (the recipe's fill_mask model: no tuning)",
            "jit_compile": settings.jit_compile,
        },
        "batch": {
            "rows": settings.batch_size,
            "length": settings.length,
            "tokens": settings.batch_size * settings.length,
            "masked_per_row": int(inputs["mask_positions"].shape[1]),
            "masked_tokens": int(np.asarray(batches["masked_only"][2]).sum()),
        },
        "loss_at_equal_weights": losses,
        "steps_timed": settings.steps,
        "warmup_steps": settings.warmup,
        "median_ms_per_step": {form: round(value, 1) for form, value in milliseconds.items()},
        "ms_per_step": {
            form: [round(1000 * s, 1) for s in timing["seconds"][form]] for form in FORMS
        },
        "ratio_full_over_masked": round(
            milliseconds["full_logits"] / milliseconds["masked_only"], 3
        ),
        "load_average_before_after": [round(load_before[0], 2), round(load_after[0], 2)],
    }


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n")[0], epilog="Writes mlm_step.json to --output-dir."
    )
    parser.add_argument("--steps", type=int, default=10, help="timed steps of each form")
    parser.add_argument("--warmup", type=int, default=2, help="untimed steps of each form first")
    parser.add_argument("--preset", default="small", help="the transformer's size preset")
    parser.add_argument("--vocab-size", type=int, default=8000)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--length", type=int, default=128, help="tokens per row, [start] included")
    parser.add_argument(
        "--jit-compile", action="store_true", help="XLA (the recipe's default: off)"
    )
    parser.add_argument(
        "--mixed-precision",
        action="store_true",
        help="mixed_bfloat16 (`recipes.fill_mask --mixed-precision true`; default float32)",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output-dir", default="docs/results")
    return parser.parse_args(argv)


def main(argv=None) -> dict:
    settings = parse_args(argv)
    if keras.config.backend() != "tensorflow":
        raise SystemExit("benchmarks.mlm_step needs the TensorFlow backend (tf.data masking).")
    machine = describe_machine()
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy("mixed_bfloat16" if settings.mixed_precision else "float32")
    try:
        result = measure(settings)
        result["model"]["dtype_policy"] = keras.config.dtype_policy().name
    finally:
        keras.config.set_dtype_policy(previous)
    document = {
        "machine": machine_line(machine),
        "command": shlex.join(
            ["python", "-m", "benchmarks.mlm_step", *(sys.argv[1:] if argv is None else argv)]
        ),
        **result,
    }
    full, masked = (result["median_ms_per_step"][form] for form in FORMS)
    print(
        f"{document['machine']}; {result['batch']['tokens']} tokens, "
        f"{result['batch']['masked_tokens']} masked; losses {result['loss_at_equal_weights']}"
    )
    print(
        f"full logits {full:.1f} ms/step, masked only {masked:.1f} ms/step: "
        f"{result['ratio_full_over_masked']:.2f} x (medians of {settings.steps} steps each)"
    )
    print(f"Wrote {write_json(document, settings.output_dir, 'mlm_step.json')}")
    return document


if __name__ == "__main__":
    main()
