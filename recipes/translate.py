"""Translate English to French: data -> zoo.build -> fit -> BLEU -> export -> reload.

    python -m recipes.translate                       # embedded corpus, transformer
    python -m recipes.translate --data ../shared/data/fra-eng/fra.txt --time-budget 1200
    python -m recipes.translate --model lstm --num-layers 2 --hidden-dim 256

Every field of the chosen family's config is also a flag (`--num-layers`, `--hidden-dim`,
`--num-heads`, `--dropout`, ...). Trains on a GPU when TensorFlow sees one, with no change.
"""

from __future__ import annotations

import dataclasses

import keras
import numpy as np

import zoo
from zoo.runs import RunSettings, parse_settings, run_main, setting, start_run, write_results
from zoo.runs.translate import (
    SAMPLES,
    evaluate,
    export,
    load_data,
    tokenizer_for,
    train,
    with_demo,
    with_family_defaults,
)
from zoo.training.seq2seq import SEQ2SEQ_OPTIMIZERS

# `--demo`: `make demo` — the embedded corpus, a model that learns it in about two minutes.
DEMO = dict(
    time_budget=80.0,
    generated_examples=10000,
    vocab_size=1000,
    sequence_length=32,
    tokens_per_batch=2048,
    warmup_steps=150,
    learning_rate_scale=2.0,
    test_examples=200,
)
# The models: the registry's tunings `"translate"` and `"translate_demo"` (`zoo list`); the
# training settings left at None take the family's (`zoo.runs.translate.RECIPE_TRAINING`).


@dataclasses.dataclass
class Settings(RunSettings):
    """The recipe's flags (model config fields come separately, as `overrides`)."""

    data: str | None = setting(
        None, "tab-separated English<TAB>French pairs (default: the embedded corpus)"
    )
    tokens_per_batch: int | None = setting(
        None, "batch size in tokens, as the paper batches (default: 4096, RNNs 1024)"
    )
    vocab_size: int = setting(8000, "pieces in the shared SentencePiece vocabulary")
    sequence_length: int = setting(64, "longest sequence in tokens (training, decoding, export)")
    beam_width: int = setting(4, "1 decodes greedily")
    length_penalty: float = setting(0.6, "beam search alpha (the paper's)")
    no_repeat_ngram_size: int = setting(0, "no n-gram of this size twice (0: off)")
    informal_share: float = setting(
        0.0, "share of training sources lower-cased, without final punctuation (as typed)"
    )
    warmup_steps: int | None = setting(None, "learning-rate warm-up steps (default: 400, RNNs 50)")
    learning_rate_scale: float | None = setting(
        None,
        "multiplies the paper's schedule (d_model^-0.5 min(step^-0.5, step warmup^-1.5)), "
        "a multiplier, not a rate (default: 1.0, RNNs 0.4)",
    )
    optimizer: str = setting(
        "adam",
        "muon: Muon for the weight matrices, Adam for embeddings, biases and norms",
        choices=SEQ2SEQ_OPTIMIZERS,
    )
    ema_momentum: float = setting(0.99, "keep a moving average of the weights (0: off)")
    generated_examples: int = setting(20000, "pairs to generate when no --data is given")
    test_examples: int = setting(500, "held-out English sentences to score")
    out: str = setting("saved_models/translate_en_fr")
    run_dir: str = setting("runs/translate")


def run(settings: Settings | None = None, **overrides) -> dict:
    """Train, evaluate and export; returns the figures (also written to `run_dir`)."""
    settings = with_family_defaults(settings or Settings())
    overrides = {**zoo.list_tunings(settings.model).get("translate", {}), **overrides}
    run_dir = start_run(settings, overrides, recipe=__name__)
    train_pairs, validation_pairs, test_pairs, data_card = load_data(settings)
    tokenizer = tokenizer_for(settings, train_pairs, run_dir)
    model, figures = train(settings, overrides, run_dir, tokenizer, train_pairs, validation_pairs)
    scores = evaluate(settings, model, tokenizer, test_pairs, run_dir)
    english, heatmap = scores.pop("english"), scores.pop("heatmap", None)
    metrics = {
        **scores,
        "beam_width": settings.beam_width,
        **{k: v for k, v in figures.items() if k != "history"},
    }
    exported, translations = export(
        settings, model, tokenizer, run_dir, data_card, metrics, english
    )
    if exported:
        metrics["export_sentences_per_second_batch_64"] = exported["timing"]["items_per_second"]
    result = {
        "settings": dataclasses.asdict(settings),
        "overrides": overrides,
        "metrics": metrics,
        "export": exported and exported["export"],
        "export_agrees_with_model": exported and exported["agrees"],
        "heatmap": heatmap,
        "samples": dict(zip(SAMPLES, translations)),
    }
    write_results(run_dir, result)
    return result


def parse_args(argv=None) -> tuple[Settings, dict]:
    """Recipe flags plus one flag per config field of the chosen `--model`; `--demo`."""
    demo = lambda parser: parser.add_argument(  # noqa: E731
        "--demo",
        action="store_true",
        help="make demo: embedded corpus, a 2+2-layer d=128 transformer, ~2 min of training "
        "(explicit flags still win)",
    )
    settings, overrides, arguments = parse_settings(
        Settings, argv, doc=__doc__, task="seq2seq", add_flags=demo
    )
    if arguments["demo"]:
        settings, overrides = with_demo(settings, arguments, DEMO, overrides)
    return settings, overrides


def main(argv=None):
    settings, overrides = parse_args(argv)
    keras.utils.set_random_seed(settings.seed)
    np.set_printoptions(precision=3)
    run(settings, **overrides)


if __name__ == "__main__":
    run_main(main)
