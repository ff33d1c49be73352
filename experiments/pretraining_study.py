"""Does pre-training pay at equal total CPU time? Masked-LM, replaced-token detection, none.

Every arm gets the same training minutes in all (`--minutes`), on the same SST-2 split:
- `none`: `recipes.classify` trains a Transformer from scratch for the whole budget;
- `mlm`, `rtd`: `recipes.fill_mask --objective mlm|rtd` pre-trains the same architecture
  for `--pretrain-share` of the budget on books and SST-2's training sentences (never the
  sentences the classifier is scored on), then `recipes.classify --pretrained` fine-tunes it
  for the rest, at the from-scratch arm's learning rate (`--fine-tune-learning-rate`).
Each classifier validates every `--steps-per-epoch` steps; its test accuracy on the held-out
whole sentences (688 with the default shares) is scored once, at the end, on the better of its
best-validated and final weights. The budget counts training seconds (each recipe's
`--time-budget`); tokenizers, data loading and scoring come on top, the same for every arm.

    python -m experiments.pretraining_study --minutes 6 --seeds 0 1 2

Writes `--out` (JSON: every run's figures and the table) and a picture beside it: validation
accuracy against minutes since the arm began, pre-training included. Each run is its own
process (`python -m recipes.X`), one at a time; run folders go under `--runs`.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ARMS = ("none", "mlm", "rtd")
# The pre-trained backbone's architecture (the fill-mask recipe's `fill_mask` tuning): the
# from-scratch arm builds the same one, so that only the starting weights differ.
SAME_ARCHITECTURE = ["--norm-first", "true", "--activation", "gelu", "--dropout", "0.0"]
SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=6.0, help="training minutes per arm")
    parser.add_argument("--pretrain-share", type=float, default=0.5)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--arms", nargs="+", default=list(ARMS), choices=ARMS)
    parser.add_argument("--steps-per-epoch", type=int, default=150)
    parser.add_argument(
        "--fine-tune-learning-rate",
        type=float,
        default=5e-4,
        help="the pre-trained arms' peak rate (default: from-scratch's, so that only the "
        "starting weights differ; recipes.classify's own default with --pretrained is 1e-4)",
    )
    parser.add_argument(
        "--sst2", default=str(SHARED / "sst2" / "train.tsv"), help="SST-2's train.tsv"
    )
    parser.add_argument("--books", default=str(SHARED / "gutenberg"), help="Gutenberg folder")
    parser.add_argument("--runs", default="runs/pretraining_study")
    parser.add_argument(
        "--reuse", action="store_true", help="take finished runs in --runs instead of rerunning"
    )
    parser.add_argument("--out", default="docs/results/pretraining_study.json")
    return parser.parse_args(argv)


def recipe(name: str, flags: list[str], run_dir: Path, reuse: bool = False) -> dict:
    """`python -m recipes.<name> FLAGS --run-dir RUN_DIR --restart --no-export`; its results
    (with `reuse`, those of a finished run already in `run_dir`, run with the same flags)."""
    finished = run_dir / "results.json"
    if reuse and finished.is_file() and (run_dir / "study_flags.json").is_file():
        if json.loads((run_dir / "study_flags.json").read_text()) == flags:
            print(f"Reusing {finished}", flush=True)
            return json.loads(finished.read_text())
    command = [sys.executable, "-m", f"recipes.{name}", *flags]
    command += ["--run-dir", str(run_dir), "--restart", "--no-export"]
    print("$", " ".join(command), flush=True)
    log = run_dir.with_suffix(".log")
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "w") as out:
        process = subprocess.run(command, stdout=out, stderr=subprocess.STDOUT)
    if process.returncode:
        raise RuntimeError(f"{name} failed (exit {process.returncode}); see {log}")
    (run_dir / "study_flags.json").write_text(json.dumps(flags))
    return json.loads((run_dir / "results.json").read_text())


def run_arm(arm: str, seed: int, args) -> dict:
    budget = args.minutes * 60
    runs = Path(args.runs) / f"{arm}_seed{seed}"
    classify = [
        "--data", args.sst2, "--model", "transformer", "--seed", str(seed),
        "--steps-per-epoch", str(args.steps_per_epoch),
    ]  # fmt: skip
    pretrain_seconds, pretraining = 0.0, None
    if arm != "none":
        pretraining = recipe(
            "fill_mask",
            [
                "--objective",
                arm,
                "--data",
                f"{args.books},{args.sst2}",
                "--seed",
                str(seed),
                "--model",
                "transformer",
                "--time-budget",
                str(budget * args.pretrain_share),
            ],  # fmt: skip
            runs / "pretrain",
            args.reuse,
        )
        pretrain_seconds = pretraining["metrics"]["train_seconds"]
        classify += ["--pretrained", str(runs / "pretrain")]
        classify += ["--learning-rate", str(args.fine_tune_learning_rate)]
    else:
        classify += SAME_ARCHITECTURE
    fine_tune = recipe(
        "classify",
        classify + ["--time-budget", str(budget - pretrain_seconds)],
        runs / "classify",
        args.reuse,
    )
    metrics = fine_tune["metrics"]
    return {
        "arm": arm,
        "seed": seed,
        "pretrain_seconds": pretrain_seconds,
        "pretrain_steps": pretraining and pretraining["metrics"]["train_steps"],
        "pretrain_validation": pretraining
        and {
            k: v
            for k, v in pretraining["metrics"].items()
            if k.startswith("validation_") and not isinstance(v, dict)
        },
        "fine_tune_seconds": metrics["train_seconds"],
        "fine_tune_steps": metrics["train_steps"],
        "test_accuracy": metrics["test_accuracy"],
        "validation_accuracy": metrics["validation_accuracy"],
        # (minutes since the arm began, validation accuracy) after each validation
        "curve": [
            (round((pretrain_seconds + seconds) / 60, 2), accuracy)
            for seconds, accuracy in fine_tune["curve"]
        ],
    }


def table(results: list[dict]) -> dict:
    """Per arm: test accuracies over seeds, their mean and standard error."""
    rows = {}
    for arm in dict.fromkeys(r["arm"] for r in results):
        accuracies = [r["test_accuracy"] for r in results if r["arm"] == arm]
        spread = (
            statistics.stdev(accuracies) / len(accuracies) ** 0.5 if len(accuracies) > 1 else None
        )
        rows[arm] = {
            "test_accuracies": accuracies,
            "mean": round(statistics.mean(accuracies), 4),
            "standard_error": spread and round(spread, 4),
        }
    return rows


def plot(results: list[dict], path: Path, minutes: float) -> str:
    from matplotlib.figure import Figure

    from zoo.analysis.plots import save_figure

    colors = {"none": "tab:gray", "mlm": "tab:blue", "rtd": "tab:green"}
    figure = Figure(figsize=(7, 4.2))
    axes = figure.add_subplot()
    for index, run in enumerate(results):
        xs, ys = zip(*run["curve"]) if run["curve"] else ((), ())
        seen = any(r["arm"] == run["arm"] for r in results[:index])
        axes.plot(xs, ys, "-o", ms=3, lw=1, color=colors[run["arm"]],
                  label=None if seen else run["arm"])  # fmt: skip
        axes.plot([minutes], [run["test_accuracy"]], "x", color=colors[run["arm"]])
    axes.set_xlabel("training minutes since the arm began (pre-training included)")
    axes.set_ylabel("SST-2 validation accuracy (x: test, end)")
    axes.set_title(f"Pre-training at equal total time ({minutes:g} min per arm)")
    axes.legend(title="pre-training")
    axes.grid(alpha=0.3)
    return save_figure(figure, path)


def main(argv=None):
    args = parse_args(argv)
    out = Path(args.out)
    results = []
    for seed in args.seeds:
        for arm in args.arms:
            start = time.perf_counter()
            results.append(run_arm(arm, seed, args))
            print(
                f"{arm} seed {seed}: test {results[-1]['test_accuracy']:.3f} "
                f"({time.perf_counter() - start:.0f} s wall)",
                flush=True,
            )
            summary = {"settings": vars(args), "table": table(results), "runs": results}
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(json.dumps(summary, indent=2))  # after every arm: nothing lost
    picture = plot(results, out.with_suffix(".png"), args.minutes)
    print(json.dumps(table(results), indent=2))
    print(f"Wrote {out} and {picture}.")


if __name__ == "__main__":
    main()
