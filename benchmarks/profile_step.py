"""Where a training step's time goes: the TensorFlow profiler over zoo's step and keras-nlp's.

Runs `train_on_batch` (fit()'s compiled step) of the zoo Transformer and of the same model
built from `keras_nlp.layers` (the peers of `training_speed`, equal weights) under
`tf.profiler`, reads the trace back and sums each TensorFlow op's time into a part of the
model, by the op's name scope:

- `vocabulary projection`: the tied output projection onto the vocabulary (logits) and the
  embedding lookup, forward and backward, and the sum of the shared table's gradients;
- `loss and metric`: the label-smoothed cross-entropy over the `(B, T, V)` logits and the
  token accuracy (`compile_loss`, `compile_metrics`, and the untagged ops Keras adds there);
- `attention`, `feed-forward`, `layer norms`: the blocks, forward and backward;
- `optimizer`: Adam's update and the gradient clipping;
- `other`.

The figures are op time summed over TensorFlow's threads (CPU time of the ops), per step, and
each part's share of it: what a faster block could save is bounded by the blocks' share.

    python -m benchmarks.profile_step                                   # small seq2seq, bf16, T=32
    python -m benchmarks.profile_step --precision float32 --length 128

Writes `profile_step.json` to `--output-dir`. TensorFlow only.
"""

from __future__ import annotations

import argparse
import collections
import glob
import tempfile
import time

import keras
import numpy as np

from benchmarks.side_by_side import write_json
from benchmarks.training_speed import build_contenders, random_batch, transformer_config
from zoo.analysis.machine import describe_machine, machine_line

PARTS = (
    "vocabulary projection",
    "loss and metric",
    "attention",
    "feed-forward",
    "layer norms",
    "optimizer",
    "other",
)
# Name-scope fragments of each part, checked in this order (zoo's names, then keras-nlp's).
SCOPES = (
    ("loss and metric", ("compile_loss", "compile_metrics", "masked_token_accuracy")),
    # `AddN/tmp_var…`: the tied embedding's gradient, summed from its uses.
    (
        "vocabulary projection",
        ("token_embedding", "token_and_position", "position_embedding", "addn"),
    ),
    ("optimizer", ("adam", "clip_by", "global_norm")),
    ("layer norms", ("layer_norm", "layernorm")),
    ("attention", ("attention",)),
    ("feed-forward", ("feed_forward", "feedforward")),
)
# Untagged ops Keras's compiled step places next to the loss and metric (the metric's
# `argmax == y` on `(B, T, V)`, the masks): by type, when the name has no scope at all.
UNSCOPED_LOSS_TYPES = {"ArgMax", "Less", "BitwiseAnd", "SelectV2", "Equal", "LogicalAnd"}


def part_of(op_name: str, op_type: str) -> str:
    lowered = op_name.lower()
    for part, fragments in SCOPES:
        if any(fragment in lowered for fragment in fragments):
            return part
    if "/" not in op_name and op_type in UNSCOPED_LOSS_TYPES:
        return "loss and metric"
    return "other"


def op_seconds(logdir: str) -> dict[tuple[str, str], float]:
    """`{(op name, op type): seconds}` summed over the host trace in `logdir`."""
    from tensorflow.tsl.profiler.protobuf import xplane_pb2

    totals = collections.Counter()
    for path in glob.glob(f"{logdir}/**/*.xplane.pb", recursive=True):
        space = xplane_pb2.XSpace()
        with open(path, "rb") as file:
            space.ParseFromString(file.read())
        for plane in space.planes:
            if not plane.name.startswith("/host:CPU"):
                continue
            for line in plane.lines:
                for event in line.events:
                    name = plane.event_metadata[event.metadata_id].name
                    # TensorFlow ops are "scope/name:Type"; executor and eager events are not.
                    if "::" in name or ": " in name or ":" not in name:
                        continue
                    op_name, op_type = name.rsplit(":", 1)
                    totals[(op_name, op_type)] += event.duration_ps * 1e-12
    return totals


def profile(step, steps: int) -> dict:
    import tensorflow as tf

    with tempfile.TemporaryDirectory() as logdir:
        tf.profiler.experimental.start(logdir)
        start = time.perf_counter()
        for _ in range(steps):
            step()
        wall = (time.perf_counter() - start) / steps
        tf.profiler.experimental.stop()
        ops = op_seconds(logdir)
    parts = collections.Counter()
    by_type = collections.Counter()
    for (op_name, op_type), seconds in ops.items():
        parts[part_of(op_name, op_type)] += seconds / steps
        by_type[op_type] += seconds / steps
    total = sum(parts.values())
    return {
        "wall_seconds_per_step": wall,
        "op_seconds_per_step": total,
        "parts_seconds": {part: parts.get(part, 0.0) for part in PARTS},
        "parts_share": {part: parts.get(part, 0.0) / total for part in PARTS},
        "top_op_types": [[name, seconds] for name, seconds in by_type.most_common(12)],
    }


def table(results: dict) -> str:
    names = list(results)
    header = " | ".join(f"{name} ms/step | {name} share" for name in names)
    lines = [f"| part | {header} |", "|---|" + "---:|---:|" * len(names)]
    for part in PARTS:
        cells = " | ".join(
            f"{results[n]['parts_seconds'][part] * 1e3:.0f} | {results[n]['parts_share'][part]:.0%}"
            for n in names
        )
        lines.append(f"| {part} | {cells} |")
    totals = " | ".join(f"**{results[n]['op_seconds_per_step'] * 1e3:.0f}** | 100%" for n in names)
    lines.append(f"| all ops (CPU time, both threads) | {totals} |")
    walls = " | ".join(f"{results[n]['wall_seconds_per_step'] * 1e3:.0f} | " for n in names)
    lines.append(f"| wall time of a step while profiled | {walls} |")
    return "\n".join(lines)


def run(
    preset="small",
    task="seq2seq",
    precision="mixed_bfloat16",
    length=32,
    tokens=2048,
    steps=5,
    warmup=3,
    seed=0,
    output_dir="docs/results",
) -> dict:
    if keras.config.backend() != "tensorflow":
        raise SystemExit("profile_step reads TensorFlow's profiler; unset KERAS_BACKEND.")
    config = transformer_config(preset, task, length, True, 0.0)
    models = build_contenders(config, precision, seed)
    inputs, targets = random_batch(config, max(1, tokens // length), length, seed)
    inputs = keras.tree.map_structure(keras.ops.convert_to_tensor, inputs)
    targets = keras.ops.convert_to_tensor(targets)
    results = {}
    for name in ("zoo", "keras_nlp"):
        model = models[name]
        for _ in range(warmup):
            model.train_on_batch(inputs, targets)
        results[name] = profile(lambda model=model: model.train_on_batch(inputs, targets), steps)
    shared = ("vocabulary projection", "loss and metric", "optimizer")
    document = {
        "machine": machine_line(describe_machine()),
        "settings": {
            "preset": preset,
            "task": task,
            "precision": precision,
            "length": length,
            "batch_size": max(1, tokens // length),
            "steps_profiled": steps,
            "weights": {name: int(model.count_params()) for name, model in models.items()},
        },
        "results": results,
        "shared_share": {
            name: float(np.sum([r["parts_share"][part] for part in shared]))
            for name, r in results.items()
        },
        "table": table(results),
    }
    print(document["machine"])
    print(document["table"])
    print(
        "The same in both (vocabulary projection, loss and metric, optimizer): "
        + ", ".join(f"{name} {share:.0%}" for name, share in document["shared_share"].items())
    )
    print(f"Wrote {write_json(document, output_dir, 'profile_step.json')}")
    return document


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--preset", default="small")
    parser.add_argument("--task", default="seq2seq", choices=["seq2seq", "lm"])
    parser.add_argument(
        "--precision", default="mixed_bfloat16", choices=["float32", "mixed_bfloat16"]
    )
    parser.add_argument("--length", type=int, default=32)
    parser.add_argument("--tokens", type=int, default=2048, help="target tokens a step")
    parser.add_argument("--steps", type=int, default=5, help="steps profiled")
    parser.add_argument("--quick", action="store_true", help="tiny model, 256 tokens, 2 steps")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output-dir", default="docs/results")
    args = parser.parse_args(argv)
    settings = dict(
        preset=args.preset,
        task=args.task,
        precision=args.precision,
        length=args.length,
        tokens=args.tokens,
        steps=args.steps,
        seed=args.seed,
        output_dir=args.output_dir,
    )
    if args.quick:
        settings.update(preset="tiny", tokens=256, steps=2, precision="float32")
    return run(**settings)


if __name__ == "__main__":
    main()
