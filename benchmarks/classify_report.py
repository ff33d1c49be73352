"""Families side by side: the `results.json` of several `recipes.classify` runs as one table
(markdown) and one picture (validation accuracy against training time).

    python -m benchmarks.classify_report runs/classify_transformer runs/classify_lstm \\
        --image docs/results/classify_sst2.png
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from zoo.analysis.accuracy_curves import plot_accuracy_curves
from zoo.runs import run_main


def load(run_dir) -> dict:
    path = Path(run_dir) / "results.json"
    if not path.is_file():
        raise FileNotFoundError(f"No results at '{path}': pass --run-dir folders of finished runs.")
    return json.loads(path.read_text())


def label_of(result: dict) -> str:
    settings = result["settings"]
    return settings["model"] + (", pre-trained" if settings.get("pretrained") else "")


def table(results: list[dict]) -> str:
    lines = [
        "| model | budget | steps | epochs | validation | test "
        "| test confusion [[TN, FP], [FN, TP]] |",
        "|---|---|---|---|---|---|---|",
    ]
    for result in results:
        metrics, settings = result["metrics"], result["settings"]
        lines.append(
            f"| {label_of(result)} | {_seconds(settings.get('time_budget'))} "
            f"| {metrics['train_steps']:,} | {metrics['epochs_run']} "
            f"| {metrics['validation_accuracy']:.4f} | **{metrics['test_accuracy']:.4f}** "
            f"| {metrics['test_confusion_matrix']} |"
        )
    return "\n".join(lines)


def _seconds(budget) -> str:
    return f"{budget:.0f} s" if budget else "-"


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run_dirs", nargs="+", help="--run-dir folders of recipes.classify")
    parser.add_argument("--image", default="docs/results/classify.png", help="the picture")
    parser.add_argument("--title", default="", help="the picture's title")
    parser.add_argument("--goal", type=float, default=None, help="a dotted line, e.g. 0.87")
    arguments = parser.parse_args(argv)
    results = [load(run_dir) for run_dir in arguments.run_dirs]
    print(table(results))
    curves = {label_of(result): result["curve"] for result in results}
    path = plot_accuracy_curves(curves, arguments.image, title=arguments.title, goal=arguments.goal)
    print(f"\nPicture: {path}")


if __name__ == "__main__":
    run_main(main)
