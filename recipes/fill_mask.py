"""Fill in the blank (BERT's masked-token pre-training): text -> zoo.build(task="mlm") -> fit
-> top-1/top-5 on held-out masked tokens -> fills -> export -> reload.

    python -m recipes.fill_mask                                  # generated sentences
    python -m recipes.fill_mask --data ../shared/data/gutenberg --time-budget 1200
    python -m recipes.fill_mask --data ../shared/data/gutenberg,../shared/data/sst2/train.tsv \\
        --model lstm --time-budget 1200

`--data` is a folder of Project Gutenberg books (its *.txt), a .txt or .tsv file (the first
column of a .tsv with a header line), or several such paths separated by commas; with books
and a .tsv together, the .tsv rows only train (SST-2's rows overlap: many are sub-phrases of
others) and --validation-share of the books' paragraphs validates. Each
example is [start] + up to --sequence-length - 1 tokens of one paragraph; 15 % of its tokens
are chosen to predict (80 % shown as [MASK], 10 % as a random token, 10 % unchanged). The
run folder keeps what a classifier fine-tunes from: checkpoints/final.keras and
tokenizer/sentencepiece.model (`python -m recipes.classify --pretrained RUN_DIR`). Every
field of the chosen family's config is also a flag (`--num-layers`, `--hidden-dim`, ...).
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import keras

import zoo
from zoo.data import SubwordTokenizer, read_labelled_text, split_by_sentence
from zoo.data.books import (
    corpus_card,
    generated_paragraphs,
    read_paragraph_corpus,
    split_corpus,
)
from zoo.data.labelled_text import TEST_SHARE, VALIDATION_SHARE
from zoo.runs import (
    RunSettings,
    describe_model,
    fit_model,
    model_scope,
    parse_settings,
    run_main,
    run_tokenizer,
    setting,
    start_run,
    write_results,
)
from zoo.runs import export as exporting
from zoo.tasks import fill_mask as filling

SPLITS = ("paragraph", "document")
# The seed's sentence, then blanks that only the words after them decide.
FILL_SENTENCES = (
    "The glass of water is [MASK] and it is sitting on the table.",
    "She opened the [MASK] and walked out into the garden.",
    "He drank a cup of [MASK] with milk and sugar.",
    "The [MASK] barked at the stranger all night.",
    "It was so cold that the river had [MASK] over.",
)


@dataclasses.dataclass
class Settings(RunSettings):
    """The recipe's flags (model config fields come separately, as `overrides`)."""

    data: str | None = setting(
        None,
        "a folder of Gutenberg books, a .txt or .tsv file, or several comma-separated "
        "(default: generated sentences)",
    )
    vocab_size: int = setting(8000, "SentencePiece pieces")
    sequence_length: int = setting(
        128, "tokens per example, [start] included (also the export's max_length)"
    )
    batch_size: int = setting(32, "examples per step")
    learning_rate: float = setting(5e-4, "peak AdamW learning rate")
    min_learning_rate: float = setting(5e-5, "learning rate at the end of the cosine decay")
    warmup_steps: int = setting(200, "linear warm-up steps")
    decay_steps: int | None = setting(
        None,
        "cosine decay length (default: --epochs x --steps-per-epoch, or 10000 with --time-budget)",
    )
    weight_decay: float = setting(0.01, "AdamW weight decay")
    steps_per_epoch: int = setting(500, "steps between validation estimates (a Keras epoch)")
    eval_batches: int = setting(50, "validation batches per estimate in training (all at the end)")
    validation_share: float = setting(
        0.1, "share of paragraphs (or of documents, --split-by document) held out"
    )
    split_by: str = setting("paragraph", "hold out paragraphs or documents", choices=SPLITS)
    generated_examples: int = setting(20000, "sentences to generate when no --data is given")
    top_k: int = setting(5, "fillers shown per blank")
    mixed_precision: bool | str = setting(False)
    out: str = setting("saved_models/fill_mask")
    run_dir: str = setting("runs/fill_mask")


def load_data(settings: Settings):
    """`(train paragraphs, validation paragraphs, data card)`: `--data`, or zoo's generated
    English sentences."""
    if settings.data:
        documents = read_paragraph_corpus(settings.data)
    else:
        documents = generated_paragraphs(settings.generated_examples, seed=settings.seed)
    # .tsv rows (SST-2) only train when there are books to validate on: many rows are
    # sub-phrases of others, so held-out rows would read optimistic.
    books = [document for document in documents if document.kind != "tsv"] or documents
    train_texts, validation_texts = split_corpus(
        books, settings.validation_share, by=settings.split_by, seed=settings.seed
    )
    train_only = [d for d in documents if all(d is not book for book in books)]
    rows_used = {}
    for document in train_only:
        sentences = training_sentences(document, settings.seed)
        rows_used[document.name] = len(sentences)
        train_texts += sentences
    card = corpus_card(documents)
    card["split"] = {
        "by": settings.split_by,
        "validation_from": [document.name for document in books],
        "train_paragraphs": len(train_texts),
        "validation_paragraphs": len(validation_texts),
        "train_only_rows_used": rows_used,
        "seed": settings.seed,
    }
    for source in card["sources"]:
        print(f"  {source['name']} ({source['kind']}): {source['paragraphs']:,} paragraphs")
    print(
        f"{card['paragraphs']:,} paragraphs: {len(train_texts):,} to train on, "
        f"{len(validation_texts):,} to validate on (split by {settings.split_by}"
        + (f"; the {len(train_only)} .tsv file(s) train only)." if train_only else ").")
    )
    return train_texts, validation_texts, card


def training_sentences(document, seed: int) -> list[str]:
    """A labelled .tsv's rows that pre-training may read: the whole sentences that
    `recipes.classify --seed SEED` trains on (its default shares), so that the sentences it
    scores stay unseen, and no sub-phrase row repeats its sentence. An unlabelled .tsv: every
    row."""
    try:
        labelled = read_labelled_text(document.path)
    except ValueError:
        return list(document.paragraphs)
    split = split_by_sentence(labelled.texts, VALIDATION_SHARE, TEST_SHARE, seed=seed)
    sentences = [labelled.texts[i] for i in split.train_sentences]
    print(
        f"  {document.name}: pre-training on its {len(sentences):,} training sentences (of "
        f"{split.roots:,}; sub-phrase rows and the sentences recipes.classify holds out are "
        "left out)"
    )
    return sentences


def tokenizer_for(settings: Settings, train_texts, run_dir: Path) -> SubwordTokenizer:
    learn = lambda: filling.train_tokenizer(  # noqa: E731
        train_texts, settings.vocab_size, seed=settings.seed
    )
    return run_tokenizer(settings, run_dir, learn, "SentencePiece (with [MASK])")


def decay_steps(settings: Settings) -> int:
    if settings.decay_steps:
        return settings.decay_steps
    if settings.epochs:
        return settings.epochs * settings.steps_per_epoch
    return 10000  # under a time budget the length is unknown: a long decay


def train(settings: Settings, overrides: dict, run_dir: Path, tokenizer, train_texts, validation):
    """Build, compile and fit; returns `(model, training figures)`."""
    with model_scope(settings):
        model = zoo.build(
            settings.model,
            task="mlm",
            preset=settings.preset,
            vocab_size=tokenizer.vocabulary_size,
            **overrides,
        )
        describe_model(model, settings)
        filling.FILL_MASK.compile(
            model,
            learning_rate=settings.learning_rate,
            min_learning_rate=settings.min_learning_rate,
            warmup_steps=settings.warmup_steps,
            decay_steps=decay_steps(settings),
            weight_decay=settings.weight_decay,
            jit_compile=settings.jit_compile,
        )
    train_data = filling.make_dataset(
        train_texts,
        tokenizer,
        sequence_length=settings.sequence_length,
        batch_size=settings.batch_size,
        seed=settings.seed,
        repeat=True,
    )
    figures = fit_model(
        model,
        settings,
        run_dir,
        train_data,
        validation.take(settings.eval_batches),  # a fixed estimate during training
        steps_per_epoch=settings.steps_per_epoch,
    )
    model.save(run_dir / "checkpoints" / "final.keras")
    return model, figures


def evaluate(settings: Settings, model, tokenizer, validation) -> dict:
    """Top-1/top-5 over every held-out masked token, and the fills of `FILL_SENTENCES`."""
    start = time.perf_counter()
    scores = filling.evaluate(model, validation)
    print(
        f"\nValidation: top-1 {scores['top1_accuracy']:.3f}, top-5 {scores['top5_accuracy']:.3f}, "
        f"loss {scores['loss']:.3f} nats over {scores['masked_tokens']:,} masked tokens "
        f"({time.perf_counter() - start:.1f} s)"
    )
    fills = filling.fills_table(
        FILL_SENTENCES,
        filling.fill_mask_texts(
            model,
            tokenizer,
            FILL_SENTENCES,
            top_k=settings.top_k,
            max_length=settings.sequence_length,
        ),
    )
    print(filling.format_fills(fills))
    return {"validation": scores, "fills": fills}


def export(settings: Settings, model, tokenizer, run_dir: Path, data_card, metrics, fills):
    """Hand the run to `zoo export`, which exports its checkpoint, reloads it with
    TensorFlow alone and checks that it offers the fills the model offers in process.
    Returns the export's result, or `None` where there is no TensorFlow."""
    expected = [[c["id"] for c in candidates] for candidates in fills.values()]
    exporting.write_request(
        run_dir,
        family=settings.model,
        out=settings.out,
        tokenizer=tokenizer,
        options=dict(max_length=settings.sequence_length),
        data=data_card,
        metrics=metrics,
        checks=[
            exporting.check(
                "fill_mask",
                {"text": list(fills), "top_k": settings.top_k},
                {"token_ids": expected},
            )
        ],
    )
    return exporting.hand_off(run_dir, settings.out, export=settings.export)


def run(settings: Settings | None = None, **overrides) -> dict:
    """Train, evaluate and export; returns the figures (also written to `run_dir`)."""
    settings = settings or Settings()
    run_dir = start_run(settings, overrides, recipe=__name__)
    train_texts, validation_texts, data_card = load_data(settings)
    tokenizer = tokenizer_for(settings, train_texts, run_dir)
    validation = filling.make_dataset(
        validation_texts,
        tokenizer,
        sequence_length=settings.sequence_length,
        batch_size=settings.batch_size,
        seed=settings.seed,
        shuffle=False,
    )
    model, figures = train(settings, overrides, run_dir, tokenizer, train_texts, validation)
    history = figures.pop("history")
    scores = evaluate(settings, model, tokenizer, validation)
    metrics = {
        **{f"validation_{k}": v for k, v in scores["validation"].items()},
        **figures,
        "validation_estimate_during_training": {
            k: [round(x, 4) for x in v] for k, v in history.items() if k.startswith("val_")
        },
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
