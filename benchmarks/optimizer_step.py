"""What an optimiser adds to the translation step: Adam, Muon, Muon with bfloat16 iterations.

    python -m benchmarks.optimizer_step
    python -m benchmarks.optimizer_step --steps 8 --repeats 3 --out docs/results/optimizer_step.json

`recipes.translate`'s model and step — the `small` Transformer (the registry's `translate`
tuning), its dtype policy (`mixed_bfloat16` where the CPU or GPU computes bfloat16 natively),
`compile_seq2seq` — on one fixed batch of random ids of `--batch` × `--length` tokens (the
recipe's 4,096-token batches hold about 64 pairs of up to 32 pieces). One process, one model
per optimiser with the same initial weights; the optimisers take turns, `--steps` timed steps
each per repeat, and the fastest repeat counts (the slower ones measure the neighbours).

- `adam`: the paper's Adam (the recipe's default);
- `muon`: `--optimizer muon` with float32 Newton-Schulz iterations;
- `muon, bfloat16 iterations`: the same with `ns_dtype="bfloat16"` (what `compile_seq2seq`
  picks under `mixed_bfloat16`).
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from pathlib import Path

import keras
import numpy as np

import zoo
from zoo.training import compile_seq2seq
from zoo.training.runtime import configure_runtime

VARIANTS = {
    "adam": dict(optimizer="adam"),
    "muon": dict(optimizer="muon", ns_dtype=None),
    "muon, bfloat16 iterations": dict(optimizer="muon", ns_dtype="bfloat16"),
}


def build(variant: dict, vocab_size: int, preset: str = "small"):
    keras.utils.set_random_seed(0)
    model = zoo.build(
        "transformer", task="seq2seq", preset=preset, tuning="translate", vocab_size=vocab_size
    )
    compile_seq2seq(model, warmup_steps=400, optimizer=variant["optimizer"])
    if variant["optimizer"] == "muon":
        model.optimizer.ns_dtype = variant["ns_dtype"]  # before the first step traces it
    return model


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=8, help="timed steps per repeat")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch", type=int, default=64, help="sentence pairs per batch")
    parser.add_argument("--length", type=int, default=32, help="pieces per sentence")
    parser.add_argument("--vocab-size", type=int, default=8000)
    parser.add_argument("--preset", default="small", help="the Transformer's size preset")
    parser.add_argument("--mixed-precision", default="auto", help="auto, true or false")
    parser.add_argument("--out", type=Path, help="write the figures here (JSON)")
    argv_used = sys.argv[1:] if argv is None else list(argv)
    arguments = parser.parse_args(argv_used)
    configure_runtime({"true": True, "false": False}.get(arguments.mixed_precision, "auto"))
    policy = keras.config.dtype_policy().name
    rng = np.random.default_rng(0)
    shape = (arguments.batch, arguments.length)
    inputs = {
        "encoder_token_ids": rng.integers(5, arguments.vocab_size, shape).astype("int32"),
        "decoder_token_ids": rng.integers(5, arguments.vocab_size, shape).astype("int32"),
    }
    labels = np.roll(inputs["decoder_token_ids"], -1, axis=1)
    models = {
        name: build(variant, arguments.vocab_size, arguments.preset)
        for name, variant in VARIANTS.items()
    }
    for model in models.values():  # trace and compile outside the timing
        model.train_on_batch(inputs, labels)
    times = {name: [] for name in models}
    for _ in range(arguments.repeats):
        for name, model in models.items():
            start = time.perf_counter()
            for _ in range(arguments.steps):
                model.train_on_batch(inputs, labels)
            times[name].append((time.perf_counter() - start) / arguments.steps * 1000)
    base = min(times["adam"])
    rows = {
        name: {
            "ms_per_step": round(min(runs), 1),
            "runs_ms": [round(t, 1) for t in runs],
            "x_adam": round(min(runs) / base, 2),
        }
        for name, runs in times.items()
    }
    result = {
        "date": time.strftime("%Y-%m-%d"),
        "command": shlex.join(["python", "-m", "benchmarks.optimizer_step", *argv_used]),
        "dtype_policy": policy,
        "batch": f"{arguments.batch} pairs of {arguments.length} + {arguments.length} pieces",
        "statistic": f"fastest of {arguments.repeats} repeats of {arguments.steps} steps",
        "rows": rows,
    }
    print(f"{'optimiser':<28} {'ms/step':>8} {'x adam':>7}")
    for name, row in rows.items():
        print(f"{name:<28} {row['ms_per_step']:>8.1f} {row['x_adam']:>7.2f}")
    if arguments.out:
        arguments.out.write_text(json.dumps(result, indent=2) + "\n")
    return result


if __name__ == "__main__":
    main()
