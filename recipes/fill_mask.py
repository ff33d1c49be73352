"""Fill in the blank (BERT's masked-token pre-training): text -> zoo.build(task="mlm") -> fit
-> top-1/top-5 on held-out masked tokens -> fills -> export -> reload.

    python -m recipes.fill_mask                                  # generated sentences
    python -m recipes.fill_mask --data ../shared/data/gutenberg --time-budget 1200
    python -m recipes.fill_mask --data ../shared/data/gutenberg,../shared/data/sst2/train.tsv \\
        --model lstm --time-budget 1200
    python -m recipes.fill_mask --objective rtd --data ../shared/data/gutenberg --time-budget 600

`--data` is a folder of Project Gutenberg books (its *.txt), a .txt or .tsv file (the first
column of a .tsv with a header line), or several such paths separated by commas; with books
and a .tsv together, the .tsv rows only train (SST-2's rows overlap: many are sub-phrases of
others) and --validation-share of the books' paragraphs validates. Each
example is [start] + up to --sequence-length - 1 tokens of one paragraph; 15 % of its tokens
are chosen to predict (80 % shown as [MASK], 10 % as a random token, 10 % unchanged). The
run folder keeps what a classifier fine-tunes from: checkpoints/final.keras and
tokenizer/sentencepiece.model (`python -m recipes.classify --pretrained RUN_DIR`). Every
field of the chosen family's config is also a flag (`--num-layers`, `--hidden-dim`, ...).
`--objective rtd` trains ELECTRA's replaced-token detection instead: a generator a quarter as
wide fills the masked positions with its own samples and the model tells, at every token,
original from replaced; checkpoints/final.keras is then its backbone (nothing is exported).
"""

from __future__ import annotations

import dataclasses
import time

import keras

import zoo
from zoo.runs import RunSettings, parse_settings, run_main, setting, start_run, write_results
from zoo.runs.fill_mask import (
    OBJECTIVES,
    SPLITS,
    detector_result,
    evaluate,
    evaluate_detector,
    export,
    load_data,
    tokenizer_for,
    train,
    validation_dataset,
    validation_estimates,
)
from zoo.training.optimizers import OPTIMIZERS


@dataclasses.dataclass
class Settings(RunSettings):
    """The recipe's flags (model config fields come separately, as `overrides`)."""

    objective: str = setting(
        "mlm",
        "mlm: predict the masked tokens; rtd: ELECTRA's replaced-token detection (pre-training "
        "only: nothing to export; recipes.classify --pretrained fine-tunes its backbone)",
        choices=OBJECTIVES,
    )
    data: str | None = setting(
        None,
        "a folder of Gutenberg books, a .txt or .tsv file, or several comma-separated "
        "(default: generated sentences)",
    )
    vocab_size: int = setting(8000, "SentencePiece pieces")
    sequence_length: int = setting(
        128, "tokens per example, [start] included (also the export's max_length)"
    )
    batch_size: int = setting(16, "examples per step")
    learning_rate: float = setting(1e-3, "peak learning rate")
    min_learning_rate: float = setting(1e-4, "learning rate at the end of the cosine decay")
    warmup_steps: int = setting(100, "linear warm-up steps")
    decay_steps: int | None = setting(
        None,
        "cosine decay length (default: --epochs x --steps-per-epoch, or 10000 with --time-budget)",
    )
    weight_decay: float = setting(0.01, "weight decay (off biases and norms)")
    optimizer: str = setting(
        "adamw",
        "muon: Muon for the weight matrices, AdamW for embeddings, vectors, output layer",
        choices=OPTIMIZERS,
    )
    steps_per_epoch: int = setting(500, "steps between validation estimates (a Keras epoch)")
    eval_batches: int = setting(50, "validation batches per estimate in training (all at the end)")
    validation_share: float = setting(
        0.1, "share of paragraphs (or of documents, --split-by document) held out"
    )
    split_by: str = setting("paragraph", "hold out paragraphs or documents", choices=SPLITS)
    generated_examples: int = setting(20000, "sentences to generate when no --data is given")
    top_k: int = setting(5, "fillers shown per blank")
    out: str = setting("saved_models/fill_mask")
    run_dir: str = setting("runs/fill_mask")


def run(settings: Settings | None = None, **overrides) -> dict:
    """Train, evaluate and export; returns the figures (also written to `run_dir`)."""
    settings = settings or Settings()
    overrides = {**zoo.list_tunings(settings.model).get("fill_mask", {}), **overrides}
    run_dir = start_run(settings, overrides, recipe=__name__)
    train_texts, validation_texts, data_card = load_data(settings)
    tokenizer = tokenizer_for(settings, train_texts, run_dir)
    validation = validation_dataset(settings, validation_texts, tokenizer)
    model, figures = train(settings, overrides, run_dir, tokenizer, train_texts, validation)
    history = figures.pop("history")
    if settings.objective == "rtd":  # pre-training only: the backbone, no fills, no export
        scores = evaluate_detector(model, validation)
        result = detector_result(
            settings, overrides, run_dir, tokenizer, data_card, figures, scores, history
        )
        write_results(run_dir, result)
        return result
    scores = evaluate(settings, model, tokenizer, validation)
    metrics = {
        **{f"validation_{k}": v for k, v in scores["validation"].items()},
        **figures,
        "validation_estimate_during_training": validation_estimates(history),
    }
    start = time.perf_counter()
    exported = export(settings, model, tokenizer, run_dir, data_card, metrics, scores["fills"])
    result = {
        "settings": dataclasses.asdict(settings),
        "overrides": overrides,
        "data": data_card,
        "metrics": metrics,
        "fills": scores["fills"],
        "checkpoint": str(run_dir / "checkpoints" / "final.keras"),
        "tokenizer": str(tokenizer.proto_path),
        "export": exported and exported["export"],
        "export_agrees_with_model": exported and exported["agrees"],
        "export_seconds": round(time.perf_counter() - start, 1),
    }
    write_results(run_dir, result)
    return result


def parse_args(argv=None) -> tuple[Settings, dict]:
    """Recipe flags plus one flag per config field of the chosen `--model`."""
    settings, overrides, _ = parse_settings(Settings, argv, doc=__doc__, task="mlm")
    return settings, overrides


def main(argv=None):
    settings, overrides = parse_args(argv)
    keras.utils.set_random_seed(settings.seed)
    run(settings, **overrides)


if __name__ == "__main__":
    run_main(main)
