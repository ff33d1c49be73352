"""A next-character language model: text -> zoo.build(task="lm") -> fit -> samples -> export.

    python -m recipes.char_lm                                   # generated corpus, transformer
    python -m recipes.char_lm --data ../shared/data/tinyshakespeare/input.txt
    python -m recipes.char_lm --data input.txt --model lstm --time-budget 300

The defaults are nanoGPT's `train_shakespeare_char` CPU configuration: 4 layers, 4 heads,
width 128, context 64, batch 12, 2,000 steps, learning rate 1e-3 with warm-up and cosine
decay to 1e-4, no dropout. Text is read as UTF-8 bytes (one token per ASCII character);
the first 90 % trains, the last 10 % validates. Every field of the chosen family's config
is also a flag (`--num-layers`, `--hidden-dim`, ...). Killed or crashed, the same command
again continues the run from its backup.
"""

from __future__ import annotations

import dataclasses
import time

import keras
import numpy as np

from zoo.data import ByteTokenizer
from zoo.runs import RunSettings, parse_settings, run_main, setting, start_run, write_results
from zoo.runs.char_lm import evaluate, export, load_text, train, whole_rounds
from zoo.training.optimizers import OPTIMIZERS

# The models: the registry's tuning `"char_lm"` on the `--preset` size (config flags still
# win; for the Transformer, nanoGPT's model); see `zoo.list_tunings(family)`.


@dataclasses.dataclass
class Settings(RunSettings):
    """The recipe's flags (model config fields come separately, as `overrides`)."""

    data: str | None = setting(None, "a UTF-8 text file (default: generated sentences)")
    # XLA: 12 % less training time at the same loss for nanoGPT's configuration (docs/generate.md).
    jit_compile: bool = setting(True, "compile train steps with XLA (--no-jit-compile: off)")
    sequence_length: int = setting(64, "characters of context per training window")
    batch_size: int = setting(12, "windows per step")
    steps: int = setting(2000, "training steps (the schedule's length)")
    steps_per_epoch: int = setting(250, "steps between validation estimates (a Keras epoch)")
    eval_windows: int = setting(240, "validation windows per estimate in training (all at the end)")
    learning_rate: float = setting(1e-3, "peak learning rate")
    min_learning_rate: float = setting(1e-4, "learning rate at the end of the cosine decay")
    warmup_steps: int = setting(100, "linear warm-up steps")
    weight_decay: float = setting(0.1, "weight decay (off biases and norms)")
    optimizer: str = setting(
        "adamw",
        "muon: Muon for the weight matrices, AdamW for embeddings, vectors, output layer",
        choices=OPTIMIZERS,
    )
    sample_tokens: int = setting(300, "characters per sample at the end")
    temperature: float = setting(0.8, "temperature of the samples")
    prompts: tuple[str, ...] = setting(("", "The "), "prompts of the samples")
    mixed_precision: bool | str = setting(False)
    generated_examples: int = setting(20000, "sentences to generate when no --data is given")
    out: str = setting("saved_models/char_lm")
    run_dir: str = setting("runs/char_lm")


def run(settings: Settings | None = None, **overrides) -> dict:
    """Train, evaluate and export; returns the figures (also written to `run_dir`)."""
    settings = settings or Settings()
    run_dir = start_run(settings, overrides, recipe=__name__)
    train_text, validation_text, data_card = load_text(settings)
    tokenizer = ByteTokenizer()
    train_ids, val_ids = (
        np.array(ids, "int32") for ids in tokenizer.encode([train_text, validation_text])
    )
    model, figures = train(settings, overrides, run_dir, tokenizer, train_ids, val_ids)
    history = figures.pop("history")
    scores = evaluate(settings, model, tokenizer, val_ids)
    metrics = {**{k: v for k, v in scores.items() if k != "samples"}, **figures}
    metrics.pop("samples_during_training")
    metrics["validation_estimate_during_training"] = history.get("val_loss", [])
    start = time.perf_counter()
    exported = export(settings, model, tokenizer, run_dir, data_card, metrics)
    export_seconds = round(time.perf_counter() - start, 1)
    result = {
        "settings": dataclasses.asdict(settings),
        "overrides": overrides,
        "metrics": metrics,
        "samples": scores["samples"],
        "samples_during_training": figures["samples_during_training"],
        "export": exported and exported["export"],
        "export_agrees_with_model": exported and exported["agrees"],
        "export_seconds": export_seconds,
    }
    write_results(run_dir, result)
    return result


def parse_args(argv=None) -> tuple[Settings, dict]:
    """Recipe flags plus one flag per config field of the chosen `--model`."""
    settings, overrides, _ = parse_settings(
        Settings, argv, doc=__doc__, task="lm", check=whole_rounds
    )
    return settings, overrides


def main(argv=None):
    settings, overrides = parse_args(argv)
    keras.utils.set_random_seed(settings.seed)
    run(settings, **overrides)


if __name__ == "__main__":
    run_main(main)
