"""The fill-in-the-blank run (`python -m recipes.fill_mask`): paragraphs of books, text files
or .tsv rows (or generated sentences) split into training and validation, with their data
card; the SentencePiece vocabulary with [MASK]; the mlm model built, compiled and fitted;
top-1/top-5 on every held-out masked token and the fills of `FILL_SENTENCES`; and the export
hand-off checked on those fills.

Each function takes the recipe's settings (`recipes.fill_mask.Settings`).
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import numpy as np

import zoo
from zoo.data import SubwordTokenizer, read_labelled_text, split_by_sentence
from zoo.data.books import (
    corpus_card,
    generated_paragraphs,
    read_paragraph_corpus,
    split_corpus,
)
from zoo.data.labelled_text import TEST_SHARE, VALIDATION_SHARE
from zoo.models.replaced_token import build_replaced_token_detector
from zoo.runs import export as exporting
from zoo.runs.training import describe_model, fit_model, model_scope, run_tokenizer
from zoo.tasks import fill_mask as filling
from zoo.tasks import replaced_token

SPLITS = ("paragraph", "document")
OBJECTIVES = ("mlm", "rtd")  # masked-LM; replaced-token detection (ELECTRA)
# The seed's sentence, then blanks that only the words after them decide.
FILL_SENTENCES = (
    "The glass of water is [MASK] and it is sitting on the table.",
    "She opened the [MASK] and walked out into the garden.",
    "He drank a cup of [MASK] with milk and sugar.",
    "The [MASK] barked at the stranger all night.",
    "It was so cold that the river had [MASK] over.",
)


def load_data(settings):
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


def tokenizer_for(settings, train_texts, run_dir: Path) -> SubwordTokenizer:
    learn = lambda: filling.train_tokenizer(  # noqa: E731
        train_texts, settings.vocab_size, seed=settings.seed
    )
    return run_tokenizer(settings, run_dir, learn, "SentencePiece (with [MASK])")


def validation_dataset(settings, validation_texts, tokenizer):
    """The held-out paragraphs as masked batches, in one fixed shuffled order (each estimate
    sees the same). Shuffled, so that the estimates during training (`--eval-batches`, the
    first batches) sample every length: in book order they read mostly short lines such as
    chapter headings, and said top-1 0.38 where all the blanks said 0.24."""
    order = np.random.default_rng(settings.seed).permutation(len(validation_texts))
    return filling.make_dataset(
        [validation_texts[i] for i in order],
        tokenizer,
        sequence_length=settings.sequence_length,
        batch_size=settings.batch_size,
        seed=settings.seed,
        shuffle=False,
    )


def decay_steps(settings) -> int:
    if settings.decay_steps:
        return settings.decay_steps
    if settings.epochs:
        return settings.epochs * settings.steps_per_epoch
    return 10000  # under a time budget the length is unknown: a long decay


def train(settings, overrides: dict, run_dir: Path, tokenizer, train_texts, validation):
    """Build, compile and fit; returns `(model, training figures)`. `--objective rtd`: an
    ELECTRA generator and discriminator (`zoo.models.replaced_token`); the discriminator's
    backbone is then `checkpoints/final.keras` (what `recipes.classify --pretrained` reads)
    and the pair `checkpoints/detector.keras`."""
    rtd = settings.objective == "rtd"
    with model_scope(settings):
        if rtd:
            model = build_replaced_token_detector(
                settings.model,
                preset=settings.preset,
                vocab_size=tokenizer.vocabulary_size,
                seed=settings.seed,
                **overrides,
            )
            print(
                f"Replaced-token detection: a {model.discriminator.count_params():,}-weight "
                f"discriminator {dataclasses.asdict(model.discriminator.config)} and a "
                f"{model.generator.count_params():,}-weight generator "
                f"(width {model.generator.config.hidden_dim})."
            )
        else:
            model = zoo.build(
                settings.model,
                task="mlm",
                preset=settings.preset,
                vocab_size=tokenizer.vocabulary_size,
                **overrides,
            )
            describe_model(model, settings)
        (replaced_token if rtd else filling.FILL_MASK).compile(
            model,
            learning_rate=settings.learning_rate,
            min_learning_rate=settings.min_learning_rate,
            warmup_steps=settings.warmup_steps,
            decay_steps=decay_steps(settings),
            weight_decay=settings.weight_decay,
            optimizer=settings.optimizer,
            jit_compile=settings.jit_compile,
        )
    train_data = (replaced_token if rtd else filling).make_dataset(
        train_texts,
        tokenizer,
        sequence_length=settings.sequence_length,
        batch_size=settings.batch_size,
        seed=settings.seed,
        repeat=True,
    )
    estimate = validation.take(settings.eval_batches)  # a fixed estimate during training
    figures = fit_model(
        model,
        settings,
        run_dir,
        train_data,
        estimate.map(replaced_token.with_weights_in_inputs) if rtd else estimate,
        steps_per_epoch=settings.steps_per_epoch,
    )
    if rtd:
        model.save(run_dir / "checkpoints" / "detector.keras")
        model.discriminator.save(run_dir / "checkpoints" / "final.keras")
    else:
        model.save(run_dir / "checkpoints" / "final.keras")
    return model, figures


def evaluate_detector(model, validation) -> dict:
    """`--objective rtd`: the generator's top-1 and the discriminator's accuracy over every
    held-out masked token and real token."""
    start = time.perf_counter()
    scores = replaced_token.evaluate(model, validation.map(replaced_token.with_weights_in_inputs))
    print(
        f"\nValidation: the generator's top-1 {scores['generator_top1']:.3f} over "
        f"{scores['masked_tokens']:,} masked tokens; the discriminator tells replaced from "
        f"original at {scores['detection_accuracy']:.3f} of {scores['tokens']:,} tokens "
        f"({scores['replaced_share']:.3f} replaced; loss {scores['discriminator_loss']:.3f}; "
        f"{time.perf_counter() - start:.1f} s)"
    )
    return scores


def validation_estimates(history: dict) -> dict:
    """The validation figures `fit()` logged after each epoch, rounded to 4 places."""
    return {k: [round(x, 4) for x in v] for k, v in history.items() if k.startswith("val_")}


def detector_result(
    settings, overrides, run_dir: Path, tokenizer, data_card, figures, scores, history
) -> dict:
    """`--objective rtd`'s results.json: its settings, data, figures and checkpoints."""
    return {
        "settings": dataclasses.asdict(settings),
        "overrides": overrides,
        "data": data_card,
        "metrics": {
            **{f"validation_{k}": v for k, v in scores.items()},
            **figures,
            "validation_estimate_during_training": validation_estimates(history),
        },
        "checkpoint": str(run_dir / "checkpoints" / "final.keras"),
        "detector": str(run_dir / "checkpoints" / "detector.keras"),
        "tokenizer": str(tokenizer.proto_path),
    }


def evaluate(settings, model, tokenizer, validation) -> dict:
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


def export(settings, model, tokenizer, run_dir: Path, data_card, metrics, fills):
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
