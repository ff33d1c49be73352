"""`make tour`: the zoo at a glance.

Lists the registered models with their parameter counts, then trains each family's tiny
preset on every task for a few steps on generated data, printing the loss falling.

    python -m recipes.tour [--steps 20]
"""

from __future__ import annotations

import argparse
import time

import keras
import numpy as np

import zoo
from zoo.data.toy_tasks import loss_for, task_data
from zoo.runs import run_main

PRESETS_TO_COUNT = ("tiny", "small", "base")


def parameter_table() -> str:
    rows = [
        "| model | task | " + " | ".join(PRESETS_TO_COUNT) + " |",
        "|---|---|" + "---|" * len(PRESETS_TO_COUNT),
    ]
    for name in zoo.list_models():
        task = zoo.get_config(name).task
        counts = []
        for preset in PRESETS_TO_COUNT:
            model = zoo.build(name, task=task, preset=preset)
            counts.append(f"{model.count_params() / 1e6:,.2f}M")
            del model
            keras.backend.clear_session()
        rows.append(f"| {name} | {task} | " + " | ".join(counts) + " |")
    return "\n".join(rows)


def train_tiny(name: str, task: str, steps: int, seed: int = 0) -> tuple[float, float]:
    """Train `name`/`task` at the tiny preset for `steps` full-batch steps; loss before/after."""
    keras.utils.set_random_seed(seed)
    model = zoo.build(name, task=task, preset="tiny")
    inputs, targets = task_data(task, model.config, np.random.default_rng(seed))
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss=loss_for(task))
    before = model.evaluate(inputs, targets, verbose=0)
    model.fit(inputs, targets, epochs=steps, batch_size=len(targets), verbose=0)
    return before, model.evaluate(inputs, targets, verbose=0)


def run(steps: int = 20) -> list[tuple[str, str, float, float]]:
    print(f"zoo {zoo.__version__} on keras {keras.__version__} ({keras.config.backend()})\n")
    print("Registered models, parameters (canonical task) by preset:\n")
    print(parameter_table())
    print(f"\nTraining every tiny model for {steps} steps on generated data:\n")
    results = []
    for name in zoo.list_models():
        for task in zoo.list_tasks(name):
            start = time.perf_counter()
            before, after = train_tiny(name, task, steps)
            results.append((name, task, before, after))
            print(
                f"  {name:12s} {task:9s} loss {before:8.4f} -> {after:8.4f}"
                f"  ({time.perf_counter() - start:.1f} s)"
            )
    return results


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20, help="training steps per model")
    run(parser.parse_args(argv).steps)


if __name__ == "__main__":
    run_main(main)
