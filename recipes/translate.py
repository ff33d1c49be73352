"""Translate English to French: data -> zoo.build -> fit -> BLEU -> export -> reload.

    python -m recipes.translate                       # embedded corpus, transformer
    python -m recipes.translate --data ../shared/data/fra-eng/fra.txt --time-budget 1200
    python -m recipes.translate --model lstm --num-layers 2 --hidden-dim 256

Every field of the chosen family's config is also a flag (`--num-layers`, `--hidden-dim`,
`--num-heads`, `--dropout`, ...). Trains on a GPU when TensorFlow sees one, with no change.
"""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path

import keras
import numpy as np

import zoo
from recipes import export as exporting
from recipes.common import (
    RecipeSettings,
    describe_model,
    fit_model,
    model_scope,
    parse,
    recipe_parser,
    run_main,
    start_run,
)
from zoo.analysis.attention_heatmap import save_attention_heatmap
from zoo.data import (
    SubwordTokenizer,
    embedded_corpus_card,
    generate_en_fr_pairs,
    read_sentence_pairs,
    split_by_source,
)
from zoo.data.cards import TATOEBA_CARD
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
    num_pairs=10000,
    vocab_size=1000,
    max_length=32,
    tokens_per_batch=2048,
    warmup_steps=150,
    learning_rate_scale=2.0,
    test_sentences=200,
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
class Settings(RecipeSettings):
    """The recipe's flags (model config fields come separately, as `overrides`)."""

    tokens_per_batch: int | None = None  # None: the family's (RECIPE_TRAINING)
    vocab_size: int = 8000
    max_length: int = 64
    beam_width: int = 4
    length_penalty: float = 0.6
    no_repeat_ngram_size: int = 0
    informal_share: float = 0.0
    warmup_steps: int | None = None  # None: the family's (RECIPE_TRAINING)
    learning_rate_scale: float | None = None  # None: the family's (RECIPE_TRAINING)
    ema_momentum: float = 0.99
    num_pairs: int = 20000
    test_sentences: int = 500
    out: str = "saved_models/translate_en_fr"
    run_dir: str = "runs/translate"


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
        pairs = generate_en_fr_pairs(settings.num_pairs, seed=settings.seed)
        print(f"Generated {len(pairs):,} pairs from the embedded English-French grammar.")
        card = embedded_corpus_card(settings.num_pairs, settings.seed)
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
    saved = run_dir / "tokenizer"
    if settings.resume and saved.exists():
        return SubwordTokenizer.load(saved)
    start = time.perf_counter()
    tokenizer = translation.train_tokenizer(train_pairs, settings.vocab_size, seed=settings.seed)
    tokenizer.save(saved)
    print(
        f"Learned a shared {tokenizer.vocabulary_size:,}-piece SentencePiece vocabulary in "
        f"{time.perf_counter() - start:.1f} s."
    )
    return tokenizer


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
        max_length=settings.max_length,
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
        test_pairs, settings.test_sentences, settings.seed
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
    samples) and hand it to `recipes.export`: the model is exported from its checkpoint,
    reloaded with TensorFlow alone, checked against those answers and timed on a batch of
    64 held-out sentences. Returns `(the export's result, or None without TensorFlow, the
    samples' translations: the export's, else the model's in process)`."""
    options = dict(
        max_source_length=settings.max_length,
        length_penalty=settings.length_penalty,
        no_repeat_ngram_size=settings.no_repeat_ngram_size,
    )
    call = dict(beam_width=settings.beam_width, max_length=settings.max_length)
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
        max_length=settings.max_length,
        no_repeat_ngram_size=settings.no_repeat_ngram_size,
    )


def run(settings: Settings | None = None, **overrides) -> dict:
    """Train, evaluate and export; returns the figures (also written to `run_dir`)."""
    settings = with_family_defaults(settings or Settings())
    overrides = {**zoo.list_tunings(settings.model).get("translate", {}), **overrides}
    run_dir = start_run(settings)
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
    (run_dir / "results.json").write_text(json.dumps(result, indent=2, ensure_ascii=False))
    return result


def parse_args(argv=None) -> tuple[Settings, dict]:
    """Recipe flags plus one flag per config field of the chosen `--model`."""
    defaults = Settings()
    parser = recipe_parser(
        __doc__, defaults, "tab-separated English<TAB>French pairs (default: embedded corpus)"
    )
    flag = parser.add_argument
    flag(
        "--tokens-per-batch",
        type=int,
        default=defaults.tokens_per_batch,
        help="batch size in tokens, as the paper batches (default: 4096 for the transformer, "
        "1024 for the RNNs)",
    )
    flag("--batch-size", type=int, dest="tokens_per_batch", help="alias of --tokens-per-batch")
    flag(
        "--vocab-size",
        type=int,
        default=defaults.vocab_size,
        help="pieces in the shared SentencePiece vocabulary",
    )
    flag(
        "--max-length",
        type=int,
        default=defaults.max_length,
        help="longest sequence in tokens (training, decoding and export)",
    )
    flag("--beam-width", type=int, default=defaults.beam_width, help="1 decodes greedily")
    flag(
        "--length-penalty",
        type=float,
        default=defaults.length_penalty,
        help="beam search alpha (the paper's 0.6)",
    )
    flag(
        "--no-repeat-ngram-size",
        type=int,
        default=defaults.no_repeat_ngram_size,
        help="no n-gram of this size twice in a translation (0 = off)",
    )
    flag(
        "--informal-share",
        type=float,
        default=defaults.informal_share,
        help="share of training sources lower-cased and without final punctuation, as "
        "users type them (0 = none)",
    )
    flag(
        "--warmup-steps",
        type=int,
        default=defaults.warmup_steps,
        help="learning-rate warm-up steps (default: 400 for the transformer, 50 for the RNNs)",
    )
    flag(
        "--learning-rate-scale",
        type=float,
        default=defaults.learning_rate_scale,
        help="multiplies the paper's learning-rate schedule (default: 1.0 for the "
        "transformer, 0.4 for the RNNs)",
    )
    flag(
        "--ema-momentum",
        type=float,
        default=defaults.ema_momentum,
        help="train with a moving average of the weights and keep it (e.g. 0.99; 0 = off)",
    )
    flag(
        "--num-pairs",
        type=int,
        default=defaults.num_pairs,
        help="pairs to generate when no --data is given",
    )
    flag(
        "--test-sentences",
        type=int,
        default=defaults.test_sentences,
        help="held-out English sentences to score",
    )
    flag(
        "--demo",
        action="store_true",
        help="make demo: embedded corpus, a 2+2-layer d=128 transformer, ~2 min of training "
        "(explicit flags still win)",
    )
    settings, overrides, arguments = parse(parser, Settings, argv)
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
