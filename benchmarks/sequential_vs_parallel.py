"""Sequential vs parallel: forward + backward time against sequence length, per family.

A recurrent layer takes T dependent steps, so its time should grow in proportion to T
whatever the hardware; a Transformer layer computes all T positions at once (time nearly
flat while the machine has parallel width to spare) until attention's T × T score matrix
makes it grow as T². This measures both, in one process, at matched width (every family
`hidden_dim=64`, one layer, the same batch of token ids), and reports ratios: each
recurrent family's time over the Transformer's at every T, and each family's growth
exponent between neighbouring lengths (1: linear in T, 2: quadratic).

    python -m benchmarks.sequential_vs_parallel                       # TensorFlow
    KERAS_BACKEND=jax python -m benchmarks.sequential_vs_parallel     # JAX

Writes `sequential_vs_parallel_<backend>.{json,png}` to `--output-dir`. It imports only
`zoo.models` and `zoo.analysis` modules that need no TensorFlow, so the JAX run works on a
machine without it.
"""

from __future__ import annotations

import argparse
import json
import os

import keras
import numpy as np

import zoo
from zoo.analysis.machine import describe_machine, machine_line
from zoo.analysis.step_timing import gradient_step, log_log_slopes, median_seconds

LENGTHS = (16, 32, 64, 128, 256, 512, 1024)
WIDTH = 64
VOCAB_SIZE, NUM_CLASSES = 16, 4
FAMILIES = {
    "simple_rnn": dict(hidden_dim=WIDTH, num_layers=1, bidirectional=False, dropout=0.0),
    "lstm": dict(hidden_dim=WIDTH, num_layers=1, bidirectional=False, dropout=0.0),
    "transformer": dict(
        hidden_dim=WIDTH, num_layers=1, num_heads=4, intermediate_dim=4 * WIDTH, dropout=0.0
    ),
}


def measure(lengths=LENGTHS, batch_size=32, repeats=7, seed=0) -> dict:
    """Median forward + backward seconds per family and length.

    The families take turns at each length, so a change in the machine's load during the
    run touches all three alike.
    """
    rng = np.random.default_rng(seed)
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    steps = {}
    for name, overrides in FAMILIES.items():
        keras.utils.set_random_seed(seed)
        model = zoo.build(
            name,
            task="classify",
            preset="tiny",
            vocab_size=VOCAB_SIZE,
            num_classes=NUM_CLASSES,
            **overrides,
        )
        steps[name] = gradient_step(model, loss)
    seconds = {name: [] for name in FAMILIES}
    for length in lengths:
        token_ids = rng.integers(1, VOCAB_SIZE, size=(batch_size, length)).astype("int32")
        labels = rng.integers(0, NUM_CLASSES, size=batch_size).astype("int32")
        for name, step in steps.items():
            seconds[name].append(median_seconds(step, token_ids, labels, repeats=repeats))
        times = ", ".join(f"{name} {seconds[name][-1] * 1000:.1f} ms" for name in FAMILIES)
        print(f"  T={length:5d}: {times}", flush=True)
    return seconds


def ratio_table(lengths, seconds) -> str:
    """Markdown: per T, each recurrent family's time over the Transformer's, and each
    family's growth exponent from the previous T."""
    recurrent = [name for name in seconds if name != "transformer"]
    slopes = {name: [None, *log_log_slopes(lengths, values)] for name, values in seconds.items()}
    header = [f"{name} / transformer" for name in recurrent]
    header += [f"growth exponent {name}" for name in seconds]
    lines = ["| T | " + " | ".join(header) + " |", "|---:|" + "---:|" * len(header)]
    for index, length in enumerate(lengths):
        row = [f"{seconds[name][index] / seconds['transformer'][index]:.2f}" for name in recurrent]
        row += ["—" if slopes[n][index] is None else f"{slopes[n][index]:.2f}" for n in seconds]
        lines.append(f"| {length} | " + " | ".join(row) + " |")
    return "\n".join(lines)


def run(
    output_dir="docs/results",
    lengths=LENGTHS,
    batch_size=32,
    repeats=7,
    prefix="sequential_vs_parallel",
) -> dict:
    machine = describe_machine()
    backend = keras.backend.backend()
    print(
        f"Forward + backward, batch {batch_size}, width {WIDTH}, one layer; {machine_line(machine)}"
    )
    lengths = tuple(lengths)
    seconds = measure(lengths, batch_size, repeats)
    table = ratio_table(lengths, seconds)
    print("\n" + table)
    document = {
        "backend": backend,
        "machine": machine,
        "batch_size": batch_size,
        "width": WIDTH,
        "repeats": repeats,
        "lengths": list(lengths),
        "median_seconds": seconds,
        "ratio_to_transformer": {
            name: (np.asarray(values) / np.asarray(seconds["transformer"])).round(4).tolist()
            for name, values in seconds.items()
            if name != "transformer"
        },
        "growth_exponents": {name: log_log_slopes(lengths, v) for name, v in seconds.items()},
        "table": table,
    }
    base = os.path.join(output_dir, f"{prefix}_{backend}")
    os.makedirs(output_dir, exist_ok=True)
    with open(base + ".json", "w") as file:
        json.dump(document, file, indent=1)
        file.write("\n")
    print(f"\nWrote {base}.json")
    try:
        from zoo.analysis.plots import plot_step_times
    except ImportError as error:  # e.g. a GPU machine without matplotlib
        print(f"No plot ({error}); pip install matplotlib for {base}.png")
    else:
        title = f"Forward + backward on {backend}: {machine_line(machine)}"
        print(f"Wrote {plot_step_times(lengths, seconds, base + '.png', title=title)}")
    return document


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--output-dir", default="docs/results")
    parser.add_argument("--lengths", nargs="+", type=int, default=list(LENGTHS))
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args(argv)
    run(args.output_dir, args.lengths, args.batch_size, args.repeats)


if __name__ == "__main__":
    main()
