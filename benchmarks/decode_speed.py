"""Beam-search speed: the decoding choices zoo makes, each against the plain loop.

A trained translation model (a recipe run's folder) decodes the same batch of held-out
sentences, in one process, under each setting, interleaved and repeated, and the table gives
sentences per second and the ratio to the plain loop:

- `plain`: the whole batch steps together until every sentence's exact bound says stop
  (`stop_rule="max_length"`, `compaction_steps=()`), the caches as long as `max_length`;
- `current_length`: the usual stop heuristic (a sentence stops a step or two after its best
  hypothesis ends) — the batch still steps together;
- `compacted`: plus sentences that have stopped leave the batch at steps 8, 12, 16, ...;
- `compacted + short caches` (zoo's default): plus the caches start with room for 8
  positions and grow at each compaction;
- `greedy`, for scale.

    python -m benchmarks.decode_speed --run-dir runs/translate --data ../shared/data/fra-eng/fra.txt

Writes `decode_speed.json` to `--output-dir`. TensorFlow only (compaction needs its dynamic
shapes).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import keras
import numpy as np

SETTINGS = {
    "plain": dict(beam_width=4, stop_rule="max_length", compaction_steps=()),
    "current_length": dict(beam_width=4, compaction_steps=()),
    "compacted": dict(beam_width=4, grow=False),
    "compacted + short caches": dict(beam_width=4),
    "greedy": dict(beam_width=1),
}


class FixedState:
    """The model without `resize_decode_state`: beam search then allocates full caches."""

    def __init__(self, model):
        self.model, self.config = model, model.config

    def init_decode_state(self, *args):
        return self.model.init_decode_state(*args)

    def decode_step(self, *args):
        return self.model.decode_step(*args)


def load_model(run_dir: Path):
    """The run's final model, or its latest checkpoint with the weight average applied."""
    final = run_dir / "checkpoints" / "final.keras"
    if final.exists():
        return keras.saving.load_model(final)
    model = keras.saving.load_model(run_dir / "checkpoints" / "latest.keras")
    if getattr(model.optimizer, "use_ema", False):
        model.optimizer.finalize_variable_values(model.trainable_weights)
    return model


def held_out_sentences(data: str | None, count: int, seed: int) -> list[str]:
    from zoo.data import generate_en_fr_pairs, read_sentence_pairs, split_by_source

    pairs = read_sentence_pairs(data).pairs if data else generate_en_fr_pairs(10000, seed=seed)
    _, _, test = split_by_source(pairs, validation_fraction=0.02, test_fraction=0.05, seed=seed)
    english = sorted({source for source, _ in test})
    chosen = np.random.default_rng(seed).permutation(len(english))[:count]
    return [english[i] for i in chosen]


def decoder(model, tokenizer, max_length, beam_width, grow=True, **options):
    import tensorflow as tf

    from zoo.decoding import beam_search, greedy_decode

    target = model if grow else FixedState(model)
    common = dict(start_id=tokenizer.start_id, end_id=tokenizer.end_id, max_length=max_length)

    @tf.function(input_signature=[tf.TensorSpec([None, None], tf.int32)])
    def decode(source):
        if beam_width == 1:
            return greedy_decode(model, source, **common)
        return beam_search(target, source, beam_width=beam_width, **common, **options)

    return decode


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--run-dir", type=Path, required=True, help="a translate recipe run")
    parser.add_argument("--data", help="the pairs it trained on (default: embedded corpus)")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--max-length", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output-dir", default="docs/results")
    args = parser.parse_args(argv)
    if keras.config.backend() != "tensorflow":
        raise SystemExit("decode_speed measures TensorFlow decoding; unset KERAS_BACKEND.")

    import zoo.models  # noqa: F401  (registers the classes the checkpoints name)
    from zoo.analysis.machine import describe_machine, machine_line
    from zoo.data import SubwordTokenizer, pad_batch

    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    model = load_model(args.run_dir)
    tokenizer = SubwordTokenizer.load(args.run_dir / "tokenizer")
    sentences = held_out_sentences(args.data, args.batch_size, args.seed)
    source = pad_batch(tokenizer.encode(sentences), args.max_length)
    decoders = {
        name: decoder(model, tokenizer, args.max_length, **options)
        for name, options in SETTINGS.items()
    }
    outputs = {name: decode(source) for name, decode in decoders.items()}  # trace + warm up
    seconds = {name: [] for name in decoders}
    for _ in range(args.repeats):  # interleaved, so drifts in machine load hit every setting
        for name, decode in decoders.items():
            start = time.perf_counter()
            decode(source)
            seconds[name].append(time.perf_counter() - start)
    rates = {name: len(sentences) / float(np.median(times)) for name, times in seconds.items()}
    same = all(
        np.array_equal(np.asarray(outputs[name][0]), np.asarray(outputs["current_length"][0]))
        for name in ("compacted", "compacted + short caches")
    )
    line = machine_line(describe_machine())
    print(line)
    print(f"{len(sentences)} held-out sentences, beam 4, max_length {args.max_length}:")
    print("| setting | sentences/s | × plain |\n|---|---:|---:|")
    for name, rate in rates.items():
        print(f"| {name} | {rate:.1f} | {rate / rates['plain']:.2f} |")
    print(f"compaction and short caches change no output: {same}")
    os.makedirs(args.output_dir, exist_ok=True)
    path = Path(args.output_dir) / "decode_speed.json"
    path.write_text(
        json.dumps(
            {
                "machine": line,
                "batch_size": len(sentences),
                "max_length": args.max_length,
                "sentences_per_second": rates,
                "seconds": seconds,
                "same_outputs": same,
            },
            indent=2,
        )
    )
    print(f"Wrote {path}")


if __name__ == "__main__":
    main()
