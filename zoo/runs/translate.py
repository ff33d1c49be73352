"""The translation run (`python -m recipes.translate`): English-French pairs and their data
card, the shared SentencePiece vocabulary, each family's training defaults, the model built,
compiled and fitted, BLEU and chrF on held-out sentences with the attention heatmap, and the
export hand-off checked on `SAMPLES`.

Each function takes the recipe's settings (`recipes.translate.Settings`).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import zoo
from zoo.analysis.attention_heatmap import save_attention_heatmap
from zoo.data import (
    embedded_corpus_card,
    generate_en_fr_pairs,
    read_sentence_pairs,
    split_by_source,
)
from zoo.data.cards import TATOEBA_CARD
from zoo.runs import export as exporting
from zoo.runs.training import describe_model, fit_model, model_scope, run_tokenizer
from zoo.tasks import translate as translation

SAMPLES = [
    "the ball is red",
    "the red balls are on the table",
    "the small cat sees the black dog",
    "the children eat the green apples",
]

# Fewer pairs cannot be split into three useful parts (1 pair splits 0/0/1, 2 pairs 0/1/1).
MIN_PAIRS = 100

# The models: the registry's tunings `"translate"` (each family) and `"translate_demo"` (the
# Transformer of `--demo`), on the `--preset` size (config flags still win); see
# `zoo.list_tunings(family)` and README ("The recurrent families") for why.
# The paper's schedule (warm-up, then inverse square root) for the Transformer; for the
# RNNs the same formula with a short warm-up and 0.4 of its scale (a peak of 3.5e-3 at step
# 50) and small batches: more, cheaper steps escape the plateau sooner.
TRANSFORMER_TRAINING = dict(tokens_per_batch=4096, warmup_steps=400, learning_rate_scale=1.0)
RECURRENT_TRAINING = dict(tokens_per_batch=1024, warmup_steps=50, learning_rate_scale=0.4)
RECIPE_TRAINING = {
    "transformer": TRANSFORMER_TRAINING,
    "lstm": RECURRENT_TRAINING,
    "gru": RECURRENT_TRAINING,
    "simple_rnn": RECURRENT_TRAINING,
}


def with_family_defaults(settings):
    """`settings` with each training setting left at None set to the family's
    (`RECIPE_TRAINING`; a family registered by a user gets the Transformer's)."""
    family = RECIPE_TRAINING.get(settings.model, TRANSFORMER_TRAINING)
    return dataclasses.replace(
        settings,
        **{key: value for key, value in family.items() if getattr(settings, key) is None},
    )


def with_demo(settings, arguments: dict, demo: dict, overrides: dict):
    """`(settings, overrides)` for `--demo`: `demo`'s values for the settings whose flags were
    not given (`arguments`, as `parse_settings` returns them), and for the Transformer the
    registry's tuning `"translate_demo"` under the config flags given."""
    defaults = type(settings)()
    given = {name for name, value in arguments.items() if value != getattr(defaults, name, None)}
    settings = dataclasses.replace(settings, **{k: v for k, v in demo.items() if k not in given})
    if settings.model == "transformer":
        overrides = {**zoo.list_tunings("transformer")["translate_demo"], **overrides}
    return settings, overrides


def load_data(settings):
    """`(train, validation, test pairs, data card)`: `--data` or the embedded grammar, split
    by English sentence (a sentence and all its translations land in one split)."""
    if settings.data:
        corpus = read_sentence_pairs(settings.data)
        print(
            f"Read {len(corpus.pairs):,} pairs from {settings.data} "
            f"({len(corpus.skipped)} malformed lines skipped)."
        )
        pairs = corpus.pairs
        card = {**TATOEBA_CARD, "path": str(settings.data), "pairs": len(pairs)}
    else:
        pairs = generate_en_fr_pairs(settings.generated_examples, seed=settings.seed)
        print(f"Generated {len(pairs):,} pairs from the embedded English-French grammar.")
        card = embedded_corpus_card(settings.generated_examples, settings.seed)
    splits = split_by_source(
        pairs, validation_fraction=0.02, test_fraction=0.05, seed=settings.seed
    )
    print(
        f"Split by English sentence: {len(splits[0]):,} train, {len(splits[1]):,} validation, "
        f"{len(splits[2]):,} test pairs."
    )
    if min(map(len, splits)) == 0 or len(pairs) < MIN_PAIRS:
        raise ValueError(
            f"{settings.data or 'The generated corpus'} has {len(pairs):,} pairs "
            f"({len({source for source, _ in pairs}):,} distinct English sentences): too few "
            f"to split into training, validation (2 %) and test (5 %) sentences; pass at "
            f"least {MIN_PAIRS} pairs."
        )
    return (*splits, card)


def tokenizer_for(settings, train_pairs, run_dir: Path):
    learn = lambda: translation.train_tokenizer(  # noqa: E731
        train_pairs, settings.vocab_size, seed=settings.seed
    )
    return run_tokenizer(settings, run_dir, learn, "shared SentencePiece")


def train(settings, overrides: dict, run_dir: Path, tokenizer, train_pairs, validation):
    """Build, compile and fit the model; returns `(model, training figures)`."""
    if settings.informal_share:
        train_pairs = translation.with_informal_sources(
            train_pairs, settings.informal_share, seed=settings.seed
        )
    datasets = translation.make_datasets(
        {"train": train_pairs, "validation": validation},
        tokenizer,
        tokens_per_batch=settings.tokens_per_batch,
        max_length=settings.sequence_length,
        seed=settings.seed,
    )
    with model_scope(settings):
        model = zoo.build(
            settings.model,
            task="seq2seq",
            preset=settings.preset,
            vocab_size=tokenizer.vocabulary_size,
            **overrides,
        )
        describe_model(model, settings)
        translation.TRANSLATE.compile(
            model,
            warmup_steps=settings.warmup_steps,
            learning_rate_scale=settings.learning_rate_scale,
            jit_compile=settings.jit_compile,
            ema_momentum=settings.ema_momentum or None,
            optimizer=settings.optimizer,
        )
    figures = fit_model(model, settings, run_dir, datasets["train"], datasets["validation"])
    # The trained model as `fit()` left it (with `--ema-momentum`, the weight average).
    model.save(run_dir / "checkpoints" / "final.keras")
    return model, figures


def decoding(settings) -> dict:
    return dict(
        beam_width=settings.beam_width,
        length_penalty=settings.length_penalty,
        max_length=settings.sequence_length,
        no_repeat_ngram_size=settings.no_repeat_ngram_size,
    )


def evaluate(settings, model, tokenizer, test_pairs, run_dir: Path) -> dict:
    """BLEU and chrF on held-out English sentences as written and as typed (lower case, no
    final punctuation), a few examples, the attention heatmap."""
    english, references = translation.one_reference_each(
        test_pairs, settings.test_examples, settings.seed
    )
    result = translation.evaluate_as_typed(
        model, tokenizer, english, references, **decoding(settings)
    )
    hypotheses, typed = result.pop("hypotheses"), result.pop("informal")
    result["bleu_as_typed"], result["chrf_as_typed"] = typed["bleu"], typed["chrf"]
    print(
        f"\nHeld-out test, {result['sentences']} unseen English sentences, beam "
        f"{settings.beam_width}: BLEU {result['bleu']:.1f}, chrF {result['chrf']:.1f} "
        f"({result['bleu_signature']})\nThe same sentences as people type them (lower case, "
        f"no final punctuation): BLEU {typed['bleu']:.1f}, chrF {typed['chrf']:.1f}"
    )
    for source, hypothesis, reference in list(zip(english, hypotheses, references))[:5]:
        print(f"  {source}\n    -> {hypothesis}\n    (reference: {reference})")
    try:
        result["heatmap"] = str(
            save_attention_heatmap(
                model,
                tokenizer,
                "the ball is red",
                "la balle est rouge",
                run_dir / "attention_the_ball_is_red.png",
            )
        )
        print(f"Attention heatmap: {result['heatmap']}")
    except ValueError as error:
        print(f"No attention heatmap: {error}")
    return {**result, "english": english}


def export(settings, model, tokenizer, run_dir: Path, data_card, metrics, english):
    """Write the run's export request (with what the model answers in process for the
    samples) and hand it to `zoo export`: the model is exported from its checkpoint,
    reloaded with TensorFlow alone, checked against those answers and timed on a batch of
    64 held-out sentences. Returns `(the export's result, or None without TensorFlow, the
    samples' translations: the export's, else the model's in process)`."""
    options = dict(
        max_source_length=settings.sequence_length,
        length_penalty=settings.length_penalty,
        no_repeat_ngram_size=settings.no_repeat_ngram_size,
    )
    call = dict(beam_width=settings.beam_width, max_length=settings.sequence_length)
    expected = translation.translate_batch(model, tokenizer, SAMPLES, **call, **options)
    exporting.write_request(
        run_dir,
        family=settings.model,
        out=settings.out,
        tokenizer=tokenizer,
        # serving_default (text alone) decodes with the run's beam width and length.
        options=dict(options, **call),
        data=data_card,
        metrics=metrics,
        checks=[
            exporting.check(
                "translate", {"text": SAMPLES, **call}, expected, **exporting.tolerance(model)
            )
        ],
        timing={"signature": "translate", "inputs": {"text": list(english)[:64], **call}},
    )
    result = exporting.hand_off(run_dir, settings.out, export=settings.export)
    if not result:
        return None, expected["translation"]
    translations = result["checks"][0]["outputs"]["translation"]
    for source, french in zip(SAMPLES, translations):
        print(f"  {source} -> {french}")
    return result, translations
