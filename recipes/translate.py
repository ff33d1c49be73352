"""Translate English to French: data -> zoo.build -> fit -> BLEU -> export -> reload.

    python -m recipes.translate                       # embedded corpus, transformer
    python -m recipes.translate --data ../shared/data/fra-eng/fra.txt --time-budget 1200
    python -m recipes.translate --model lstm --num-layers 2 --hidden-dim 256

Every field of the chosen family's config is also a flag (`--num-layers`, `--hidden-dim`,
`--num-heads`, `--dropout`, ...). Trains on a GPU when TensorFlow sees one, with no change.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
import warnings
from pathlib import Path

import keras
import numpy as np

import zoo
from zoo.analysis.attention_heatmap import save_attention_heatmap
from zoo.data import (
    SubwordTokenizer,
    embedded_corpus_card,
    generate_en_fr_pairs,
    make_translation_dataset,
    read_sentence_pairs,
    split_by_source,
)
from zoo.decoding.text import translate_texts
from zoo.training import (
    compile_seq2seq,
    configure_runtime,
    describe_devices,
    standard_callbacks,
    translation_scores,
)

SAMPLES = [
    "the ball is red",
    "the red balls are on the table",
    "the small cat sees the black dog",
    "the children eat the green apples",
]
TATOEBA_CARD = {
    "name": "Tatoeba English-French (manythings.org/anki, 2017-09-29)",
    "licence": "CC BY 2.0",
    "attribution": "Attribution: www.manythings.org/anki and tatoeba.org",
}


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
DEMO_MODEL = dict(
    num_layers=2, hidden_dim=128, num_heads=4, intermediate_dim=512, dropout=0.0, norm_first=True
)
# What the recipe changes in a family's preset (config flags still win): for a budget of
# minutes the Transformer learns fastest pre-norm and without dropout (measured in README).
RECIPE_MODEL = {"transformer": dict(dropout=0.0, norm_first=True)}


@dataclasses.dataclass
class Settings:
    """The recipe's flags (model config fields come separately, as `overrides`)."""

    data: str | None = None
    model: str = "transformer"
    preset: str = "small"
    epochs: int | None = None
    time_budget: float | None = None
    tokens_per_batch: int = 4096
    vocab_size: int = 8000
    max_length: int = 64
    beam_width: int = 4
    length_penalty: float = 0.6
    warmup_steps: int = 400
    learning_rate_scale: float = 1.0
    ema_momentum: float = 0.99
    mixed_precision: bool = True
    jit_compile: bool = False
    num_pairs: int = 20000
    test_sentences: int = 500
    out: str = "saved_models/translate_en_fr"
    run_dir: str = "runs/translate"
    resume: bool = False
    seed: int = 0


def load_pairs(settings: Settings):
    if settings.data:
        corpus = read_sentence_pairs(settings.data)
        print(
            f"Read {len(corpus.pairs):,} pairs from {settings.data} "
            f"({len(corpus.skipped)} malformed lines skipped)."
        )
        return corpus.pairs, {
            **TATOEBA_CARD,
            "path": str(settings.data),
            "pairs": len(corpus.pairs),
        }
    pairs = generate_en_fr_pairs(settings.num_pairs, seed=settings.seed)
    print(f"Generated {len(pairs):,} pairs from the embedded English-French grammar.")
    return pairs, embedded_corpus_card(settings.num_pairs, settings.seed)


def one_reference_each(pairs, limit, seed=0):
    """`limit` distinct English sentences drawn at random (by seed), each with its first
    translation as the one reference. Random, not the first ones: Tatoeba's file is sorted
    by length, and its first sentences are the easiest."""
    references = {}
    for english, french in pairs:
        references.setdefault(english, french)
    items = list(references.items())
    chosen = np.random.default_rng(seed).permutation(len(items))[:limit]
    return [items[i][0] for i in chosen], [items[i][1] for i in chosen]


def tokenizer_for(settings: Settings, train_pairs, run_dir: Path) -> SubwordTokenizer:
    saved = run_dir / "tokenizer"
    if settings.resume and saved.exists():
        return SubwordTokenizer.load(saved)
    start = time.perf_counter()
    sentences = [sentence for pair in train_pairs for sentence in pair]
    # A vocabulary larger than the corpus can fill is an error in SentencePiece.
    vocab_size = min(settings.vocab_size, max(300, len(set(" ".join(sentences).split())) + 300))
    tokenizer = SubwordTokenizer.train(sentences, vocab_size, seed=settings.seed)
    tokenizer.save(saved)
    print(
        f"Learned a shared {tokenizer.vocabulary_size:,}-piece SentencePiece vocabulary in "
        f"{time.perf_counter() - start:.1f} s."
    )
    return tokenizer


def measure_exported(path, samples, timing_sentences, batch_size=64, beam_width=4, max_length=64):
    """Reload the export with TensorFlow alone, translate `samples`, and time one batch of
    `batch_size` held-out sentences (the median of three calls after a warm-up):
    (translations of samples, sentences per second)."""
    import tensorflow as tf
    import tensorflow_text  # noqa: F401

    translate = tf.saved_model.load(str(path)).signatures["translate"]
    call = dict(beam_width=tf.constant(beam_width), max_length=tf.constant(max_length))
    out = translate(text=tf.constant(samples), **call)  # also the warm-up
    texts = [t.decode("utf-8") for t in out["translation"].numpy()]
    batch = tf.constant(list(timing_sentences)[:batch_size])
    translate(text=batch, **call)
    seconds = []
    for _ in range(3):
        start = time.perf_counter()
        translate(text=batch, **call)
        seconds.append(time.perf_counter() - start)
    return texts, int(batch.shape[0]) / float(np.median(seconds))


def run(settings: Settings | None = None, **overrides) -> dict:
    """Train, evaluate and export; returns the figures (also written to `run_dir`)."""
    # Bucketed datasets have no known length; each epoch simply ends when the data does.
    warnings.filterwarnings("ignore", message="Your input ran out of data")
    settings = settings or Settings()
    overrides = {**RECIPE_MODEL.get(settings.model, {}), **overrides}
    run_dir = Path(settings.run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    # Seed and dtype policy first: the tokenizer's graph resources must outlive the seed call.
    compile_arguments = configure_runtime(
        settings.mixed_precision, settings.jit_compile, seed=settings.seed
    )
    print(describe_devices())

    pairs, data_card = load_pairs(settings)
    train_pairs, validation_pairs, test_pairs = split_by_source(
        pairs, validation_fraction=0.02, test_fraction=0.05, seed=settings.seed
    )
    print(
        f"Split by English sentence: {len(train_pairs):,} train, "
        f"{len(validation_pairs):,} validation, {len(test_pairs):,} test pairs."
    )
    tokenizer = tokenizer_for(settings, train_pairs, run_dir)
    datasets = {
        name: make_translation_dataset(
            split,
            tokenizer,
            batch_size=None,
            tokens_per_batch=settings.tokens_per_batch,
            max_length=settings.max_length,
            shuffle=name == "train",
            seed=settings.seed,
        )
        for name, split in (("train", train_pairs), ("validation", validation_pairs))
    }

    model = zoo.build(
        settings.model,
        task="seq2seq",
        preset=settings.preset,
        vocab_size=tokenizer.vocabulary_size,
        **{"share_embeddings": True, **overrides},
    )
    print(
        f"{settings.model} ({settings.preset}, {model.count_params():,} weights): "
        f"{dataclasses.asdict(model.config)}"
    )
    compile_seq2seq(
        model,
        warmup_steps=settings.warmup_steps,
        learning_rate_scale=settings.learning_rate_scale,
        jit_compile=compile_arguments.get("jit_compile", False),
        ema_momentum=settings.ema_momentum or None,
    )
    epochs = settings.epochs or (1000 if settings.time_budget else 10)
    start = time.perf_counter()
    history = model.fit(
        datasets["train"],
        validation_data=datasets["validation"],
        epochs=epochs,
        shuffle=False,  # the dataset shuffles itself, by seed
        callbacks=standard_callbacks(
            run_dir, time_budget=settings.time_budget, resume=settings.resume
        ),
        verbose="auto",
    )
    train_seconds = time.perf_counter() - start
    steps = int(model.optimizer.iterations.numpy())
    # The trained model as `fit()` left it (with `--ema-momentum`, the weight average).
    model.save(run_dir / "checkpoints" / "final.keras")

    english, references = one_reference_each(test_pairs, settings.test_sentences, settings.seed)
    decoding = dict(
        beam_width=settings.beam_width,
        length_penalty=settings.length_penalty,
        max_length=settings.max_length,
    )
    translate_texts(model, tokenizer, SAMPLES, **decoding)  # traces the decoder (seconds)
    start = time.perf_counter()
    hypotheses = translate_texts(model, tokenizer, english, **decoding)
    decode_seconds = time.perf_counter() - start
    scores = translation_scores(hypotheses, references)
    print(
        f"\nHeld-out test, {scores['sentences']} unseen English sentences, beam "
        f"{settings.beam_width}: BLEU {scores['bleu']:.1f}, chrF {scores['chrf']:.1f} "
        f"({scores['bleu_signature']})"
    )
    for source, hypothesis, reference in list(zip(english, hypotheses, references))[:5]:
        print(f"  {source}\n    -> {hypothesis}\n    (reference: {reference})")

    heatmap = None
    try:
        heatmap = save_attention_heatmap(
            model,
            tokenizer,
            "the ball is red",
            "la balle est rouge",
            run_dir / "attention_the_ball_is_red.png",
        )
        print(f"Attention heatmap: {heatmap}")
    except ValueError as error:
        print(f"No attention heatmap: {error}")

    metrics = {
        **{k: v for k, v in scores.items()},
        "beam_width": settings.beam_width,
        "train_seconds": round(train_seconds, 1),
        "train_steps": steps,
        "epochs_run": len(history.history.get("loss", [])),
        "in_process_sentences_per_second": round(len(english) / decode_seconds, 1),
    }
    export_path = zoo.export(
        model,
        tokenizer,
        settings.out,
        family=settings.model,
        data=data_card,
        metrics=metrics,
        max_source_length=settings.max_length,
        length_penalty=settings.length_penalty,
    )
    print(f"Exported to {export_path}")
    translations, rate = measure_exported(
        export_path,
        SAMPLES,
        english,
        beam_width=settings.beam_width,
        max_length=settings.max_length,
    )
    metrics["export_sentences_per_second_batch_64"] = round(rate, 1)
    print(f"Reloaded with TensorFlow alone: {rate:.0f} held-out sentences/s at batch 64.")
    for source, translation in zip(SAMPLES, translations):
        print(f"  {source} -> {translation}")
    result = {
        "settings": dataclasses.asdict(settings),
        "overrides": overrides,
        "metrics": metrics,
        "export": str(export_path),
        "heatmap": heatmap,
        "samples": dict(zip(SAMPLES, translations)),
    }
    (run_dir / "results.json").write_text(json.dumps(result, indent=2, ensure_ascii=False))
    return result


def parse_args(argv=None) -> tuple[Settings, dict]:
    """Recipe flags plus one flag per config field of the chosen `--model`."""
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog=__doc__.split("\n\n", 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    defaults = Settings()
    flag = parser.add_argument
    flag("--data", help="tab-separated English<TAB>French pairs (default: embedded corpus)")
    flag("--model", default=defaults.model, choices=zoo.list_models(), help="model family")
    flag("--preset", default=defaults.preset, help="size preset: tiny, small, base, big")
    budget = parser.add_mutually_exclusive_group()
    budget.add_argument("--epochs", type=int, help="epochs to train (default 10)")
    budget.add_argument("--time-budget", type=float, help="seconds of training, then stop")
    flag(
        "--tokens-per-batch",
        type=int,
        default=defaults.tokens_per_batch,
        help="batch size in tokens, as the paper batches",
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
        "--warmup-steps",
        type=int,
        default=defaults.warmup_steps,
        help="learning-rate warm-up steps",
    )
    flag(
        "--learning-rate-scale",
        type=float,
        default=defaults.learning_rate_scale,
        help="multiplies the paper's learning-rate schedule",
    )
    flag(
        "--ema-momentum",
        type=float,
        default=defaults.ema_momentum,
        help="train with a moving average of the weights and keep it (e.g. 0.99; 0 = off)",
    )
    flag(
        "--mixed-precision",
        action=argparse.BooleanOptionalAction,
        default=defaults.mixed_precision,
        help="mixed_bfloat16 compute (bfloat16 matmuls, float32 weights)",
    )
    flag("--jit-compile", action="store_true", help="compile train steps with XLA")
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
    flag("--out", default=defaults.out, help="export folder; versions 1, 2, ... inside")
    flag("--run-dir", default=defaults.run_dir, help="checkpoints, logs, tokenizer, results")
    flag("--resume", action="store_true", help="continue a crashed run from --run-dir")
    flag("--seed", type=int, default=defaults.seed, help="seed of data, split and weights")
    flag(
        "--demo",
        action="store_true",
        help="make demo: embedded corpus, a 2+2-layer d=128 transformer, ~2 min of training "
        "(explicit flags still win)",
    )
    # The family decides the config flags: read --model first (without --help).
    first = argparse.ArgumentParser(add_help=False)
    first.add_argument("--model", default=defaults.model, choices=zoo.list_models())
    known, _ = first.parse_known_args(argv)
    config_class = zoo.registry.get_family(known.model).config_class
    fields = parser.add_argument_group(f"{known.model} config (override the preset)")
    for field in dataclasses.fields(config_class):
        if field.name in ("task", "vocab_size"):
            continue
        kind = {"int": int, "float": float, "str": str}.get(str(field.type).split(" |")[0], None)
        if "bool" in str(field.type):
            fields.add_argument(
                f"--{field.name.replace('_', '-')}",
                dest=f"config_{field.name}",
                type=_boolean,
                metavar="{true,false}",
            )
        else:
            fields.add_argument(
                f"--{field.name.replace('_', '-')}", dest=f"config_{field.name}", type=kind or str
            )
    arguments = vars(parser.parse_args(argv))
    overrides = {
        key[len("config_") :]: value
        for key, value in arguments.items()
        if key.startswith("config_") and value is not None
    }
    if arguments.pop("demo"):
        given = {
            name for name, value in arguments.items() if value != getattr(defaults, name, None)
        }
        arguments.update({k: v for k, v in DEMO.items() if k not in given})
        if known.model == "transformer":
            overrides = {**DEMO_MODEL, **overrides}
    settings = Settings(**{k: v for k, v in arguments.items() if not k.startswith("config_")})
    return settings, overrides


def _boolean(text: str) -> bool:
    if text.lower() in ("true", "1", "yes"):
        return True
    if text.lower() in ("false", "0", "no"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, received {text!r}")


def main(argv=None):
    settings, overrides = parse_args(argv)
    keras.utils.set_random_seed(settings.seed)
    np.set_printoptions(precision=3)
    run(settings, **overrides)


if __name__ == "__main__":
    main()
