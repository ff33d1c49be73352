"""Cached decoding against recomputing the whole prefix at every step.

zoo's Transformer decodes incrementally (`init_decode_state` / `decode_step`): each layer
keeps the keys and values of the positions decoded so far, so a new token costs one
position's work. What a user writes first instead — and what keras.io's examples do — runs
the model's full forward pass over the prompt and everything generated so far at every
step, so the n-th token costs n positions' work.

Both are compiled whole, greedy, on the same prompts, in one process, interleaved:

- `cached`: `zoo.decoding.greedy_decode` in a `tf.function` (the loop is a `tf.while_loop`
  over `decode_step`);
- `recompute`: a `tf.while_loop` whose prefix grows by one column a step, each step the
  model's forward pass over the whole prefix, the argmax of its last position;
- `beam 4`: `zoo.decoding.beam_search` with 4 beams, cached, for its cost relative to greedy.

The model is the language model of the generate task (`zoo.build("transformer",
task="lm")`), untrained: speed does not depend on the weights once every row emits exactly
the same number of tokens, which the benchmark makes sure of by giving the searches an end id
the model cannot emit. The padding id 0 is never emitted by zoo's searches, so the recompute
loop forbids it too; the two greedy loops must then emit the same tokens (cached decoding
equals the full forward pass), which is checked and reported.

    python -m benchmarks.cached_decoding                  # small lm, 32/128/256 new tokens
    python -m benchmarks.cached_decoding --quick          # tiny, CI-sized

Writes `cached_decoding.json` to `--output-dir`. TensorFlow only (the recompute loop's
growing shape is a `tf.while_loop` shape invariant).
"""

from __future__ import annotations

import argparse
import time

import keras
import numpy as np

import zoo
from benchmarks.side_by_side import time_interleaved, write_json
from zoo.analysis.machine import describe_machine, machine_line

GOAL_RATIO = 5.0  # issue 11: cached ≥ 5× recomputation at 128 new tokens
GOAL_TOKENS = 128
FIRST_ID = 3  # prompts use real ids only (0 is padding, 1-2 start and end)


def build_model(preset: str, vocab_size: int, seed: int) -> keras.Model:
    keras.utils.set_random_seed(seed)
    return zoo.build("transformer", task="lm", preset=preset, vocab_size=vocab_size)


def cached_decoder(model, new_tokens: int, beam_width: int = 1):
    """`prompts (B, P) -> (B, new_tokens)` ids, compiled; the end id is out of the
    vocabulary, so every row emits exactly `new_tokens` tokens."""
    import tensorflow as tf

    from zoo.decoding import beam_search, greedy_decode

    never = dict(start_id=1, end_id=model.config.vocab_size, max_length=new_tokens)

    @tf.function(input_signature=[tf.TensorSpec([None, None], tf.int32)])
    def decode(prompts):
        if beam_width == 1:
            return greedy_decode(model, prompts, **never)[0]
        return beam_search(model, prompts, beam_width=beam_width, **never)[0]

    return decode


def recompute_decoder(model, new_tokens: int):
    """The same greedy search by the full forward pass over the growing prefix each step."""
    import tensorflow as tf

    vocab_size = model.config.vocab_size
    never_padding = tf.constant([-1e9] + [0.0] * (vocab_size - 1), tf.float32)

    @tf.function(input_signature=[tf.TensorSpec([None, None], tf.int32)])
    def decode(prompts):
        def body(step, token_ids):
            logits = tf.cast(model(token_ids, training=False)[:, -1, :], tf.float32)
            next_ids = tf.argmax(logits + never_padding, axis=-1, output_type=tf.int32)
            return step + 1, tf.concat([token_ids, next_ids[:, None]], axis=1)

        _, token_ids = tf.while_loop(
            lambda step, token_ids: step < new_tokens,
            body,
            [tf.constant(0), prompts],
            shape_invariants=[tf.TensorShape([]), tf.TensorShape([None, None])],
        )
        return token_ids[:, -new_tokens:]

    return decode


def measure(model, prompts, new_tokens: int, repeats: int, beam: bool) -> dict:
    decoders = {
        "cached": cached_decoder(model, new_tokens),
        "recompute": recompute_decoder(model, new_tokens),
    }
    if beam:
        decoders["beam 4"] = cached_decoder(model, new_tokens, beam_width=4)
    outputs = {name: np.asarray(decode(prompts)) for name, decode in decoders.items()}
    same = outputs["cached"] == outputs["recompute"]
    timing = time_interleaved(
        {name: (lambda decode=decode: decode(prompts)) for name, decode in decoders.items()},
        repeats,
        warmup=1,
        min_sample_seconds=0.2,
    )
    tokens = prompts.shape[0] * new_tokens
    seconds = timing["median_seconds"]
    return {
        "new_tokens": new_tokens,
        "batch_size": int(prompts.shape[0]),
        "prompt_length": int(prompts.shape[1]),
        "seconds": seconds,
        "seconds_all": timing["seconds"],
        "tokens_per_second": {name: tokens / s for name, s in seconds.items()},
        "cached_over_recompute": seconds["recompute"] / seconds["cached"],
        "beam4_over_greedy": seconds["beam 4"] / seconds["cached"] if beam else None,
        "same_tokens": bool(same.all()),
        "same_token_fraction": float(same.mean()),
    }


def table(rows: list[dict]) -> str:
    lines = [
        "| new tokens | batch × prompt | cached tokens/s | recompute tokens/s | cached / recompute "
        "| beam 4 tokens/s | beam 4 time / greedy | same tokens |",
        "|---:|---|---:|---:|---:|---:|---:|---|",
    ]
    for row in rows:
        rates = row["tokens_per_second"]
        beam_rate = f"{rates['beam 4']:,.0f}" if "beam 4" in rates else "—"
        beam_ratio = f"{row['beam4_over_greedy']:.2f}" if row["beam4_over_greedy"] else "—"
        same = "yes" if row["same_tokens"] else f"{row['same_token_fraction']:.1%}"
        lines.append(
            f"| {row['new_tokens']} | {row['batch_size']} × {row['prompt_length']} | "
            f"{rates['cached']:,.0f} | {rates['recompute']:,.0f} | "
            f"**{row['cached_over_recompute']:.1f}×** | {beam_rate} | {beam_ratio} | {same} |"
        )
    return "\n".join(lines)


def goals(rows: list[dict]) -> list[dict]:
    at_goal = [row for row in rows if row["new_tokens"] == GOAL_TOKENS]
    if not at_goal:
        return []
    ratio = at_goal[0]["cached_over_recompute"]
    return [
        {
            "key": "cached_decoding_vs_recompute",
            "figure": f"cached / recompute {ratio:.1f}× at {GOAL_TOKENS} new tokens (greedy, "
            f"small lm, batch {at_goal[0]['batch_size']})",
            "met": bool(ratio >= GOAL_RATIO),
        }
    ]


def run(
    preset="small",
    vocab_size=8000,
    new_tokens=(32, 128, 256),
    batch_size=8,
    prompt_length=16,
    repeats=3,
    beam=True,
    seed=0,
    output_dir="docs/results",
) -> dict:
    if keras.config.backend() != "tensorflow":
        raise SystemExit("cached_decoding compiles with tf.function; unset KERAS_BACKEND.")
    start = time.perf_counter()
    model = build_model(preset, vocab_size, seed)
    rng = np.random.default_rng(seed)
    prompts = rng.integers(FIRST_ID, vocab_size, (batch_size, prompt_length)).astype("int32")
    rows = []
    for count in new_tokens:
        row = measure(model, prompts, count, repeats, beam)
        rows.append(row)
        print(table([row]).splitlines()[-1], flush=True)
    line = machine_line(describe_machine())
    document = {
        "machine": line,
        "settings": {
            "model": f"transformer lm, preset {preset}, vocabulary {vocab_size}, untrained",
            "weights": int(model.count_params()),
            "precision": "float32",
            "batch_size": batch_size,
            "prompt_length": prompt_length,
            "new_tokens": list(new_tokens),
            "repeats": repeats,
        },
        "rows": rows,
        "table": table(rows),
        "goals": goals(rows),
        "seconds": round(time.perf_counter() - start, 1),
    }
    print(line)
    print(document["table"])
    print(f"Wrote {write_json(document, output_dir, 'cached_decoding.json')}")
    return document


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--preset", default="small")
    parser.add_argument("--vocab-size", type=int, default=8000)
    parser.add_argument("--new-tokens", type=int, nargs="+", default=[32, 128, 256])
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--prompt-length", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-beam", action="store_true", help="skip the beam-4 contender")
    parser.add_argument("--quick", action="store_true", help="tiny model, 8 and 16 new tokens")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output-dir", default="docs/results")
    args = parser.parse_args(argv)
    settings = dict(
        preset=args.preset,
        vocab_size=args.vocab_size,
        new_tokens=tuple(args.new_tokens),
        batch_size=args.batch_size,
        prompt_length=args.prompt_length,
        repeats=args.repeats,
        beam=not args.no_beam,
        seed=args.seed,
        output_dir=args.output_dir,
    )
    if args.quick:
        settings.update(preset="tiny", vocab_size=64, new_tokens=(8, 16), repeats=1)
        settings.update(batch_size=2, prompt_length=4)
    run(**settings)


if __name__ == "__main__":
    main()
