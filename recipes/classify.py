"""Text classification: labelled text -> zoo.build(task="classify") -> fit -> score -> export.

    python -m recipes.classify                                   # generated reviews
    python -m recipes.classify --data ../shared/data/sst2/train.tsv --time-budget 1200
    python -m recipes.classify --data ../shared/data/sst2/train.tsv --model lstm
    python -m recipes.classify --data ../shared/data/sst2/train.tsv \\
        --pretrained runs/fill_mask --time-budget 1200          # fine-tune an mlm encoder

`--data` is any UTF-8 `text<TAB>label` file with a header line (GLUE's format); class names
come from the labels (SST-2's 0/1 are named negative/positive). The held-out sets are whole
sentences, with every phrase found only inside them kept out of training (SST-2 lists each
sentence's sub-phrases as rows of their own): validation picks the best epoch, the test
set is scored once at the end. `--pretrained RUN_DIR` starts from the encoder and the
tokenizer that `recipes/fill_mask.py` saved in RUN_DIR. Every field of the family's config
is also a flag (`--num-layers`, `--hidden-dim`, `--dropout`, ...).
"""

from __future__ import annotations

import dataclasses

import zoo
from zoo.data.labelled_text import TEST_SHARE, VALIDATION_SHARE
from zoo.runs import RunSettings, parse_settings, run_main, setting, start_run, write_results
from zoo.runs.classify import SAMPLES, evaluate, export, load_data, tokenizer_for, train
from zoo.training.optimizers import OPTIMIZERS

# The models: the registry's tuning `"classify"` on the `--preset` size (config flags still
# win); see `zoo.list_tunings(family)`.


@dataclasses.dataclass
class Settings(RunSettings):
    """The recipe's flags (model config fields come separately, as `overrides`)."""

    data: str | None = setting(
        None, "a text<TAB>label file with a header line (default: generated reviews)"
    )
    vocab_size: int = setting(8000, "SentencePiece pieces")
    sequence_length: int = setting(
        64, "ids read per text, [start] included; longer texts are cut (training and export)"
    )
    batch_size: int = setting(64, "texts per batch")
    learning_rate: float | None = setting(
        None, "peak learning rate (default 5e-4, lstm 1e-3, 1e-4 with --pretrained)"
    )
    warmup_steps: int = setting(200, "linear warm-up steps")
    steps_per_epoch: int | None = setting(
        None, "training steps between validations (default: one pass over the training rows)"
    )
    weight_decay: float = setting(0.01, "weight decay (off biases and norms)")
    optimizer: str = setting(
        "adamw",
        "muon: Muon for the weight matrices, AdamW for embeddings, vectors, output layer",
        choices=OPTIMIZERS,
    )
    validation_share: float = setting(
        VALIDATION_SHARE, "share of whole sentences held out to pick the best epoch"
    )
    test_share: float = setting(TEST_SHARE, "share of whole sentences held out for the score")
    class_names: tuple[str, ...] | None = setting(
        None, "names of the labels in sorted order (SST-2: negative positive)"
    )
    pretrained: str | None = setting(
        None, "a recipes.fill_mask --run-dir: fine-tune its encoder (and use its tokenizer)"
    )
    generated_examples: int = setting(20000, "reviews to generate when no --data is given")
    mixed_precision: bool | str = setting(False)
    out: str = setting("saved_models/classify")
    run_dir: str = setting("runs/classify")


def run(settings: Settings | None = None, **overrides) -> dict:
    """Train, evaluate and export; returns the figures (also written to `run_dir`)."""
    settings = settings or Settings()
    overrides = {**zoo.list_tunings(settings.model).get("classify", {}), **overrides}
    run_dir = start_run(settings, overrides, recipe=__name__)
    splits, data_card = load_data(settings)
    tokenizer = tokenizer_for(settings, splits["train"].texts, run_dir)
    model, figures = train(settings, overrides, run_dir, tokenizer, splits)
    scores = evaluate(settings, model, tokenizer, splits)
    metrics = {
        "test_accuracy": scores["test"]["accuracy"],
        "validation_accuracy": scores["validation"]["accuracy"],
        "test_confusion_matrix": scores["test"]["confusion_matrix"],
        "pretrained": settings.pretrained,
        **{k: v for k, v in figures.items() if k not in ("history", "curve")},
    }
    class_names = splits["train"].class_names
    exported = export(settings, model, tokenizer, run_dir, data_card, metrics, class_names)
    outputs = exported["checks"][0]["outputs"] if exported else None
    result = {
        "settings": dataclasses.asdict(settings),
        "overrides": overrides,
        "metrics": metrics,
        "scores": scores,
        "curve": figures["curve"],
        "export": exported and exported["export"],
        "export_agrees_with_model": exported and exported["agrees"],
        "samples": outputs
        and {
            text: {"label": label, "probabilities": [round(p, 4) for p in row]}
            for text, label, row in zip(SAMPLES, outputs["label"], outputs["probabilities"])
        },
    }
    write_results(run_dir, result)
    return result


def parse_args(argv=None) -> tuple[Settings, dict]:
    """Recipe flags plus one flag per config field of the chosen `--model`."""
    settings, overrides, _ = parse_settings(Settings, argv, doc=__doc__, task="classify")
    return settings, overrides


def main(argv=None) -> None:
    settings, overrides = parse_args(argv)
    result = run(settings, **overrides)
    exported = f"exported to {result['export']}" if result["export"] else "not exported"
    print(f"\nTest accuracy {result['metrics']['test_accuracy']:.4f}; {exported}.")


if __name__ == "__main__":
    run_main(main)
