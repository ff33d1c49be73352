"""Recurrent families: zoo's `simple_rnn`, `lstm` and `gru` against plain Keras stacks.

zoo's recurrent layers are Keras's own; what zoo adds around them (explicit masks, returned
states for decoding, the decoding-ready embedding) must cost nothing. For each family, zoo's
`lm` model (the `small` preset: 2 layers of 256 units, vocabulary 8,000; no dropout) and the
stack a Keras user writes — `Embedding(mask_zero=True)`, the same recurrent layers with
`return_sequences=True`, `Dense(vocab)` — train on the same random batches with the same
optimizer, loss and metric (`compile_seq2seq`), through `train_on_batch` (fit()'s compiled
step), taking turns after warm-up. The table gives tokens/s and the ratio zoo / Keras
(> 1: zoo is faster). Weight counts are reported and must be equal.

    python -m benchmarks.recurrent_speed
    python -m benchmarks.recurrent_speed --quick

Writes `recurrent_speed.json` to `--output-dir`.
"""

from __future__ import annotations

import argparse

import keras
import numpy as np

import zoo
from benchmarks.side_by_side import time_interleaved, write_json
from zoo.analysis.machine import describe_machine, machine_line
from zoo.models.recurrent import CELL_TYPES
from zoo.training import compile_seq2seq

FAMILIES = ("simple_rnn", "lstm", "gru")
FIRST_ID = 4  # ids 0-3 are padding, unknown, start and end
# "No slower than plain Keras", allowing for what a median of a few rounds on a shared
# machine can resolve.
TOLERANCE = 0.03


def recurrent_config(family: str, preset: str):
    return zoo.registry.get_config(family, task="lm", preset=preset, dropout=0.0)


def keras_stack(config, family: str) -> keras.Model:
    """The plain Keras language model of `config`'s size."""
    token_ids = keras.Input(shape=(None,), dtype="int32", name="token_ids")
    hidden = keras.layers.Embedding(config.vocab_size, config.hidden_dim, mask_zero=True)(token_ids)
    for _ in range(config.num_layers):
        hidden = CELL_TYPES[family](config.hidden_dim, return_sequences=True)(hidden)
    logits = keras.layers.Dense(config.vocab_size)(hidden)
    return keras.Model(token_ids, keras.ops.cast(logits, "float32"), name=f"keras_{family}")


def build_pair(family: str, config, policy: str, seed: int = 0) -> dict[str, keras.Model]:
    models = {}
    keras.mixed_precision.set_global_policy(policy)
    try:
        for name, builder in (
            ("zoo", lambda: zoo.registry.get_family(family).builder(config)),
            ("keras", lambda: keras_stack(config, family)),
        ):
            keras.utils.set_random_seed(seed)
            model = builder()
            model.config = config  # compile_seq2seq reads the schedule's width from it
            compile_seq2seq(model, warmup_steps=100)
            models[name] = model
    finally:
        keras.mixed_precision.set_global_policy("float32")
    return models


def measure(families, preset, lengths, precisions, tokens_per_step, repeats, warmup, seed=0):
    rng = np.random.default_rng(seed)
    rows = []
    for family in families:
        config = recurrent_config(family, preset)
        for policy in precisions:
            models = build_pair(family, config, policy, seed)
            weights = {name: int(model.count_params()) for name, model in models.items()}
            for length in lengths:
                batch_size = max(1, tokens_per_step // length)
                ids = rng.integers(FIRST_ID, config.vocab_size, (2, batch_size, length))
                inputs, targets = (keras.ops.convert_to_tensor(x.astype("int32")) for x in ids)
                steps = {
                    name: lambda model=model, x=inputs, y=targets: model.train_on_batch(x, y)
                    for name, model in models.items()
                }
                timing = time_interleaved(steps, repeats, warmup=warmup)
                medians = timing["median_seconds"]
                tokens = batch_size * length
                row = {
                    "family": family,
                    "precision": policy,
                    "length": length,
                    "batch_size": batch_size,
                    "weights": weights,
                    "step_seconds": medians,
                    "step_seconds_all": timing["seconds"],
                    "steps_per_sample": timing["calls_per_sample"],
                    "tokens_per_second": {name: tokens / s for name, s in medians.items()},
                    "ratio_zoo_over_keras": medians["keras"] / medians["zoo"],
                    # The spread of the per-round ratios: how much one round's ratio moves.
                    "ratio_per_round": [
                        k / z for k, z in zip(timing["seconds"]["keras"], timing["seconds"]["zoo"])
                    ],
                }
                rows.append(row)
                print(
                    f"{family} {policy} T={length}: zoo {row['tokens_per_second']['zoo']:,.0f}, "
                    f"keras {row['tokens_per_second']['keras']:,.0f} tokens/s, "
                    f"zoo/keras {row['ratio_zoo_over_keras']:.2f}",
                    flush=True,
                )
    return rows


def goals(rows) -> list[dict]:
    ratios = {
        f"{r['family']} {r['precision']} T={r['length']}": r["ratio_zoo_over_keras"] for r in rows
    }
    slowest = min(ratios, key=ratios.get) if ratios else None
    return [
        {
            "key": "recurrent_vs_keras",
            "goal": "recurrent families no slower than plain Keras stacks "
            f"(zoo / keras ≥ {1 - TOLERANCE:.2f})",
            "figure": (
                f"zoo / keras {min(ratios.values()):.2f}–{max(ratios.values()):.2f} over "
                f"{len(ratios)} configurations (lowest: {slowest})"
            )
            if ratios
            else "not measured",
            "met": all(r >= 1 - TOLERANCE for r in ratios.values()) if ratios else None,
        }
    ]


def table(rows) -> str:
    lines = [
        "| family | precision | T × B | weights (zoo = keras) | zoo tokens/s | keras tokens/s | "
        "zoo / keras | per-round range |",
        "|---|---|---|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        weights = row["weights"]
        same = "yes" if weights["zoo"] == weights["keras"] else "NO"
        ratios = row["ratio_per_round"]
        lines.append(
            f"| {row['family']} | {row['precision']} | {row['length']} × {row['batch_size']} | "
            f"{weights['zoo']:,} ({same}) | {row['tokens_per_second']['zoo']:,.0f} | "
            f"{row['tokens_per_second']['keras']:,.0f} | {row['ratio_zoo_over_keras']:.2f} | "
            f"{min(ratios):.2f}–{max(ratios):.2f} |"
        )
    return "\n".join(lines)


QUICK = dict(
    preset="tiny", lengths=[8], precisions=["float32"], tokens_per_step=64, repeats=2, warmup=1
)
FULL = dict(
    preset="small",
    lengths=[32, 128],
    precisions=["float32", "mixed_bfloat16"],
    tokens_per_step=1024,
    repeats=5,
    warmup=2,
)


def run(output_dir="docs/results", families=FAMILIES, seed=0, **settings) -> dict:
    settings = {**FULL, **settings}
    machine = describe_machine()
    print(machine_line(machine), flush=True)
    families = [f for f in families if f in zoo.list_models()]
    rows = measure(families, seed=seed, **settings)
    document = {
        "benchmark": "recurrent_speed",
        "machine": machine,
        "settings": {
            **settings,
            "families": families,
            "task": "lm",
            "train_step": "train_on_batch (fit()'s compiled step), jit_compile='auto'",
        },
        "rows": rows,
        "goals": goals(rows),
        "table": table(rows),
    }
    print("\n" + document["table"])
    print(f"Wrote {write_json(document, output_dir, 'recurrent_speed.json')}")
    return document


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--output-dir", default="docs/results")
    parser.add_argument("--quick", action="store_true", help="tiny models, seconds (CI)")
    parser.add_argument("--families", nargs="+", default=list(FAMILIES))
    parser.add_argument("--preset")
    parser.add_argument("--lengths", nargs="+", type=int)
    parser.add_argument("--precisions", nargs="+", choices=["float32", "mixed_bfloat16"])
    parser.add_argument("--tokens-per-step", type=int)
    parser.add_argument("--repeats", type=int)
    parser.add_argument("--warmup", type=int)
    args = parser.parse_args(argv)
    settings = dict(QUICK if args.quick else FULL)
    for key in settings:
        if getattr(args, key) is not None:
            settings[key] = getattr(args, key)
    return run(args.output_dir, args.families, **settings)


if __name__ == "__main__":
    main()
