"""Why the recurrent translators stalled: loss curves of model variants, step by step.

An RNN translator trained with Keras's defaults sits for hundreds of steps at the loss of a
unigram model (it answers the most frequent piece whatever the input; token accuracy 0.09 on
Tatoeba). This trains each variant from the same seed on the same batches of the
translation recipe's pipeline for `--steps` steps and prints the mean loss and the token
accuracy of each window of 25 steps, so that variants can be compared within minutes.

    python -m experiments.translation_plateau --data ../shared/data/fra-eng/fra.txt \\
        --variant base --variant embedding_stddev=1.0,residual=true,bidirectional_encoder=true

A variant is `name` (`base`: the recipe's RNN settings before issue 10: untied, no dropout)
or `field=value,...` of `RecurrentConfig` fields on top of it, with `tokens_per_batch`,
`warmup_steps` and `learning_rate_scale` accepted too. Float32.
"""

from __future__ import annotations

import argparse
import time

import keras
import numpy as np

import zoo
from zoo.data import generate_en_fr_pairs, read_sentence_pairs, split_by_source
from zoo.tasks import translate as translation

BASE = dict(dropout=0.0, share_embeddings=False)
TRAINING = dict(tokens_per_batch=1024, warmup_steps=50, learning_rate_scale=0.4)
WINDOW = 25


def parse_variant(text: str) -> tuple[dict, dict]:
    """`"a=1,b=true"` -> (config overrides, training settings)."""
    config, training = dict(BASE), dict(TRAINING)
    if text == "base":
        return config, training
    for item in text.split(","):
        key, _, value = item.partition("=")
        value = {"true": True, "false": False}.get(value.lower(), value)
        if isinstance(value, str):
            value = float(value) if "." in value or "e" in value else int(value)
        (training if key in TRAINING else config)[key] = value
    return config, training


def curve(model_name, config, training, train_pairs, tokenizer, steps, seed=0):
    """`[(last step, mean loss, mean accuracy)]` per window, and the seconds taken."""
    keras.utils.set_random_seed(seed)
    dataset = translation.make_datasets(
        {"train": train_pairs},
        tokenizer,
        tokens_per_batch=training["tokens_per_batch"],
        max_length=64,
        seed=seed,
    )["train"]
    model = zoo.build(
        model_name, task="seq2seq", preset="small", vocab_size=tokenizer.vocabulary_size, **config
    )
    translation.TRANSLATE.compile(
        model,
        warmup_steps=training["warmup_steps"],
        learning_rate_scale=training["learning_rate_scale"],
        jit_compile=False,
    )
    losses, accuracies = [], []
    for step, (inputs, targets) in enumerate(dataset.take(steps).as_numpy_iterator()):
        logs = model.train_on_batch(inputs, targets, return_dict=True)
        losses.append(logs["loss"])
        accuracies.append(logs["masked_token_accuracy"])
        if step == 0:
            start = time.perf_counter()  # after tracing
    seconds = time.perf_counter() - start
    windows = [
        (
            end,
            float(np.mean(losses[end - WINDOW : end])),
            float(np.mean(accuracies[end - WINDOW : end])),
        )
        for end in range(WINDOW, len(losses) + 1, WINDOW)
    ]
    return windows, seconds


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", help="English<TAB>French pairs (default: embedded corpus)")
    parser.add_argument("--model", default="lstm")
    parser.add_argument("--steps", type=int, default=150)
    parser.add_argument("--variant", action="append", default=None)
    args = parser.parse_args(argv)
    keras.mixed_precision.set_global_policy("float32")
    pairs = (
        read_sentence_pairs(args.data).pairs if args.data else generate_en_fr_pairs(20000, seed=0)
    )
    train_pairs, _, _ = split_by_source(pairs, validation_fraction=0.02, test_fraction=0.05, seed=0)
    tokenizer = translation.train_tokenizer(train_pairs, 8000, seed=0)
    for text in args.variant or ["base"]:
        config, training = parse_variant(text)
        windows, seconds = curve(args.model, config, training, train_pairs, tokenizer, args.steps)
        print(f"{args.model} {text}: {args.steps} steps, {seconds:.0f} s after the first")
        for end, loss, accuracy in windows:
            print(
                f"  steps {end - WINDOW + 1}-{end}: loss {loss:.3f}, token accuracy {accuracy:.3f}"
            )


if __name__ == "__main__":
    main()
