"""The sweep's results as numbers per (model, task, length), a markdown table and JSON, with
the settings that decide them (gate initialisation, widths, learning rate, budget)."""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass

import numpy as np

from experiments.long_range.models import (
    GATED_MODELS,
    MODEL_OVERRIDES,
    OPEN_FORGET_BIAS,
    describe_gate_init,
    describe_model,
)
from experiments.long_range.sweep import CellResult, SweepConfig
from zoo.data.long_range_tasks import ADDING_BASELINE_MSE, recall_chance


@dataclass(frozen=True)
class CellSummary:
    """One (model, task, length) over its seeds."""

    model: str
    task: str
    length: int
    mean: float
    low: float  # the worst seed: lowest accuracy, highest MSE
    high: float
    num_seeds: int
    num_solved: int
    mean_steps: float
    num_timed_out: int = 0  # seeds stopped by max_seconds_per_cell


def summarize(results: list[CellResult]) -> list[CellSummary]:
    """Group the measured results by (model, task, length), in order of first appearance
    (cells not run are left out)."""
    groups: dict[tuple, list[CellResult]] = {}
    for result in results:
        if result.score is None:
            continue
        groups.setdefault((result.model, result.task, result.length), []).append(result)
    summaries = []
    for (model, task, length), group in groups.items():
        scores = np.array([result.score for result in group])
        worst, best = (
            (scores.min(), scores.max()) if task == "recall" else (scores.max(), scores.min())
        )
        summaries.append(
            CellSummary(
                model=model,
                task=task,
                length=length,
                mean=float(scores.mean()),
                low=float(worst),
                high=float(best),
                num_seeds=len(group),
                num_solved=sum(result.solved for result in group),
                mean_steps=float(np.mean([result.steps for result in group])),
                num_timed_out=sum(result.stopped_by == "time" for result in group),
            )
        )
    return summaries


def find_summary(summaries, model: str, task: str, length: int) -> CellSummary | None:
    for summary in summaries:
        if (summary.model, summary.task, summary.length) == (model, task, length):
            return summary
    return None


def _cell_text(summary: CellSummary | None, not_run: bool = False) -> str:
    if summary is None:
        return "not run" if not_run else "—"
    digits = ".2f" if summary.task == "recall" else ".3f"
    text = f"{summary.mean:{digits}}"
    if summary.num_seeds > 1:
        text += (
            f" ({summary.low:{digits}}–{summary.high:{digits}}, "
            f"{summary.num_solved}/{summary.num_seeds} solved)"
        )
    text += f", {summary.mean_steps:.0f} steps"
    return text + (" (time cap)" if summary.num_timed_out else "")


def _weights(results: list[CellResult]) -> dict[str, dict[str, int]]:
    """`{model: {task: number of weights}}` of the cells that ran."""
    weights: dict[str, dict[str, int]] = {}
    for result in results:
        if result.num_parameters:
            weights.setdefault(result.model, {})[result.task] = result.num_parameters
    return weights


def _gates_text(config: SweepConfig, model: str) -> str:
    if model not in GATED_MODELS:
        return "no gates"
    if config.gate_init == "keras":
        return "Keras defaults" + (" (forget bias 1)" if model == "lstm" else " (update bias 0)")
    if config.gate_init == "chrono":
        return "chrono_init = T"
    gate = "forget" if model == "lstm" else "update"
    return f"{gate} gate bias {OPEN_FORGET_BIAS:g}"


def study_settings(config: SweepConfig, results: list[CellResult]) -> dict:
    """The settings that decide the results, JSON-ready: gate initialisation, each model's
    width and weights, optimiser, budget, seeds, test size."""
    models = list(dict.fromkeys(result.model for result in results)) or list(config.models)
    weights = _weights(results)
    return {
        "gate_init": config.gate_init,
        "gate_init_meaning": describe_gate_init(config.gate_init),
        "models": {
            model: {
                "label": describe_model(model, config.gate_init),
                "gates": _gates_text(config, model),
                "overrides": dict(MODEL_OVERRIDES[model]),
                "num_parameters": weights.get(model, {}),
            }
            for model in models
        },
        "optimizer": (
            f"Adam, learning rate {config.learning_rate:g}, gradients clipped to global norm "
            f"{config.clipnorm:g}"
        ),
        "budget": (
            f"at most {config.max_steps} steps of {config.batch_size} fresh sequences per cell; "
            f"training stops once {config.check_every} consecutive batches are solved"
        ),
        "skip": (
            f"T ≥ {config.skip_from_length} not run for a model that failed completely at a "
            "shorter T on every seed"
            if config.skip_after_failure
            else "every cell runs"
        ),
        "seeds": list(config.seeds),
        "num_test": config.num_test,
    }


def settings_markdown(config: SweepConfig, results: list[CellResult]) -> str:
    """`study_settings` as a two-column markdown table."""
    settings = study_settings(config, results)
    models = []
    for entry in settings["models"].values():
        counts = entry["num_parameters"]
        weights = " / ".join(f"{counts[task]:,}" for task in ("recall", "adding") if task in counts)
        tasks = " / ".join(task for task in ("recall", "adding") if task in counts)
        models.append(
            f"{entry['label']}: {entry['gates']}"
            + (f", {weights} weights ({tasks})" if weights else "")
        )
    rows = [
        ("gate init (lstm, gru)", f"**{config.gate_init}**: {settings['gate_init_meaning']}"),
        ("models", "; ".join(models)),
        ("optimiser", settings["optimizer"]),
        ("budget per cell", settings["budget"]),
        ("longer cells", settings["skip"]),
        ("seeds", ", ".join(map(str, config.seeds)) + " in every cell"),
        ("test", f"{config.num_test} held-out sequences per cell"),
    ]
    return "\n".join(
        ["| setting | value |", "|---|---|", *(f"| {name} | {value} |" for name, value in rows)]
    )


def markdown_tables(results: list[CellResult], config: SweepConfig) -> str:
    """The settings, then one table per task: a row per length, a column per model."""
    summaries = summarize(results)
    models = list(dict.fromkeys(result.model for result in results))
    labels = [describe_model(model, config.gate_init) for model in models]
    sections = [settings_markdown(config, results)]
    for task in dict.fromkeys(result.task for result in results):
        if task == "recall":
            title = (
                f"Recall: test accuracy (chance {recall_chance(config.num_symbols):.2f}; "
                f"solved ≥ 0.99)"
            )
        else:
            title = f"Adding: test MSE (always answering 1.0 scores {ADDING_BASELINE_MSE:.3f})"
        lengths = sorted({result.length for result in results if result.task == task})
        lines = [
            f"**{title}**",
            "",
            "| T | " + " | ".join(labels) + " |",
            "|---:|" + "---|" * len(models),
        ]
        not_run = {(r.model, r.length) for r in results if r.task == task and r.score is None}
        for length in lengths:
            cells = [
                _cell_text(find_summary(summaries, m, task, length), (m, length) in not_run)
                for m in models
            ]
            lines.append(f"| {length} | " + " | ".join(cells) + " |")
        sections.append("\n".join(lines))
    footnote = (
        f"Each cell: mean over seeds (worst–best, seeds solved when several), then the training "
        f"steps taken of at most {config.max_steps} (batches of {config.batch_size} fresh "
        f"sequences; training stops early once solved); scored on {config.num_test} held-out "
        "sequences."
    )
    if any(result.stopped_by == "time" for result in results):
        footnote += (
            f" *(time cap)*: training stopped after {config.max_seconds_per_cell:.0f} s, "
            "before the step budget was spent."
        )
    if any(result.score is None for result in results):
        footnote += (
            " *not run*: the model had failed completely (recall at chance, adding no better "
            "than the baseline) at a shorter T with the same budget; `--every-cell` runs it."
        )
    return "\n\n".join(sections) + "\n\n" + footnote + "\n"


def results_document(
    config: SweepConfig, results: list[CellResult], verdicts=(), machine: dict | None = None
) -> dict:
    """Everything a run measured, as one JSON-ready dict."""
    return {
        "config": dataclasses.asdict(config),
        "settings": study_settings(config, results),
        "machine": machine or {},
        "results": [result.as_dict() for result in results],
        "summary": [dataclasses.asdict(summary) for summary in summarize(results)],
        "verdicts": [dataclasses.asdict(verdict) for verdict in verdicts],
    }


def write_json(path, document: dict) -> None:
    """Write `document` to `path` through a temporary file, so a crash leaves no half file."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    temporary = f"{path}.tmp"
    with open(temporary, "w") as file:
        json.dump(document, file, indent=1)
        file.write("\n")
    os.replace(temporary, path)


def load_results(path) -> tuple[SweepConfig, list[CellResult], dict]:
    """Read back a `results_document` written by `write_json`: config, results, machine."""
    with open(path) as file:
        document = json.load(file)
    unknown = set(document["config"]) - {field.name for field in dataclasses.fields(SweepConfig)}
    if unknown:
        raise ValueError(
            f"{path} was written by an older version of the study (config fields "
            f"{', '.join(sorted(unknown))}); rerun the sweep to get a table of this version."
        )
    config = {
        key: tuple(value) if isinstance(value, list) else value
        for key, value in document["config"].items()
    }
    results = [CellResult(**result) for result in document["results"]]
    return SweepConfig(**config), results, document["machine"]
