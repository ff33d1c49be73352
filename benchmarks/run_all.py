"""Every benchmark, one after the other, and BENCHMARKS.md from their results.

    python -m benchmarks.run_all                 # full: ~15 minutes on 2 idle cores
    python -m benchmarks.run_all --quick         # CI-sized: tiny models, one or two rounds
    python -m benchmarks.run_all --only training_speed recurrent_speed
    python -m benchmarks.run_all --conditions "while a training run shared the cores"
    python -m benchmarks.run_all --report-only   # BENCHMARKS.md from the JSON already there

Each benchmark runs in its own process (`python -m benchmarks.<name> ... --output-dir`), so
one's dtype policy, traced functions and memory never reach the next; its output goes to
`build/bench_logs/<name>.log`, its JSON to `<output-dir>`. A benchmark that fails or is
skipped (decoding needs a trained translation model; serving runs when
`benchmarks/serving_speed.py` exists) is reported as such, and the others still run.

The report gives the machine, the load average before and after (these machines are
shared: every figure is a ratio of contenders measured side by side in one process), issue
11's goals with their figures, and each benchmark's tables. A benchmark states its goals in
its JSON as `"goals": [{"key", "goal", "figure", "met"}]` (`met`: true, false, or null when
that run did not measure it); the keys are those of `ISSUE_GOALS`.

Writes `<output-dir>/benchmarks.json` and `--report` (default `BENCHMARKS.md`). Only a
complete full run replaces those two: `--quick` writes to `build/bench_quick/`, and a run
with `--only` or `--skip` to `benchmarks_partial.json` and `build/BENCHMARKS.partial.md`.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import keras

from benchmarks import recurrent_speed, training_speed
from zoo.analysis.machine import describe_machine, machine_line
from zoo.training.runtime import has_native_bfloat16

ROOT = Path(__file__).resolve().parents[1]

# Issue 11's goals, in its order: key, the goal, where it is measured.
ISSUE_GOALS = [
    ("training_vs_keras_nlp", "Training ≥ 1.25× the keras-nlp-built equivalent", "training_speed"),
    (
        "float32_fraction_of_peak_base",
        "float32 ≥ 60 % of the float32 peak (base)",
        "training_speed",
    ),
    (
        "bfloat16_fraction_of_peak_base",
        "mixed_bfloat16 ≥ 40 % of the bfloat16 peak (base)",
        "training_speed",
    ),
    (
        "cached_decoding_vs_recompute",
        "Cached decoding ≥ 5× recomputation at 128 new tokens",
        "cached_decoding",
    ),
    ("recurrent_vs_keras", "Recurrent families no slower than plain Keras", "recurrent_speed"),
    (
        "serving_p50_latency",
        "Exported translation p50 latency < 100 ms at batch 1",
        "serving_speed",
    ),
    (
        "serving_throughput",
        "Exported translation ≥ 250 sentences/s at batch 64, beam 4",
        "serving_speed",
    ),
    ("translation_bleu", "Translation recipe BLEU ≥ 45 in its 20 minutes", None),
    ("gpu_mfu", "≥ 40 % MFU for the base training step on an H200", None),
]
ELSEWHERE = {
    "translation_bleu": "measured by the translation recipe's 20-minute run (README), not here",
    "gpu_mfu": "measured by benchmarks/gpu_check.sh on a lent GPU machine, not here",
}


@dataclass(frozen=True)
class Benchmark:
    name: str
    title: str
    full: tuple[str, ...]  # arguments of the full run
    quick: tuple[str, ...] | None  # None: not part of --quick
    outputs: tuple[str, ...]  # JSON files it writes ({backend} filled in)


BENCHMARKS = [
    Benchmark(
        "training_speed",
        "Transformer training: zoo, keras-nlp, Keras MultiHeadAttention, the matmul peak",
        (),
        ("--quick",),
        ("training_speed.json",),
    ),
    Benchmark(
        "profile_step",
        "Where a training step's time goes: zoo and keras-nlp under the TensorFlow profiler",
        (),
        None,
        ("profile_step.json",),
    ),
    Benchmark(
        "recurrent_speed",
        "Recurrent families: zoo against plain Keras stacks",
        (),
        ("--quick",),
        ("recurrent_speed.json",),
    ),
    Benchmark(
        "precision_speed",
        "float32 against mixed_bfloat16, per family",
        ("--repeats", "3"),
        ("--models", "gru", "--repeats", "1", "--batch-size", "4", "--length", "8"),
        ("precision_speed.json",),
    ),
    Benchmark(
        "sequential_vs_parallel",
        "Sequential against parallel: step time against sequence length",
        (),  # its defaults: what `make bench` ran before run_all
        ("--lengths", "16", "32", "--repeats", "1", "--batch-size", "4"),
        ("sequential_vs_parallel_{backend}.json",),
    ),
    Benchmark(
        "cached_decoding",
        "Decoding: cached against recomputing the prefix, beam 4 against greedy",
        (),
        ("--quick",),
        ("cached_decoding.json",),
    ),
    Benchmark(
        "decode_speed",
        "Decoding a trained translation model: beam-search settings",
        (),  # plus --run-dir, see decode_arguments
        None,
        ("decode_speed.json",),
    ),
    Benchmark(
        "serving_speed",
        "Serving the exported translation model",
        (),
        ("--quick",),
        ("serving_speed.json",),
    ),
]


def decode_arguments(run_dir: Path) -> tuple[list[str] | None, str]:
    """decode_speed's `--run-dir` (and `--data`) for a trained translation run, or why not."""
    checkpoints = run_dir / "checkpoints"
    if not any((checkpoints / name).exists() for name in ("final.keras", "latest.keras")):
        return None, (
            f"needs a trained translation model ({run_dir}/checkpoints; `python -m "
            "recipes.translate`, then `--decode-run-dir`)"
        )
    arguments = ["--run-dir", str(run_dir)]
    results = run_dir / "results.json"
    if results.exists():
        data = json.loads(results.read_text()).get("settings", {}).get("data")
        if data:
            arguments += ["--data", str(data)]
    return arguments, ""


def summary_date() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def run_benchmark(benchmark: Benchmark, arguments: list[str], output_dir: Path, timeout: float):
    """Run one benchmark in a child process; returns its record (status, seconds, log)."""
    log_path = ROOT / "build" / "bench_logs" / f"{benchmark.name}.log"  # git ignores build/
    log_path.parent.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", f"benchmarks.{benchmark.name}", *arguments]
    command += ["--output-dir", str(output_dir)]
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL=os.environ.get("TF_CPP_MIN_LOG_LEVEL", "2"))
    print(f"\n== {benchmark.name}: {' '.join(command[1:])}", flush=True)
    start = time.perf_counter()
    with open(log_path, "w") as log:
        try:
            code = subprocess.run(
                command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env=env, timeout=timeout
            ).returncode
        except subprocess.TimeoutExpired:
            code = "timeout"
    seconds = time.perf_counter() - start
    record = {
        "command": "python -m benchmarks." + " ".join([benchmark.name, *arguments]),
        "seconds": round(seconds, 1),
        "log": str(log_path),
    }
    if code != 0:
        tail = log_path.read_text()[-1500:]
        print(tail)
        return {**record, "status": f"failed ({code})", "error_tail": tail}
    documents = {}
    backend = keras.backend.backend()
    for name in benchmark.outputs:
        path = output_dir / name.format(backend=backend)
        if path.exists():
            documents[path.name] = json.loads(path.read_text())
    print(f"   done in {seconds:.0f} s", flush=True)
    return {**record, "status": "ok", "documents": documents}


def earlier_results(benchmark: Benchmark, output_dir: Path, previous: dict | None) -> dict:
    """The record of a benchmark from the JSON an earlier run left in `output_dir`, with
    that run's command and time when its summary (`previous`) has them."""
    if previous and previous.get("status") != "ok":
        return previous
    backend = keras.backend.backend()
    documents = {}
    for name in benchmark.outputs:
        path = output_dir / name.format(backend=backend)
        if path.exists():
            documents[path.name] = json.loads(path.read_text())
    if not documents:
        return {"status": f"not run (no {', '.join(benchmark.outputs)} in {output_dir})"}
    if previous:
        return {**previous, "documents": documents}
    command = " ".join(["python -m benchmarks." + benchmark.name, *benchmark.full])
    return {"status": "ok", "command": f"{command} (an earlier run)", "documents": documents}


def collect_goals(records: dict) -> list[dict]:
    """Issue 11's goals in order, each filled from the benchmark that states it."""
    stated = {}
    for record in records.values():
        for document in record.get("documents", {}).values():
            for goal in document.get("goals", []):
                stated[goal["key"]] = goal
    rows = []
    for key, text, source in ISSUE_GOALS:
        if key in stated:
            rows.append({**stated[key], "goal": text, "source": source})
        elif source is None:
            rows.append({"key": key, "goal": text, "figure": ELSEWHERE[key], "met": None})
        else:
            record = records.get(source, {})
            why = record.get("status", "not run")
            if why == "ok":
                why = "ran, but states no figure for it"
            rows.append(
                {
                    "key": key,
                    "goal": text,
                    "figure": f"{source}: {why}",
                    "met": None,
                    "source": source,
                }
            )
    return rows


def goals_table(goals: list[dict]) -> str:
    verdict = {True: "**met**", False: "not met", None: "—"}
    lines = ["| goal (issue 11) | figure | met? |", "|---|---|---|"]
    for goal in goals:
        lines.append(f"| {goal['goal']} | {goal['figure']} | {verdict[goal['met']]} |")
    return "\n".join(lines)


def precision_table(document: dict) -> str:
    lines = [
        "| model | float32 s/step | mixed_bfloat16 s/step | bfloat16 speed-up |",
        "|---|---:|---:|---:|",
    ]
    for name, row in document["steps"].items():
        lines.append(
            f"| {name} | {row['float32_seconds']} | {row['mixed_bfloat16_seconds']} | "
            f"{row['bfloat16_speedup']} |"
        )
    return "\n".join(lines)


def decode_table(document: dict) -> str:
    if "table" in document:
        return document["table"]
    rates = document.get("sentences_per_second", {})
    plain = rates.get("plain")
    lines = ["| setting | sentences/s | × plain |", "|---|---:|---:|"]
    for name, rate in rates.items():
        ratio = f"{rate / plain:.2f}" if plain else "—"
        lines.append(f"| {name} | {rate:.1f} | {ratio} |")
    return "\n".join(lines)


def section(name: str, record: dict) -> str:
    """A benchmark's part of the report: its tables, or why there are none."""
    documents = record.get("documents", {})
    if record.get("status") != "ok":
        ran = (
            f" Command: `{record['command']}`; log: {record['log']}." if "command" in record else ""
        )
        return f"{record.get('status', 'not run').capitalize()}.{ran}"
    took = "" if record.get("seconds") is None else f" ({record['seconds']:.0f} s)"
    header = f"Command: `{record['command']}`{took}."
    if not documents:
        return f"{header} It wrote no JSON."
    document = next(iter(documents.values()))
    parts = [header]
    if name == "training_speed":
        settings = document["settings"]
        parts += [
            f"Settings: {json.dumps(settings)}.",
            "Weights (they must be equal: the same architecture three ways):",
            training_speed.weights_table(document["rows"]),
            "Target tokens/s (median of the rounds; contenders interleaved), the ratio zoo / "
            "peer (> 1: zoo is faster), and the FLOP/s a step achieves against a large matmul "
            "of the same dtype measured between the contenders in the same rounds; "
            "(per round): the range of the ratio over the rounds, the noise to read it by:",
            training_speed.table(document["rows"]),
        ]
    elif name == "precision_speed":
        parts.append(precision_table(document))
    elif name == "decode_speed":
        parts.append(decode_table(document))
    elif name == "recurrent_speed" and "rows" in document:
        parts.append(recurrent_speed.table(document["rows"]))
    elif "table" in document:
        parts.append(document["table"])
    else:
        parts.append("```json\n" + json.dumps(document, indent=1)[:3000] + "\n```")
    return "\n\n".join(parts)


def report(summary: dict, records: dict) -> str:
    machine = summary["machine"]
    quick = " (`--quick`: CI-sized models, not figures to quote)" if summary["quick"] else ""
    took = f" in {summary['seconds'] / 60:.1f} minutes"
    if summary.get("report_only"):
        took = ", from the JSON of the runs named in each section"
    if summary.get("rendered_again"):
        took += f" (tables rendered again from its JSON on {summary['rendered_again']})"
    lines = [
        "# Benchmarks",
        "",
        f"Generated by `{summary['command']}` on {summary['date']}{took}{quick}.",
        "",
        "Every figure is measured in one process with the contenders taking turns, after "
        "warm-up, as the median of several rounds; ratios between contenders are the result. "
        "The machine is shared, so absolute times say little on their own.",
        "",
        "## Machine",
        "",
        f"- {machine_line(machine)}",
        f"- native bfloat16 (AVX-512 BF16 / AMX / GPU): {summary['native_bfloat16']}",
        f"- load average (1 min) before: {summary['load_before']:.2f}, after: "
        f"{summary['load_after']:.2f} on {machine['logical_cores']} cores",
    ]
    if summary.get("conditions"):
        lines.append(f"- conditions: {summary['conditions']}")
    lines += ["", "## Issue 11's goals", "", goals_table(summary["goals"]), ""]
    for benchmark in BENCHMARKS:
        if benchmark.name not in records:
            continue
        lines += [
            f"## {benchmark.title}",
            "",
            f"`benchmarks/{benchmark.name}.py`. "
            + section(benchmark.name, records[benchmark.name]),
            "",
        ]
    # Measured apart (it starts servers): `python -m benchmarks.serving_load`, its table kept
    # in docs/results/ with the command and conditions of its run.
    serving_load = ROOT / "docs" / "results" / "serving_load.md"
    if serving_load.exists():
        lines += ["## zoo serve under load", "", serving_load.read_text("utf-8").strip(), ""]
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="CI-sized: tiny models, seconds")
    parser.add_argument("--output-dir", type=Path, help="default: docs/results (quick: build/)")
    parser.add_argument("--report", type=Path, help="default: BENCHMARKS.md (quick: build/)")
    parser.add_argument("--only", nargs="+", help="run these benchmarks only")
    parser.add_argument("--skip", nargs="+", default=[], help="do not run these")
    parser.add_argument("--decode-run-dir", type=Path, default=Path("runs/translate"))
    parser.add_argument("--serving-model", type=Path, default=Path("saved_models/translate_en_fr"))
    parser.add_argument(
        "--serving-data",
        help="the pairs the served model trained on, for its held-out sentences "
        "(e.g. ../shared/data/fra-eng/fra.txt; default: the embedded corpus)",
    )
    parser.add_argument("--conditions", default="", help="what else ran, for the report")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds per benchmark")
    parser.add_argument(
        "--report-only", action="store_true", help="run nothing: report the JSON already there"
    )
    args = parser.parse_args(argv)
    quick_dir = Path("build/bench_quick")
    output_dir = args.output_dir or (quick_dir if args.quick else Path("docs/results"))
    # Only a complete full run replaces BENCHMARKS.md and benchmarks.json.
    partial = bool(args.only or args.skip)
    if args.quick:
        default_report = quick_dir / "BENCHMARKS.md"
    else:
        default_report = Path("build/BENCHMARKS.partial.md" if partial else "BENCHMARKS.md")
    report_path = args.report or default_report
    summary_name = "benchmarks_partial.json" if partial else "benchmarks.json"
    output_dir, report_path = (ROOT / output_dir).resolve(), (ROOT / report_path).resolve()
    known = {b.name for b in BENCHMARKS}
    for name in (args.only or []) + args.skip:
        if name not in known:
            parser.error(f"unknown benchmark {name!r}; known: {', '.join(sorted(known))}")

    start, load_before = time.perf_counter(), os.getloadavg()[0]
    previous = {}  # --report-only: the summary of the run that wrote the JSON, if any
    if args.report_only and (output_dir / summary_name).exists():
        previous = json.loads((output_dir / summary_name).read_text())
    records = {}
    for benchmark in BENCHMARKS:
        if (args.only and benchmark.name not in args.only) or benchmark.name in args.skip:
            continue
        if args.report_only:
            records[benchmark.name] = earlier_results(
                benchmark, output_dir, previous.get("benchmarks", {}).get(benchmark.name)
            )
            continue
        if args.quick and benchmark.quick is None:
            records[benchmark.name] = {"status": "not part of --quick"}
            continue
        arguments = list(benchmark.quick if args.quick else benchmark.full)
        if (
            benchmark.name == "serving_speed"
            and not (ROOT / "benchmarks/serving_speed.py").exists()
        ):
            records[benchmark.name] = {"status": "skipped: benchmarks/serving_speed.py not present"}
            continue
        if benchmark.name == "serving_speed" and not args.quick:
            versions = [p for p in (ROOT / args.serving_model).glob("*") if p.name.isdigit()]
            if not versions:
                records[benchmark.name] = {
                    "status": f"skipped: no exported translation model in {args.serving_model} "
                    "(`make demo` or `python -m recipes.translate`, then `--serving-model`)"
                }
                continue
            arguments += ["--model", str(args.serving_model)]
            if args.serving_data:
                arguments += ["--data", args.serving_data]
        if benchmark.name == "decode_speed":
            extra, why = decode_arguments(ROOT / args.decode_run_dir)
            if extra is None:
                records[benchmark.name] = {"status": f"skipped: {why}"}
                continue
            arguments += extra
        records[benchmark.name] = run_benchmark(benchmark, arguments, output_dir, args.timeout)

    command = shlex.join(["python", "-m", "benchmarks.run_all", *(argv or sys.argv[1:])])
    summary = {
        "command": command.strip(),
        "date": summary_date(),
        "quick": args.quick,
        "report_only": args.report_only,
        "seconds": round(time.perf_counter() - start, 1),
        "machine": describe_machine(),
        "native_bfloat16": has_native_bfloat16(),
        "load_before": load_before,
        "load_after": os.getloadavg()[0],
        "conditions": args.conditions,
        "goals": collect_goals(records),
        "benchmarks": {
            name: {k: v for k, v in record.items() if k != "documents"}
            for name, record in records.items()
        },
    }
    if previous:  # the report stays that run's: its command, time, load and conditions
        kept = ("command", "date", "quick", "seconds", "machine", "native_bfloat16")
        kept += ("load_before", "load_after", "conditions")
        summary.update({key: previous[key] for key in kept if key in previous})
        summary["report_only"], summary["rendered_again"] = False, summary_date()
    output_dir.mkdir(parents=True, exist_ok=True)
    (output_dir / summary_name).write_text(json.dumps(summary, indent=1) + "\n")
    report_path.parent.mkdir(parents=True, exist_ok=True)
    report_path.write_text(report(summary, records) + "\n")
    print(f"\n{goals_table(summary['goals'])}\n\nWrote {report_path}, {output_dir / summary_name}")
    failed = [name for name, record in records.items() if record["status"].startswith("failed")]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
