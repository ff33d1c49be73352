"""Serving speed: an exported translation SavedModel, loaded by TensorFlow alone.

    python -m benchmarks.serving_speed --model saved_models/translate_en_fr \
        --data ../shared/data/fra-eng/fra.txt
    python -m benchmarks.serving_speed --model saved_models/translate_en_fr --quick

What a user of the export, or a model server, meets: every measurement runs in a fresh
Python process that imports `tensorflow` and `tensorflow_text` (its SentencePiece ops) and
nothing of zoo (zoo, keras-nlp and keras-hub are refused at import; `tensorflow_text`
itself imports Keras for its own layers, which the model does not use). Each process:

1. loads the newest version (`tf.saved_model.load`, timed);
2. with warm-up only: replays the version's `assets.extra/tf_serving_warmup_requests`, each
   request on the signature it names, as TensorFlow Serving does before a version answers
   anyone (TensorFlow's Python API does not read the file: this process reads it with
   `zoo/export/warmup.py`, loaded by path — it imports TensorFlow only);
3. times the first user call: `serving_default` with one sentence of about ten words (text
   alone: the model card's decoding defaults), then the first `translate` call;
4. in the last process only (a warmed-up server): latency at batch 1 (p50, p99) over
   ~10-word sentences through `serving_default`, and throughput (sentences/s) at batch 32
   and 64 through `translate` with `--beam-width` (4), in arrival order (not sorted by
   length), median of `--repeats` passes over the sentences, the batch sizes interleaved.

Cold starts with and without warm-up alternate (`--cold-starts` of each). Sentences are the
English side of the test split that the translation recipe holds out (`--data`, same seed),
or the lines of `--text-file`. Writes `serving_speed.json` and `serving_speed.md` to
`--output-dir`, with issue 11's serving goals for `benchmarks.run_all` (judged on full runs
only). `--quick` is a CI-sized run; where `--model` holds no export it measures a tiny
untrained Transformer exported to a temporary folder, whose figures only show that the
benchmark works.
The machine's load average is recorded: on a shared machine, absolute times move with it.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# Nothing above the standard library at module level: `--child` runs this file in the
# measuring process, which must import TensorFlow alone.
ROOT = Path(__file__).resolve().parents[1]
WARMUP_MODULE = ROOT / "zoo" / "export" / "warmup.py"
REFUSED = ("zoo", "keras_nlp", "keras_hub")
FULL = dict(sentences=2000, latency_calls=200, repeats=3, cold_starts=2, batch_sizes=(32, 64))
QUICK = dict(sentences=64, latency_calls=10, repeats=1, cold_starts=1, batch_sizes=(8, 16))
LATENCY_WORDS = 10


# --- The measuring process (TensorFlow alone) ---------------------------------------------


class _Refuse:
    """A meta-path finder that makes importing zoo, keras-nlp or keras-hub an error."""

    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in REFUSED:
            raise ImportError(f"{name} must not be needed to serve the model")
        return None


def child(payload_path: str) -> None:
    """Measure as the payload says and print `RESULT{json}`."""
    sys.meta_path.insert(0, _Refuse())
    payload = json.loads(Path(payload_path).read_text(encoding="utf-8"))
    start = time.perf_counter()
    import tensorflow as tf
    import tensorflow_text  # noqa: F401  (registers the SentencePiece ops the graph uses)

    result = {"import_seconds": time.perf_counter() - start}
    start = time.perf_counter()
    loaded = tf.saved_model.load(payload["version"])
    result["load_seconds"] = time.perf_counter() - start
    if payload["warmup"]:
        result["warmup"] = replay_warmup(tf, loaded, payload["version"])
        result["warmup_seconds"] = sum(item["seconds"] for item in result["warmup"])
    serving_default = loaded.signatures["serving_default"]
    translate = loaded.signatures["translate"]
    settings = {
        "beam_width": tf.constant(payload["beam_width"]),
        "max_length": tf.constant(payload["max_length"]),
    }
    first = payload["first_sentence"]
    start = time.perf_counter()
    serving_default(text=tf.constant([first]))
    result["first_call_seconds"] = time.perf_counter() - start
    start = time.perf_counter()
    translate(text=tf.constant([first]), **settings)
    result["first_translate_call_seconds"] = time.perf_counter() - start
    if payload["steady"]:
        result.update(steady_state(tf, serving_default, translate, settings, payload))
    result["modules"] = {
        name: name in sys.modules for name in ("zoo", "keras", "keras_nlp", "keras_hub")
    }
    print("RESULT" + json.dumps(result))


def replay_warmup(tf, loaded, version: str) -> list[dict]:
    """Run each warm-up request on its signature; `[{signature, seconds}]` in file order."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("tf_serving_warmup_records", WARMUP_MODULE)
    records = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(records)
    timings = []
    for request in records.read_warmup_requests(version):
        start = time.perf_counter()
        loaded.signatures[request["signature_name"]](**request["inputs"])
        timings.append(
            {"signature": request["signature_name"], "seconds": time.perf_counter() - start}
        )
    return timings


def percentile(values, fraction: float) -> float:
    """The `fraction` quantile by linear interpolation (numpy's default)."""
    ordered = sorted(values)
    position = (len(ordered) - 1) * fraction
    below = int(position)
    above = min(below + 1, len(ordered) - 1)
    return ordered[below] + (ordered[above] - ordered[below]) * (position - below)


def steady_state(tf, serving_default, translate, settings, payload) -> dict:
    """Latency at batch 1 and throughput at each batch size, once every signature is warm."""
    short = payload["latency_sentences"]
    seconds = []
    for index in range(payload["latency_calls"]):
        text = tf.constant([short[index % len(short)]])
        start = time.perf_counter()
        serving_default(text=text)
        seconds.append(time.perf_counter() - start)
    sentences = payload["sentences"]
    passes = {size: [] for size in payload["batch_sizes"]}
    for _ in range(payload["repeats"]):  # interleaved: drifts in machine load hit both sizes
        for size in payload["batch_sizes"]:
            start = time.perf_counter()
            for first in range(0, len(sentences), size):
                translate(text=tf.constant(sentences[first : first + size]), **settings)
            passes[size].append(time.perf_counter() - start)
    return {
        "latency_ms": {
            "p50": 1000 * percentile(seconds, 0.5),
            "p99": 1000 * percentile(seconds, 0.99),
            "calls": len(seconds),
            "words": sorted({len(s.split()) for s in short}),
        },
        "throughput": {
            str(size): {
                "sentences_per_second": len(sentences) / percentile(times, 0.5),
                "pass_seconds": times,
            }
            for size, times in passes.items()
        },
    }


# --- The driving process ------------------------------------------------------------------


def newest_version(model: Path) -> Path | None:
    """The version folder to measure: `model` itself, or its largest version; None if none."""
    if (model / "saved_model.pb").exists():
        return model
    if not model.is_dir():
        return None
    versions = sorted((int(p.name), p) for p in model.iterdir() if p.name.isdigit() and p.is_dir())
    return versions[-1][1] if versions else None


def version_to_measure(args, scratch: Path) -> Path:
    version = newest_version(args.model)
    if version is None and args.quick:
        print(f"No export at {args.model}: --quick measures a tiny untrained one.", flush=True)
        version = tiny_export(scratch)
    if version is None:
        raise SystemExit(
            f"No exported version under {args.model}; export a translation model first "
            "(python -m recipes.translate), or pass --model."
        )
    return version


def read_card(version: Path) -> dict:
    card = json.loads((version / "assets" / "zoo.json").read_text(encoding="utf-8"))
    if card.get("task") != "seq2seq":
        raise SystemExit(f"{version} is a {card.get('task')!r} export; this measures translation.")
    if not card.get("serving_default", {}).get("defaults"):
        raise SystemExit(
            f"{version}'s model card names no serving_default defaults: it was exported before "
            "serving_default took text alone; export it again."
        )
    return card


def tiny_export(directory: Path) -> Path:
    """A tiny untrained Transformer on the embedded grammar, exported under `directory`
    (for `--quick` without an export: it exercises the benchmark, nothing more)."""
    import keras

    import zoo
    from zoo.data import SubwordTokenizer, generate_en_fr_pairs

    keras.utils.set_random_seed(0)
    pairs = generate_en_fr_pairs(300, seed=0)
    tokenizer = SubwordTokenizer.train([s for pair in pairs for s in pair], 300)
    model = zoo.build("transformer", preset="tiny", vocab_size=tokenizer.vocabulary_size)
    data = {"name": "zoo-synthetic-en-fr", "licence": "generated by zoo"}
    return zoo.export_model(
        model,
        tokenizer,
        directory / "translate_tiny",
        family="transformer",
        data=data,
        max_length=16,
    )


def choose_sentences(args, count: int) -> list[str]:
    if args.text_file:
        lines = args.text_file.read_text(encoding="utf-8").splitlines()
        sentences = [line.strip() for line in lines if line.strip()]
        if not sentences:
            raise SystemExit(f"{args.text_file} holds no sentence.")
        return (sentences * (count // len(sentences) + 1))[:count]
    from benchmarks.decode_speed import held_out_sentences

    return held_out_sentences(args.data, count, args.seed)


def near_ten_words(sentences: list[str], count: int = 20) -> list[str]:
    """Up to `count` distinct sentences of about ten words: those within a word of ten, or,
    when there are none, those nearest to ten."""
    distance = {s: abs(len(s.split()) - LATENCY_WORDS) for s in set(sentences)}
    nearest = min(distance.values())
    chosen = sorted(s for s, d in distance.items() if d <= max(nearest, 1))
    return chosen[:count]


def run_child(payload: dict, timeout: float) -> dict:
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as file:
        json.dump(payload, file)
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONPATH="")
    try:
        completed = subprocess.run(
            [sys.executable, str(Path(__file__).resolve()), "--child", file.name],
            capture_output=True,
            text=True,
            env=env,
            cwd="/",
            timeout=timeout,
        )
    finally:
        os.unlink(file.name)
    if completed.returncode != 0:
        raise RuntimeError(f"The measuring process failed:\n{completed.stderr[-3000:]}")
    line = [x for x in completed.stdout.splitlines() if x.startswith("RESULT")][-1]
    return json.loads(line[len("RESULT") :])


def median(values):
    return percentile(values, 0.5)


def measure(args, version: Path) -> dict:
    from zoo.analysis.machine import describe_machine, machine_line

    sizes = QUICK if args.quick else FULL
    card = read_card(version)
    defaults = card["serving_default"]["defaults"]
    sentences = choose_sentences(args, args.sentences or sizes["sentences"])
    short = near_ten_words(sentences)
    payload = {
        "version": str(version.resolve()),
        "beam_width": args.beam_width,
        "max_length": args.max_length or defaults["max_length"],
        "first_sentence": short[0],
        "latency_sentences": short,
        "latency_calls": args.latency_calls or sizes["latency_calls"],
        "sentences": sentences,
        "batch_sizes": list(args.batch_sizes or sizes["batch_sizes"]),
        "repeats": args.repeats or sizes["repeats"],
        "steady": False,
    }
    load_before = os.getloadavg()
    cold = {"without_warmup": [], "with_warmup": []}
    starts = args.cold_starts or sizes["cold_starts"]
    for index in range(starts):
        for warmup in (False, True):
            last = index == starts - 1 and warmup
            result = run_child({**payload, "warmup": warmup, "steady": last}, args.timeout)
            cold["with_warmup" if warmup else "without_warmup"].append(result)
    load_after = os.getloadavg()
    steady = cold["with_warmup"][-1]
    return {
        "machine": machine_line(describe_machine()),
        "load_average_1min": {"before": load_before[0], "after": load_after[0]},
        "model": {
            "path": str(version),
            "family": card.get("family"),
            "parameters": card.get("parameters"),
            "dtype_policy": card.get("dtype_policy"),
            "serving_default": card["serving_default"],
        },
        "conditions": {
            "quick": args.quick,
            "sentences": len(sentences),
            "source": str(args.text_file or args.data or "embedded grammar (test split)"),
            "beam_width": payload["beam_width"],
            "max_length": payload["max_length"],
            "first_sentence": payload["first_sentence"],
            "cold_starts_each": starts,
            "repeats": payload["repeats"],
        },
        "cold_start": {
            kind: {
                "load_seconds": median([r["load_seconds"] for r in runs]),
                "warmup_seconds": median([r.get("warmup_seconds", 0.0) for r in runs]),
                "first_call_seconds": median([r["first_call_seconds"] for r in runs]),
                "first_translate_call_seconds": median(
                    [r["first_translate_call_seconds"] for r in runs]
                ),
                "runs": runs,
            }
            for kind, runs in cold.items()
        },
        "latency_ms": steady["latency_ms"],
        "throughput": steady["throughput"],
        "modules_in_measuring_process": steady["modules"],
    }


# Issue 11's serving goals: p50 latency at batch 1, throughput at batch 64 with beam 4.
LATENCY_GOAL_MS = 100
THROUGHPUT_GOAL = 250


def goals(report: dict) -> list[dict]:
    """The serving goals with their figures, for `benchmarks.run_all`; `met` is None on a
    `--quick` run (a tiny or partial measurement judges nothing)."""
    conditions = report["conditions"]
    judged = not conditions["quick"]
    p50 = report["latency_ms"]["p50"]
    rows = [
        {
            "key": "serving_p50_latency",
            "figure": f"p50 {p50:.0f} ms at batch 1 (~10-word sentences, serving_default)",
            "met": p50 < LATENCY_GOAL_MS if judged else None,
        }
    ]
    batch_64 = report["throughput"].get("64")
    if batch_64 is None:
        figure, met = "batch 64 not measured in this run", None
    else:
        rate = batch_64["sentences_per_second"]
        figure = f"{rate:.0f} sentences/s at batch 64, beam {conditions['beam_width']}"
        met = rate >= THROUGHPUT_GOAL if judged and conditions["beam_width"] == 4 else None
    rows.append({"key": "serving_throughput", "figure": figure, "met": met})
    return rows


def markdown(report: dict) -> str:
    conditions, cold = report["conditions"], report["cold_start"]
    plain, warmed = cold["without_warmup"], cold["with_warmup"]
    records = ", ".join(
        f"{item['signature']} {item['seconds']:.1f} s" for item in warmed["runs"][-1]["warmup"]
    )
    load = report["load_average_1min"]
    quick = "A --quick run (CI-sized: few sentences and calls). " if conditions["quick"] else ""
    lines = [
        f"{quick}Serving `{report['model']['path']}` ({report['model']['family']}, "
        f"{report['model']['parameters']:,} parameters) with TensorFlow alone; "
        f"{report['machine']}; 1-minute load average {load['before']:.1f} before, "
        f"{load['after']:.1f} after (other work shared the cores).",
        "",
        "| measure | value | how |",
        "|---|---:|---|",
        f"| load (`tf.saved_model.load`) | {plain['load_seconds']:.1f} s | median of "
        f"{conditions['cold_starts_each']} fresh processes |",
        f"| first call, no warm-up | {plain['first_call_seconds']:.1f} s | `serving_default`, "
        "one ~10-word sentence, right after loading |",
        f"| warm-up at load | {warmed['warmup_seconds']:.1f} s | the export's warm-up requests "
        f"replayed as a model server does ({records}) |",
        f"| first call after warm-up | {warmed['first_call_seconds']:.2f} s | the same call |",
        f"| first `translate` call, no warm-up / after | "
        f"{plain['first_translate_call_seconds']:.1f} s / "
        f"{warmed['first_translate_call_seconds']:.2f} s | beam {conditions['beam_width']} |",
        f"| latency p50, batch 1 | {report['latency_ms']['p50']:.0f} ms | `serving_default`, "
        f"{report['latency_ms']['calls']} calls, sentences of "
        f"{'/'.join(map(str, report['latency_ms']['words']))} words |",
        f"| latency p99, batch 1 | {report['latency_ms']['p99']:.0f} ms | |",
    ]
    for size, figures in report["throughput"].items():
        lines.append(
            f"| throughput, batch {size} | {figures['sentences_per_second']:.0f} sentences/s | "
            f"`translate`, beam {conditions['beam_width']}, max_length "
            f"{conditions['max_length']}, {conditions['sentences']} held-out sentences in "
            f"arrival order, median of {conditions['repeats']} |"
        )
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument(
        "--model",
        type=Path,
        default=Path("saved_models/translate_en_fr"),
        help="an export folder (its newest version) or one version folder",
    )
    parser.add_argument("--data", help="the pairs the model trained on (default: embedded)")
    parser.add_argument("--text-file", type=Path, help="sentences, one per line, instead")
    parser.add_argument("--seed", type=int, default=0, help="the recipe's split seed")
    parser.add_argument("--beam-width", type=int, default=4)
    parser.add_argument("--max-length", type=int, help="default: the model card's")
    parser.add_argument("--sentences", type=int, help="for throughput (default 2000)")
    parser.add_argument("--batch-sizes", type=int, nargs="+", help="default: 32 64")
    parser.add_argument("--latency-calls", type=int, help="default 200")
    parser.add_argument("--repeats", type=int, help="throughput passes (default 3)")
    parser.add_argument("--cold-starts", type=int, help="fresh processes of each kind (2)")
    parser.add_argument("--quick", action="store_true", help="a CI-sized run")
    parser.add_argument("--timeout", type=float, default=1800, help="per process, seconds")
    parser.add_argument("--output-dir", type=Path, default=Path("docs/results"))
    args = parser.parse_args(argv)
    if args.child:
        return child(args.child)
    with tempfile.TemporaryDirectory() as scratch:
        report = measure(args, version_to_measure(args, Path(scratch)))
    report["goals"] = goals(report)
    table = markdown(report)
    print(table)
    name = "serving_speed"
    args.output_dir.mkdir(parents=True, exist_ok=True)
    (args.output_dir / f"{name}.json").write_text(json.dumps(report, indent=2) + "\n")
    (args.output_dir / f"{name}.md").write_text(table)
    print(f"Wrote {args.output_dir / name}.json and .md")
    return report


if __name__ == "__main__":
    main()
