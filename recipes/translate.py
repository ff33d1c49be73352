"""Translate English to French: data -> zoo.build -> fit -> BLEU -> export -> reload.

    python -m recipes.translate                       # embedded corpus, transformer
    python -m recipes.translate --data ../shared/data/fra-eng/fra.txt --time-budget 1200
    python -m recipes.translate --model lstm --num-layers 2 --hidden-dim 256

Every field of the chosen family's config is also a flag (`--num-layers`, `--hidden-dim`,
`--num-heads`, `--dropout`, ...). Trains on a GPU when TensorFlow sees one, with no change.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import keras
import numpy as np

import zoo
from zoo.analysis.attention_heatmap import save_attention_heatmap
from zoo.data import (
    embedded_corpus_card,
    generate_en_fr_pairs,
    read_sentence_pairs,
    split_by_source,
)
from zoo.data.cards import TATOEBA_CARD
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
from zoo.tasks import translate as translation

SAMPLES = [
    "the ball is red",
    "the red balls are on the table",
    "the small cat sees the black dog",
    "the children eat the green apples",
]


# Fewer pairs cannot be split into three useful parts (1 pair splits 0/0/1, 2 pairs 0/1/1).
MIN_PAIRS = 100

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
    ema_momentum: float = setting(0.99, "keep a moving average of the weights (0: off)")
    generated_examples: int = setting(20000, "pairs to generate when no --data is given")
    test_examples: int = setting(500, "held-out English sentences to score")
    out: str = setting("saved_models/translate_en_fr")
    run_dir: str = setting("runs/translate")


def load_data(settings: Settings):
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


def tokenizer_for(settings: Settings, train_pairs, run_dir: Path):
    learn = lambda: translation.train_tokenizer(  # noqa: E731
        train_pairs, settings.vocab_size, seed=settings.seed
    )
    return run_tokenizer(settings, run_dir, learn, "shared SentencePiece")


def train(settings: Settings, overrides: dict, run_dir: Path, tokenizer, train_pairs, validation):
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
        )
    figures = fit_model(model, settings, run_dir, datasets["train"], datasets["validation"])
    # The trained model as `fit()` left it (with `--ema-momentum`, the weight average).
    model.save(run_dir / "checkpoints" / "final.keras")
    return model, figures


def evaluate(settings: Settings, model, tokenizer, test_pairs, run_dir: Path) -> dict:
    """BLEU and chrF on held-out English sentences, a few examples, the attention heatmap."""
    english, references = translation.one_reference_each(
        test_pairs, settings.test_examples, settings.seed
    )
    result = translation.evaluate(model, tokenizer, english, references, **decoding(settings))
    hypotheses = result.pop("hypotheses")
    print(
        f"\nHeld-out test, {result['sentences']} unseen English sentences, beam "
        f"{settings.beam_width}: BLEU {result['bleu']:.1f}, chrF {result['chrf']:.1f} "
        f"({result['bleu_signature']})"
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


def export(settings: Settings, model, tokenizer, run_dir: Path, data_card, metrics, english):
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


def with_family_defaults(settings: Settings) -> Settings:
    """`settings` with each training setting left at None set to the family's
    (`RECIPE_TRAINING`; a family registered by a user gets the Transformer's)."""
    family = RECIPE_TRAINING.get(settings.model, TRANSFORMER_TRAINING)
    return dataclasses.replace(
        settings,
        **{key: value for key, value in family.items() if getattr(settings, key) is None},
    )


def decoding(settings: Settings) -> dict:
    return dict(
        beam_width=settings.beam_width,
        length_penalty=settings.length_penalty,
        max_length=settings.sequence_length,
        no_repeat_ngram_size=settings.no_repeat_ngram_size,
    )


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
    defaults = Settings()
    settings, overrides, arguments = parse_settings(
        Settings, argv, doc=__doc__, task="seq2seq", add_flags=demo
    )
    if arguments["demo"]:
        given = {
            name for name, value in arguments.items() if value != getattr(defaults, name, None)
        }
        settings = dataclasses.replace(
            settings, **{k: v for k, v in DEMO.items() if k not in given}
        )
        if settings.model == "transformer":
            overrides = {**zoo.list_tunings("transformer")["translate_demo"], **overrides}
    return settings, overrides


def main(argv=None):
    settings, overrides = parse_args(argv)
    keras.utils.set_random_seed(settings.seed)
    np.set_printoptions(precision=3)
    run(settings, **overrides)


if __name__ == "__main__":
    run_main(main)
