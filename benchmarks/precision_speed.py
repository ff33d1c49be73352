"""float32 against mixed_bfloat16: one translation training step of each family, side by side.

Whether 16-bit compute pays off depends on the hardware: GPUs from Ampere on and CPUs with
AVX-512 BF16 or AMX compute bfloat16 natively; on other CPUs TensorFlow converts around every
matmul. The recipes' `--mixed-precision auto` follows `has_native_bfloat16`; this measures the
choice. For each family (the translation recipe's `small` models, vocabulary 8,000), the same
random batch of 4,096 target tokens trains under each policy, the policies taking turns,
after a warm-up step each; the table gives the median step time and the ratio.

    python -m benchmarks.precision_speed                  # lstm, gru, simple_rnn, transformer
    python -m benchmarks.precision_speed --models lstm --repeats 3

Writes `precision_speed.json` to `--output-dir`.
"""

from __future__ import annotations

import argparse
import json
import os
import time

import keras
import numpy as np

import zoo
from zoo.analysis.machine import describe_machine
from zoo.training import compile_seq2seq
from zoo.training.runtime import has_native_bfloat16

POLICIES = ("float32", "mixed_bfloat16")
VOCAB_SIZE = 8000


def build(name: str, policy: str):
    keras.mixed_precision.set_global_policy(policy)
    try:
        model = zoo.build(name, task="seq2seq", preset="small", vocab_size=VOCAB_SIZE, dropout=0.0)
        compile_seq2seq(model, warmup_steps=100, jit_compile=False)
    finally:
        keras.mixed_precision.set_global_policy("float32")
    return model


def batch(batch_size: int, length: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    ids = lambda: rng.integers(4, VOCAB_SIZE, (batch_size, length)).astype("int32")  # noqa: E731
    return {"encoder_token_ids": ids(), "decoder_token_ids": ids()}, ids()


def measure(models: list[str], repeats: int, batch_size: int, length: int) -> dict:
    inputs, targets = batch(batch_size, length)
    rows = {}
    for name in models:
        contenders = {policy: build(name, policy) for policy in POLICIES}
        for model in contenders.values():  # trace and warm up
            model.train_on_batch(inputs, targets)
        times = {policy: [] for policy in POLICIES}
        for _ in range(repeats):
            for policy, model in contenders.items():  # interleaved
                start = time.perf_counter()
                model.train_on_batch(inputs, targets)
                times[policy].append(time.perf_counter() - start)
        medians = {policy: float(np.median(values)) for policy, values in times.items()}
        rows[name] = {
            **{f"{policy}_seconds": round(value, 3) for policy, value in medians.items()},
            "bfloat16_speedup": round(medians["float32"] / medians["mixed_bfloat16"], 2),
        }
        print(f"{name}: {rows[name]}", flush=True)
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", nargs="+", default=["lstm", "gru", "simple_rnn", "transformer"])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--length", type=int, default=32)
    parser.add_argument("--output-dir", default="docs/results")
    args = parser.parse_args(argv)
    machine = describe_machine()
    print(f"native bfloat16: {has_native_bfloat16()}; batch {args.batch_size} x {args.length}")
    rows = measure(args.models, args.repeats, args.batch_size, args.length)
    document = {
        "machine": machine,
        "native_bfloat16": has_native_bfloat16(),
        "batch": [args.batch_size, args.length],
        "repeats": args.repeats,
        "steps": rows,
    }
    print("\n| model | float32 s/step | mixed_bfloat16 s/step | bfloat16 speed-up |")
    print("|---|---:|---:|---:|")
    for name, row in rows.items():
        print(
            f"| {name} | {row['float32_seconds']} | {row['mixed_bfloat16_seconds']} | "
            f"{row['bfloat16_speedup']} |"
        )
    os.makedirs(args.output_dir, exist_ok=True)
    path = os.path.join(args.output_dir, "precision_speed.json")
    with open(path, "w") as file:
        json.dump(document, file, indent=2)
    print(f"Wrote {path}")
    return document


if __name__ == "__main__":
    main()
