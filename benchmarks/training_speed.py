"""Transformer training throughput: zoo against keras-nlp and Keras's MultiHeadAttention,
and against the machine's matmul peak.

For each group (`preset:task`; presets `small` and `base`, the paper's d_model 512, d_ff
2048, 8 heads, 6 + 6 layers, vocabulary 37,000; tasks `seq2seq` and `lm`) and precision
(`float32`, `mixed_bfloat16`), three models of the same architecture — zoo's, one assembled
from `keras_nlp.layers`, one on `keras.layers.MultiHeadAttention` (`transformer_peers`) —
train on the same random batches with the same optimizer, loss and metric
(`compile_seq2seq`: Adam, label smoothing 0.1, clip norm 1), through `train_on_batch`, the
compiled train step `fit()` runs. Each length in `--lengths` gets batches of about
`--tokens-per-step` target tokens. The contenders take turns, after warm-up, and the
medians over rounds give target tokens/s and the ratios zoo / peer (> 1: zoo is faster).
Weight counts are reported and must be equal.

The model settings are the translation recipe's (pre-norm, no dropout, tied embeddings);
positions are learned in all three (keras-nlp's only kind; zoo's `position_encoding=
"learned"`) so the weights match exactly. `--post-norm --dropout 0.1` gives the paper's.

Closeness to the limit: FLOPs per step are counted from the architecture (`flops.py`:
matmuls and attention, training = 3 x forward); a large matmul through `keras.ops` in the
step's dtype (float32, or bfloat16 under mixed precision), sampled between the contenders
in every round, gives the peak; the table reports achieved FLOP/s and its fraction.

    python -m benchmarks.training_speed                       # the full grid
    python -m benchmarks.training_speed --quick               # tiny, seconds (CI)
    python -m benchmarks.training_speed --groups base:seq2seq --lengths 128

Writes `training_speed.json` to `--output-dir`.
"""

from __future__ import annotations

import argparse

import keras
import numpy as np

import zoo
from benchmarks.flops import MatmulPeak, config_training_flops
from benchmarks.side_by_side import time_interleaved, write_json
from benchmarks.transformer_peers import PEERS
from zoo.analysis.machine import describe_machine, machine_line
from zoo.training import compile_seq2seq

CONTENDERS = ("zoo", *PEERS)
# Issue 11's goals: zoo / keras-nlp at the same precision, and the fraction of the matmul
# peak of the same dtype that the base configuration reaches.
SPEEDUP_GOAL = 1.25
PEAK_FRACTION_GOALS = {"float32": 0.60, "mixed_bfloat16": 0.40}
POLICIES = {"float32": "float32", "mixed_bfloat16": "bfloat16"}  # policy -> matmul dtype
FIRST_ID = 4  # ids 0-3 are padding, unknown, start and end


def transformer_config(preset, task, max_length, norm_first, dropout, **overrides):
    """zoo's config for `preset`, with learned positions of `max_length` rows."""
    return zoo.registry.get_config(
        "transformer",
        task=task,
        preset=preset,
        position_encoding="learned",
        max_sequence_length=max_length,
        norm_first=norm_first,
        dropout=dropout,
        **overrides,
    )


def build_contenders(config, policy: str, seed: int = 0) -> dict[str, keras.Model]:
    """zoo's model and its peers under `policy`, each compiled as zoo compiles its own."""
    builders = {"zoo": zoo.registry.get_family("transformer").builder, **PEERS}
    models = {}
    keras.mixed_precision.set_global_policy(policy)
    try:
        for name in CONTENDERS:
            keras.utils.set_random_seed(seed)
            model = builders[name](config)
            model.config = config  # compile_seq2seq reads the schedule's width from it
            compile_seq2seq(model, warmup_steps=100)
            models[name] = model
    finally:
        keras.mixed_precision.set_global_policy("float32")
    return models


def random_batch(config, batch_size: int, length: int, seed: int = 0):
    """`(inputs, targets)` of random real token ids (no padding)."""
    rng = np.random.default_rng(seed)
    target_vocab = config.target_vocab_size or config.vocab_size

    def ids(vocab_size):
        return rng.integers(FIRST_ID, vocab_size, (batch_size, length)).astype("int32")

    if config.task == "lm":
        return ids(config.vocab_size), ids(config.vocab_size)
    inputs = {"encoder_token_ids": ids(config.vocab_size), "decoder_token_ids": ids(target_vocab)}
    return inputs, ids(target_vocab)


def measure_group(
    preset, config, policy, lengths, tokens_per_step, repeats, warmup, peak_size, seed=0
):
    """One row per length for one (config, policy): the three contenders side by side."""
    models = build_contenders(config, policy, seed)
    weights = {name: int(model.count_params()) for name, model in models.items()}
    peak = MatmulPeak(POLICIES[policy], size=peak_size)
    rows = []
    for length in lengths:
        batch_size = max(1, tokens_per_step // length)
        inputs, targets = random_batch(config, batch_size, length, seed)
        inputs = keras.tree.map_structure(keras.ops.convert_to_tensor, inputs)
        targets = keras.ops.convert_to_tensor(targets)
        steps = {
            name: lambda model=model, x=inputs, y=targets: model.train_on_batch(x, y)
            for name, model in models.items()
        }
        timing = time_interleaved(
            steps, repeats, warmup=warmup, min_sample_seconds=0.5, probes={"peak": peak.sample}
        )
        flops = config_training_flops(config, batch_size, length)
        peak_flops = float(np.median(timing["probes"]["peak"]))
        tokens = batch_size * length
        medians = timing["median_seconds"]
        row = {
            "preset": preset,
            "task": config.task,
            "precision": policy,
            "length": length,
            "batch_size": batch_size,
            "weights": weights,
            "step_seconds": medians,
            "step_seconds_all": timing["seconds"],
            "steps_per_sample": timing["calls_per_sample"],
            "tokens_per_second": {name: tokens / s for name, s in medians.items()},
            "flops_per_step": flops,
            "achieved_gflops": {name: flops / s / 1e9 for name, s in medians.items()},
            "peak_gflops": peak_flops / 1e9,
            "peak_gflops_all": [value / 1e9 for value in timing["probes"]["peak"]],
            "fraction_of_peak": {name: flops / s / peak_flops for name, s in medians.items()},
            "ratio_zoo_over": {
                peer: medians[peer] / medians["zoo"] for peer in CONTENDERS if peer != "zoo"
            },
        }
        rows.append(row)
        print(format_row(row), flush=True)
    return rows


def format_row(row) -> str:
    tokens = ", ".join(f"{n} {v:,.0f}" for n, v in row["tokens_per_second"].items())
    ratios = ", ".join(f"/{n} {v:.2f}" for n, v in row["ratio_zoo_over"].items())
    return (
        f"{row['preset']} {row['task']} {row['precision']} T={row['length']} "
        f"B={row['batch_size']}: tokens/s {tokens}; zoo {ratios}; zoo "
        f"{row['fraction_of_peak']['zoo']:.0%} of {row['peak_gflops']:.0f} GFLOP/s"
    )


def goals(rows) -> list[dict]:
    """Issue 11's training goals, each with its figure and whether it is met (None: the
    run did not measure it)."""
    ratios = [row["ratio_zoo_over"]["keras_nlp"] for row in rows]
    reached = sum(ratio >= SPEEDUP_GOAL for ratio in ratios)
    entries = [
        {
            "key": "training_vs_keras_nlp",
            "goal": f"training ≥ {SPEEDUP_GOAL}× the keras-nlp-built equivalent, same precision",
            "figure": (
                f"zoo / keras-nlp {min(ratios):.2f}–{max(ratios):.2f} (median "
                f"{np.median(ratios):.2f}); ≥ {SPEEDUP_GOAL} in {reached} of {len(ratios)} "
                "configurations"
            )
            if ratios
            else "not measured",
            "met": (reached == len(ratios)) if ratios else None,
        }
    ]
    for policy, goal in PEAK_FRACTION_GOALS.items():
        base = [row for row in rows if row["preset"] == "base" and row["precision"] == policy]
        fractions = [row["fraction_of_peak"]["zoo"] for row in base]
        figure = "; ".join(
            f"{row['task']} T={row['length']}: {row['fraction_of_peak']['zoo']:.0%} of "
            f"{row['peak_gflops']:.0f} GFLOP/s"
            for row in base
        )
        entries.append(
            {
                "key": f"{POLICIES[policy]}_fraction_of_peak_base",
                "goal": f"{policy} training ≥ {goal:.0%} of the {POLICIES[policy]} matmul peak "
                "on the base configuration",
                "figure": figure or "base configuration not in this run",
                "met": all(f >= goal for f in fractions) if fractions else None,
            }
        )
    return entries


def table(rows) -> str:
    """Markdown: one line per (preset, task, precision, length)."""
    lines = [
        "| preset | task | precision | T × B | zoo tokens/s | keras-nlp | keras MHA | "
        "zoo / keras-nlp | (per round) | zoo / keras | zoo GFLOP/s | peak GFLOP/s | "
        "zoo % of peak | keras-nlp % of peak |",
        "|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        tokens, fraction = row["tokens_per_second"], row["fraction_of_peak"]
        seconds = row["step_seconds_all"]
        per_round = [peer / own for peer, own in zip(seconds["keras_nlp"], seconds["zoo"])]
        lines.append(
            f"| {row['preset']} | {row['task']} | {row['precision']} | "
            f"{row['length']} × {row['batch_size']} | {tokens['zoo']:,.0f} | "
            f"{tokens['keras_nlp']:,.0f} | {tokens['keras']:,.0f} | "
            f"{row['ratio_zoo_over']['keras_nlp']:.2f} | "
            f"{min(per_round):.2f}–{max(per_round):.2f} | {row['ratio_zoo_over']['keras']:.2f} | "
            f"{row['achieved_gflops']['zoo']:.0f} | {row['peak_gflops']:.0f} | "
            f"{fraction['zoo']:.0%} | {fraction['keras_nlp']:.0%} |"
        )
    return "\n".join(lines)


def weights_table(rows) -> str:
    seen = set()
    lines = ["| preset | task | zoo | keras-nlp | keras MHA |", "|---|---|---:|---:|---:|"]
    for row in rows:
        key = (row["preset"], row["task"])
        if key in seen:
            continue
        seen.add(key)
        w = row["weights"]
        lines.append(
            f"| {row['preset']} | {row['task']} | {w['zoo']:,} | {w['keras_nlp']:,} | "
            f"{w['keras']:,} |"
        )
    return "\n".join(lines)


# What is measured: "preset:task" groups, and the target tokens of a step per preset (the
# base model's steps are kept shorter so that the full run fits in its minutes).
QUICK = dict(
    groups=["tiny:seq2seq", "tiny:lm"],
    lengths=[16],
    precisions=["float32"],
    tokens_per_step=256,
    repeats=2,
    warmup=1,
    peak_size=256,
)
FULL = dict(
    groups=["small:seq2seq", "small:lm", "base:seq2seq"],
    lengths=[32, 128],
    precisions=list(POLICIES),
    tokens_per_step={"small": 2048, "base": 1024},
    repeats={"small": 5, "base": 3},
    warmup=1,
    peak_size=2048,
)


def per_preset(value, preset: str):
    """A setting given for every preset (an int) or per preset (a dict)."""
    return value if isinstance(value, int) else value.get(preset, next(iter(value.values())))


def parse_group(group: str) -> tuple[str, str]:
    preset, _, task = group.partition(":")
    if task not in ("seq2seq", "lm"):
        raise ValueError(f"A group is 'preset:task' with task seq2seq or lm, received {group!r}.")
    return preset, task


def run(output_dir="docs/results", norm_first=True, dropout=0.0, seed=0, **settings) -> dict:
    """Measure `settings` (FULL's keys; FULL's values where not given); write the JSON."""
    settings = {**FULL, **settings}
    machine = describe_machine()
    print(machine_line(machine), flush=True)
    rows = []
    lengths = settings["lengths"]
    for group in settings["groups"]:
        preset, task = parse_group(group)
        config = transformer_config(preset, task, max(lengths), norm_first, dropout)
        for policy in settings["precisions"]:
            rows += measure_group(
                preset,
                config,
                policy,
                lengths,
                per_preset(settings["tokens_per_step"], preset),
                per_preset(settings["repeats"], preset),
                settings["warmup"],
                settings["peak_size"],
                seed,
            )
            keras.backend.clear_session()  # free the group's models before the next
    document = {
        "benchmark": "training_speed",
        "machine": machine,
        "settings": {
            **settings,
            "norm_first": norm_first,
            "dropout": dropout,
            "position_encoding": "learned",
            "train_step": "train_on_batch (fit()'s compiled step), jit_compile='auto'",
        },
        "rows": rows,
        "goals": goals(rows),
        "table": table(rows),
        "weights_table": weights_table(rows),
    }
    print("\n" + document["weights_table"] + "\n\n" + document["table"])
    print(f"Wrote {write_json(document, output_dir, 'training_speed.json')}")
    return document


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--output-dir", default="docs/results")
    parser.add_argument("--quick", action="store_true", help="tiny models, seconds (CI)")
    parser.add_argument("--groups", nargs="+", help="preset:task, e.g. small:seq2seq base:lm")
    parser.add_argument("--lengths", nargs="+", type=int)
    parser.add_argument("--precisions", nargs="+", choices=list(POLICIES))
    parser.add_argument("--tokens-per-step", type=int, help="target tokens a step, every preset")
    parser.add_argument("--repeats", type=int)
    parser.add_argument("--warmup", type=int)
    parser.add_argument("--peak-size", type=int, help="side of the square matmul for the peak")
    parser.add_argument("--post-norm", action="store_true", help="the paper's post-norm")
    parser.add_argument("--dropout", type=float, default=0.0)
    args = parser.parse_args(argv)
    settings = dict(QUICK if args.quick else FULL)
    for key in settings:
        if getattr(args, key) is not None:
            settings[key] = getattr(args, key)
    return run(args.output_dir, norm_first=not args.post_norm, dropout=args.dropout, **settings)


if __name__ == "__main__":
    main()
