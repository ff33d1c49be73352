"""zoo's classifier beside a plain Keras BiLSTM: the same rows, the same held-out sentences,
the same minutes of training, one after the other in one script.

    python -m benchmarks.classify_baseline --data ../shared/data/sst2/train.tsv --minutes 8
    python -m benchmarks.classify_baseline --data ../shared/data/sst2/train.tsv --minutes 8 \\
        --zoo-flags="--model lstm" --out docs/results/classify_baseline.json

The baseline is what a Keras user writes first: word-level `TextVectorization` (20,000
words, Keras's default standardisation), a 128-wide embedding, a bidirectional LSTM (128
units each way) max-pooled over time, one dense layer; Adam 1e-3, batches of 64 texts.
zoo's side is `python -m recipes.classify` with `--time-budget` set to the same seconds
(`--zoo-flags` adds flags, e.g. `--model lstm`), run in a subprocess so that each side has
the process to itself. Both train on the recipe's training rows and are scored on its
held-out whole sentences (`zoo.data.split_by_sentence`, same `--seed`); each keeps the
weights of its best validation point (epoch ends and the end of the budget), as the recipe
does. Prints one table; `--out` keeps the figures as JSON.
"""

from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
import time
from pathlib import Path

from zoo.runs import run_main


def load_splits(data: str, seed: int) -> dict:
    """The recipe's split of `data` (`zoo.runs.classify.load_data`): `{"train", "validation",
    "test"}` as `LabelledTexts`."""
    from zoo.data.labelled_text import TEST_SHARE, VALIDATION_SHARE
    from zoo.runs.classify import load_data

    settings = argparse.Namespace(
        data=data,
        class_names=None,
        seed=seed,
        validation_share=VALIDATION_SHARE,
        test_share=TEST_SHARE,
    )
    return load_data(settings)[0]


def plain_bilstm(splits: dict, seconds: float, seed: int) -> dict:
    """Trains the plain Keras baseline for `seconds`; returns its figures."""
    import keras
    import tensorflow as tf

    from zoo.training.callbacks import TimeBudget

    keras.utils.set_random_seed(seed)
    num_classes = len(splits["train"].class_names)
    vectorize = keras.layers.TextVectorization(max_tokens=20_000)
    vectorize.adapt(tf.data.Dataset.from_tensor_slices(splits["train"].texts).batch(1024))
    model = keras.Sequential(
        [
            keras.Input(shape=(None,), dtype="int64"),
            keras.layers.Embedding(20_000, 128, mask_zero=True),
            keras.layers.Bidirectional(keras.layers.LSTM(128, return_sequences=True)),
            keras.layers.GlobalMaxPooling1D(),
            keras.layers.Dense(num_classes),
        ]
    )
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )

    def dataset(part, shuffle: bool):
        rows = tf.data.Dataset.from_tensor_slices((part.texts, part.labels.astype("int32")))
        if shuffle:
            rows = rows.shuffle(len(part.texts), seed=seed, reshuffle_each_iteration=True)
        return rows.batch(64).map(lambda x, y: (vectorize(x), y)).prefetch(tf.data.AUTOTUNE)

    held_out = {name: dataset(splits[name], False) for name in ("validation", "test")}
    points = []

    class Score(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.start, self.steps = time.perf_counter(), 0

        def on_train_batch_end(self, batch, logs=None):
            self.steps += 1

        def on_epoch_end(self, epoch, logs=None):
            scoring = time.perf_counter()
            spent = scoring - self.start
            scores = {
                name: float(model.evaluate(part, verbose=0, return_dict=True)["accuracy"])
                for name, part in held_out.items()
            }
            points.append({"seconds": round(spent, 1), "steps": self.steps, **scores})
            print(f"  baseline: {spent:6.0f} s, {self.steps:,} steps: {scores}", flush=True)
            self.start += time.perf_counter() - scoring  # scoring is not training time

    model.fit(
        dataset(splits["train"], True),
        epochs=1000,
        verbose=0,
        callbacks=[TimeBudget(seconds, verbose=0), Score()],
    )
    best = max(points, key=lambda point: point["validation"])
    return {
        "name": "plain Keras BiLSTM (word level, max-pool)",
        "weights": int(model.count_params()),
        "steps": points[-1]["steps"],
        "validation": best["validation"],
        "test": best["test"],
        "curve": points,
    }


def zoo_recipe(data: str, seconds: float, seed: int, flags: str, run_dir: str) -> dict:
    """Runs `recipes.classify` for `seconds` of training in a subprocess; returns its figures."""
    command = [
        sys.executable,
        "-m",
        "recipes.classify",
        "--data",
        data,
        "--time-budget",
        str(seconds),
        "--seed",
        str(seed),
        "--run-dir",
        run_dir,
        "--restart",
        "--no-export",
        *shlex.split(flags),
    ]
    print("  zoo:", " ".join(command[1:]))
    subprocess.run(command, check=True)
    result = json.loads((Path(run_dir) / "results.json").read_text())
    metrics = result["metrics"]
    return {
        "name": f"zoo {result['settings']['model']} ({flags or 'defaults'})",
        "weights": metrics.get("weights"),
        "steps": metrics.get("train_steps"),
        "validation": metrics["validation_accuracy"],
        "test": metrics["test_accuracy"],
        "curve": result["curve"],
    }


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--data", required=True, help="a text<TAB>label file (SST-2's train.tsv)")
    parser.add_argument("--minutes", type=float, default=8.0, help="training minutes per side")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--zoo-flags", default="", help='extra recipe flags, e.g. "--model lstm"')
    parser.add_argument("--run-dir", default="runs/classify_vs_baseline", help="zoo's run folder")
    parser.add_argument("--skip-baseline", action="store_true", help="run zoo's side only")
    parser.add_argument("--out", default=None, help="write the figures here (JSON)")
    arguments = parser.parse_args(argv)
    seconds = arguments.minutes * 60
    rows = []
    if not arguments.skip_baseline:
        splits = load_splits(arguments.data, arguments.seed)
        rows.append(plain_bilstm(splits, seconds, arguments.seed))
    rows.append(
        zoo_recipe(arguments.data, seconds, arguments.seed, arguments.zoo_flags, arguments.run_dir)
    )
    print(f"\n{arguments.minutes:g} training minutes each, seed {arguments.seed}:")
    print("| model | weights | steps | validation | test |\n|---|---:|---:|---:|---:|")
    for row in rows:
        weights = f"{row['weights']:,}" if row["weights"] else "-"
        print(
            f"| {row['name']} | {weights} | {row['steps']:,} | {row['validation']:.4f} "
            f"| **{row['test']:.4f}** |"
        )
    if arguments.out:
        figures = {"minutes": arguments.minutes, "seed": arguments.seed, "rows": rows}
        figures["date"] = time.strftime("%Y-%m-%d")
        Path(arguments.out).write_text(json.dumps(figures, indent=1, default=float) + "\n")
        print(f"Wrote {arguments.out}.")


if __name__ == "__main__":
    run_main(main)
