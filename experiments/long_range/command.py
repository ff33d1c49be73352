"""How far back can each model remember? SimpleRNN vs LSTM vs GRU vs Transformer on long lags.

Trains each model on the recall and adding tasks of Hochreiter & Schmidhuber 1997 for
T = 5 ... 1000, three seeds per cell, prints the settings, a table and a verdict on each of
the zoo's claims, and writes `long_range.{json,png}` to `--output-dir` (the JSON holds the
settings and the table as markdown too). `--gradients` instead measures how much gradient
reaches each step, before and after training (`gradient_norms.{json,png}`).

    python -m experiments.long_range                # the full sweep (about an hour on 2 CPU cores)
    python -m experiments.long_range --quick        # a small sweep in two to three minutes
    python -m experiments.long_range --gradients    # ‖∂L/∂h_t‖ vs distance, per model and gate init
    python -m experiments.long_range --gate-init keras --models lstm gru   # Keras's gate biases

The study is the rest of `experiments/long_range/`; this module wires flags to it.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import time

from experiments.long_range import claims, gradient_experiment, plot
from experiments.long_range.models import GATE_INITS, MODEL_OVERRIDES
from experiments.long_range.report import (
    load_results,
    markdown_tables,
    results_document,
    summarize,
    write_json,
)
from experiments.long_range.sweep import SweepConfig, run_sweep
from zoo.analysis import plots
from zoo.analysis.machine import describe_machine, machine_line
from zoo.runs import run_main

# 12 cells, 2.5 minutes on 2 CPU cores (140 s of training): lengths where every cell is
# cheap, all of them run, one seed, and no GRU (CI runs it: the GRU's cells are tested on
# their own).
QUICK = dict(
    models=("simple_rnn", "lstm", "transformer"),
    lengths=(10, 50),
    seeds=(0,),
    max_steps=400,
    num_test=300,
    skip_after_failure=False,
)
QUICK_GRADIENT_LENGTH = 30


def sweep_config(quick: bool = False, **overrides) -> SweepConfig:
    """The default sweep, or the quick one, with any `SweepConfig` field overridden."""
    values = dict(QUICK) if quick else {}
    values.update({key: value for key, value in overrides.items() if value is not None})
    return SweepConfig(**values)


def run(
    quick: bool = False,
    gradients: bool = False,
    output_dir: str = "docs/results",
    progress: bool = True,
    gradient_length: int | None = None,
    from_json: str | None = None,
    **overrides,
) -> dict:
    """Run the sweep (or, with `gradients`, the gradient-norm measurement), print the
    evidence, write it to `output_dir`; returns the JSON document written.

    `from_json`: re-render the table, verdicts and plot of an earlier sweep's JSON, next to
    it, without training.
    """
    if from_json is not None:
        config, results, machine = load_results(from_json)
        return report_sweep(config, results, machine, from_json.removesuffix(".json"))
    config = sweep_config(quick, **overrides)
    machine = describe_machine()
    suffix = "_quick" if quick else ""
    print(f"Machine: {machine_line(machine)}")
    if gradients:
        return _run_gradients(config, machine, output_dir, suffix, quick, gradient_length)

    print(f"Sweep: {len(config.cells())} cells, {dataclasses.asdict(config)}")
    start = time.monotonic()
    results = run_sweep(config, progress=progress)
    machine["sweep_wall_seconds"] = round(time.monotonic() - start)
    return report_sweep(config, results, machine, os.path.join(output_dir, f"long_range{suffix}"))


def report_sweep(config, results, machine, base: str) -> dict:
    """Print the tables and verdicts; write `base` + `.json` (results, verdicts and the
    markdown report) and `.png`."""
    verdicts = claims.judge_claims(results, config)
    table = markdown_tables(results, config)
    verdict_text = "\n".join(str(verdict) for verdict in verdicts)
    summaries = summarize(results)
    evidence = claims.recall_evidence(summaries, config) + claims.adding_evidence(summaries)
    evidence_text = "\n".join(evidence)
    print("\n" + table + "\nVerdicts:\n" + verdict_text + "\n\n" + evidence_text)

    minutes = machine.get("sweep_wall_seconds", float("nan")) / 60
    markdown = (
        f"Measured on {machine_line(machine)}; {minutes:.1f} minutes.\n\n{table}\nVerdicts:\n\n"
        + "\n".join(f"- {v.status}: {v.claim}. {v.evidence}" for v in verdicts)
        + "\n\n"
        + "\n".join(f"- {line}" for line in evidence_text.splitlines())
        + "\n"
    )
    document = dict(results_document(config, results, verdicts, machine), markdown=markdown)
    write_json(base + ".json", document)
    plot.plot_long_range(results, config, base + ".png")
    print(f"\nWrote {base}.json (with the table as markdown) and {base}.png")
    return document


def _run_gradients(config, machine, output_dir, suffix, quick, length) -> dict:
    if length is None:
        length = QUICK_GRADIENT_LENGTH if quick else 100
    curves = gradient_experiment.measure_gradient_norm_curves(config, length=length)
    for stage, lines in curves.curves.items():
        print(f"{stage}:")
        for label, norms in lines.items():
            # A cell-state curve ends in 0 (the last c feeds no later step): start one back.
            first = 1 if label.endswith("cell c") else 0
            norms = norms[: len(norms) - first]
            print(
                f"  {label:28s} ‖∂L/∂state‖ at distance {first}: {norms[-1]:.3g}, at "
                f"{length - 1}: {norms[0]:.3g}; factor per step back "
                f"{gradient_experiment.decay_per_step(norms):.3f}"
            )
    for label, result in curves.trained.items():
        print(f"trained {label}: recall accuracy {result.score:.2f} at T={length}")
    accuracies = "; ".join(f"{label} {r.score:.2f}" for label, r in curves.trained.items())
    steps = config.max_steps
    panels = {
        "at initialisation": curves.curves["at initialisation"],
        f"after ≤ {steps} steps\nrecall accuracy: {accuracies}": curves.curves["after training"],
    }
    document = dict(curves.as_dict(), machine=machine, config=dataclasses.asdict(config))
    base = os.path.join(output_dir, f"gradient_norms{suffix}")
    write_json(base + ".json", document)
    plots.plot_gradient_norms(
        panels,
        base + ".png",
        title=f"Gradient reaching step t from a recall loss at the end (T = {length})",
    )
    print(f"Wrote {base}.json and {base}.png")
    return document


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a small sweep (2-3 minutes)")
    parser.add_argument(
        "--gradients", action="store_true", help="measure ‖∂L/∂h_t‖ instead of the sweep"
    )
    parser.add_argument("--output-dir", default="docs/results")
    parser.add_argument(
        "--from-json", help="re-render an earlier sweep's JSON (table, verdicts, plot); no training"
    )
    parser.add_argument("--models", nargs="+", help=" ".join(MODEL_OVERRIDES))
    parser.add_argument("--tasks", nargs="+", help="recall adding")
    parser.add_argument("--lengths", nargs="+", type=int)
    parser.add_argument("--seeds", nargs="+", type=int)
    parser.add_argument("--max-steps", type=int)
    parser.add_argument("--batch-size", type=int)
    parser.add_argument("--learning-rate", type=float)
    parser.add_argument(
        "--max-seconds-per-cell",
        type=float,
        help="cap each cell's training time (default: none, the step budget alone)",
    )
    parser.add_argument(
        "--every-cell",
        action="store_true",
        help="also run lengths beyond a model's complete failure (slower)",
    )
    parser.add_argument(
        "--gate-init",
        choices=GATE_INITS,
        help="initial gate biases of lstm and gru: keras (Keras's defaults), chrono "
        "(chrono_init = T, the default), open (keep-gate bias 3)",
    )
    parser.add_argument("--gradient-length", type=int, help="T for --gradients (default 100)")
    return parser


def main(argv=None) -> None:
    args = build_parser().parse_args(argv)
    tuples = {
        name: tuple(getattr(args, name)) if getattr(args, name) else None
        for name in ("models", "tasks", "lengths", "seeds")
    }
    run(
        quick=args.quick,
        gradients=args.gradients,
        output_dir=args.output_dir,
        gradient_length=args.gradient_length,
        from_json=args.from_json,
        max_steps=args.max_steps,
        batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        max_seconds_per_cell=args.max_seconds_per_cell,
        skip_after_failure=False if args.every_cell else None,
        gate_init=args.gate_init,
        **tuples,
    )


if __name__ == "__main__":
    run_main(main)
