"""Where the character LM's small step goes: the same model and batches under the ways Keras
can run a step, side by side, each in a process of its own.

    python -m benchmarks.char_lm_step
    python -m benchmarks.char_lm_step --steps 300 --out docs/results/char_lm_step.json

The model is `recipes.char_lm`'s Transformer (the registry's `char_lm` tuning: 4 layers,
4 heads, width 128, context 64 + [start]) on batches of 12 random windows of byte ids, the
recipe's batch. Each variant runs `fit()` for `--warmup` steps (tracing), then `--steps`
timed steps, `--repeats` times, and reports the fastest repeat's milliseconds per step:

- `tensorflow`: the recipe's step today (TensorFlow backend, one step per call, AdamW);
- `steps_per_execution=N`: N steps per call into the compiled function (less dispatch);
- `jit_compile`: XLA; and both together;
- `jax`: the JAX backend (its steps are always XLA-compiled), and with `steps_per_execution`;
- `muon`: the recipe's step with `zoo.training.optimizers.muon` instead of AdamW.

The ratio to `tensorflow` is what each lever saves per step; the difference between one
step per call and many is the per-call overhead outside the math.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

VARIANTS = {
    "tensorflow": dict(backend="tensorflow"),
    "tensorflow, steps_per_execution=16": dict(backend="tensorflow", steps_per_execution=16),
    "tensorflow, jit_compile": dict(backend="tensorflow", jit_compile=True),
    "tensorflow, jit_compile + steps_per_execution=16": dict(
        backend="tensorflow", jit_compile=True, steps_per_execution=16
    ),
    "jax": dict(backend="jax"),
    "jax, steps_per_execution=16": dict(backend="jax", steps_per_execution=16),
    "tensorflow, muon": dict(backend="tensorflow", optimizer="muon"),
}


def child(options: dict, steps: int, warmup: int, repeats: int) -> dict:
    """Runs in the child process (the backend is fixed by then)."""
    import keras
    import numpy as np

    import zoo
    from zoo.tasks.generate import GENERATE

    keras.utils.set_random_seed(0)
    model = zoo.build("transformer", task="lm", tuning="char_lm", vocab_size=260)
    GENERATE.compile(
        model,
        decay_steps=100_000,
        jit_compile=options.get("jit_compile", False),
        optimizer=options.get("optimizer", "adamw"),
    )
    per_call = options.get("steps_per_execution", 1)
    model.steps_per_execution = per_call  # what compile(steps_per_execution=) sets
    rng = np.random.default_rng(0)
    windows = rng.integers(4, 260, size=(12 * (warmup + steps), 65))
    x, y = windows[:, :-1], windows[:, 1:]

    def run(count):
        start = time.perf_counter()
        model.fit(
            x[: 12 * count], y[: 12 * count], batch_size=12, epochs=1, verbose=0, shuffle=False
        )
        return time.perf_counter() - start

    run(warmup)
    times = [run(steps) / steps * 1000 for _ in range(repeats)]
    # The fastest repeat, as timeit advises: on a shared machine the slower ones measure the
    # neighbours (here some repeats of every variant took 80 ms a step whatever the variant).
    return {"ms_per_step": float(min(times)), "runs_ms": [round(t, 2) for t in times]}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--steps", type=int, default=256, help="timed steps per repeat")
    parser.add_argument("--warmup", type=int, default=32, help="untimed steps first")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--variants", nargs="*", default=list(VARIANTS), help="which to run")
    parser.add_argument("--out", default=None, help="write the figures here (JSON)")
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    arguments = parser.parse_args(argv)
    if arguments.child:
        options = json.loads(arguments.child)
        print(json.dumps(child(options, arguments.steps, arguments.warmup, arguments.repeats)))
        return
    rows = {}
    for name in arguments.variants:
        options = VARIANTS[name]
        environment = {
            **os.environ,
            "KERAS_BACKEND": options["backend"],
            "TF_CPP_MIN_LOG_LEVEL": "3",
        }
        command = [sys.executable, "-m", "benchmarks.char_lm_step", "--child", json.dumps(options)]
        command += ["--steps", str(arguments.steps), "--warmup", str(arguments.warmup)]
        command += ["--repeats", str(arguments.repeats)]
        done = subprocess.run(command, env=environment, capture_output=True, text=True)
        if done.returncode:
            print(f"{name}: failed\n{done.stderr[-2000:]}")
            continue
        rows[name] = json.loads(done.stdout.strip().splitlines()[-1])
        print(f"{name}: {rows[name]['ms_per_step']:.1f} ms/step", flush=True)
    base = rows.get("tensorflow", {}).get("ms_per_step")
    print("\n| variant | ms/step | × today's step |\n|---|---:|---:|")
    for name, row in rows.items():
        ratio = f"{row['ms_per_step'] / base:.2f}" if base else "-"
        print(f"| {name} | {row['ms_per_step']:.1f} | {ratio} |")
    if arguments.out:
        figures = {"date": time.strftime("%Y-%m-%d"), "steps": arguments.steps, "rows": rows}
        Path(arguments.out).write_text(json.dumps(figures, indent=1) + "\n")
        print(f"Wrote {arguments.out}.")


if __name__ == "__main__":
    main()
