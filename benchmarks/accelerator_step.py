"""The Transformer's training step against the matmul peak, on whatever backend and device run it.

Written for issue 11's GPU goal (`benchmarks/gpu_check.sh` runs it on a lent GPU machine,
JAX backend, no TensorFlow): the paper's base seq2seq Transformer (63M weights),
`mixed_bfloat16`, `fit()`'s compiled step (`train_on_batch`; XLA on JAX), and its model FLOP
utilisation (MFU) — the analytic FLOPs of a step (`benchmarks/flops.py`: matmuls and
attention, backward = 2× forward) over the step time, as a fraction of a large bfloat16 matmul
timed in the same run between the steps. The datasheet peak of an H200 (989 TFLOP/s dense
bfloat16) is reported alongside when the device is one. Then cached greedy decoding of the base
language model: new tokens per second at batch 64 (`compiled_decoder`, `jax.jit` on JAX).

    KERAS_BACKEND=jax python -m benchmarks.accelerator_step --output-dir gpu_results
    python -m benchmarks.accelerator_step --quick        # tiny, any machine, seconds

Writes `accelerator_step_{backend}.json` to `--output-dir`.
"""

from __future__ import annotations

import argparse
import time

import keras
import numpy as np

import zoo
from benchmarks.flops import MatmulPeak, config_training_flops
from benchmarks.side_by_side import write_json
from benchmarks.training_speed import random_batch, transformer_config
from zoo.analysis.machine import describe_machine, machine_line
from zoo.training import compile_seq2seq

MFU_GOAL = 0.40  # issue 11, on an H200
DATASHEET_BF16_FLOPS = {"H200": 989e12, "H100": 989e12, "A100": 312e12}


def device_name() -> str:
    if keras.config.backend() == "jax":
        import jax

        device = jax.devices()[0]
        return f"{device.platform}: {getattr(device, 'device_kind', device)}"
    return "cpu"


def datasheet_peak(name: str) -> float | None:
    return next((flops for key, flops in DATASHEET_BF16_FLOPS.items() if key in name), None)


def training_step(preset, length, batch_size, steps, peak_size, seed) -> dict:
    config = transformer_config(preset, "seq2seq", length, True, 0.0)
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        keras.utils.set_random_seed(seed)
        model = zoo.registry.get_family("transformer").builder(config)
        compile_seq2seq(model, warmup_steps=100)
        inputs, targets = random_batch(config, batch_size, length, seed)
        peak = MatmulPeak("bfloat16", size=peak_size, calls=5)
        for _ in range(3):  # compile, then settle
            model.train_on_batch(inputs, targets)
        seconds, peaks = [], []
        for _ in range(steps):
            start = time.perf_counter()
            model.train_on_batch(inputs, targets)  # returns host numbers: waits for the step
            seconds.append(time.perf_counter() - start)
            peaks.append(peak.sample())
    finally:
        keras.mixed_precision.set_global_policy("float32")
    step = float(np.median(seconds))
    flops = config_training_flops(config, batch_size, length)
    measured_peak = float(np.median(peaks))
    return {
        "preset": preset,
        "weights": int(model.count_params()),
        "length": length,
        "batch_size": batch_size,
        "step_seconds": step,
        "step_seconds_all": seconds,
        "target_tokens_per_second": batch_size * length / step,
        "flops_per_step": flops,
        "achieved_tflops": flops / step / 1e12,
        "matmul_peak_tflops": measured_peak / 1e12,
        "matmul_peak_size": peak_size,
        "mfu_vs_measured_peak": flops / step / measured_peak,
    }


def cached_decoding(preset, batch_size, new_tokens, prompt_length, seed) -> dict:
    from zoo.decoding.compiled import compiled_decoder

    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        keras.utils.set_random_seed(seed)
        vocab_size = 8000
        model = zoo.build("transformer", task="lm", preset=preset, vocab_size=vocab_size)
        # An end id the model cannot emit: every row decodes exactly `new_tokens` tokens.
        decode = compiled_decoder(
            model, beam_width=1, start_id=1, end_id=vocab_size, max_length=new_tokens
        )
        rng = np.random.default_rng(seed)
        prompts = rng.integers(3, vocab_size, (batch_size, prompt_length)).astype("int32")
        keras.ops.convert_to_numpy(decode(prompts)[0])  # compile
        seconds = []
        for _ in range(3):
            start = time.perf_counter()
            keras.ops.convert_to_numpy(decode(prompts)[0])
            seconds.append(time.perf_counter() - start)
    finally:
        keras.mixed_precision.set_global_policy("float32")
    step = float(np.median(seconds))
    return {
        "preset": preset,
        "weights": int(model.count_params()),
        "batch_size": batch_size,
        "prompt_length": prompt_length,
        "new_tokens": new_tokens,
        "seconds": step,
        "new_tokens_per_second": batch_size * new_tokens / step,
    }


def run(
    preset="base",
    length=128,
    batch_size=128,
    steps=10,
    peak_size=8192,
    decode_batch=64,
    new_tokens=128,
    seed=0,
    output_dir="docs/results",
) -> dict:
    start = time.perf_counter()
    device = device_name()
    train = training_step(preset, length, batch_size, steps, peak_size, seed)
    datasheet = datasheet_peak(device)
    if datasheet:
        train["datasheet_bf16_tflops"] = datasheet / 1e12
        train["mfu_vs_datasheet"] = train["flops_per_step"] / train["step_seconds"] / datasheet
    decode = cached_decoding(preset, decode_batch, new_tokens, 16, seed)
    goal_met = train["mfu_vs_measured_peak"] >= MFU_GOAL if "H200" in device else None
    document = {
        "machine": machine_line(describe_machine()),
        "backend": keras.config.backend(),
        "device": device,
        "training": train,
        "cached_decoding": decode,
        "goals": [
            {
                "key": "gpu_mfu",
                "figure": f"{train['mfu_vs_measured_peak']:.0%} of a bf16 matmul measured in the "
                f"same run ({train['matmul_peak_tflops']:.0f} TFLOP/s) on {device}",
                "met": goal_met,
            }
        ],
        "seconds": round(time.perf_counter() - start, 1),
    }
    print(f"{document['machine']}; {device}; backend {document['backend']}")
    print(
        f"{preset} seq2seq, mixed_bfloat16, T={length} x B={batch_size}: "
        f"{train['step_seconds'] * 1e3:.1f} ms a step, {train['achieved_tflops']:.1f} TFLOP/s, "
        f"MFU {train['mfu_vs_measured_peak']:.0%} of the measured bf16 matmul "
        f"({train['matmul_peak_tflops']:.1f} TFLOP/s)"
        + (f", {train['mfu_vs_datasheet']:.0%} of the datasheet" if datasheet else "")
    )
    print(
        f"cached greedy decoding, {preset} lm, batch {decode_batch}: "
        f"{decode['new_tokens_per_second']:,.0f} new tokens/s ({new_tokens} new tokens)"
    )
    name = f"accelerator_step_{keras.config.backend()}.json"
    print(f"Wrote {write_json(document, output_dir, name)}")
    return document


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--preset", default="base")
    parser.add_argument("--length", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--peak-size", type=int, default=8192, help="square matmul side")
    parser.add_argument("--decode-batch", type=int, default=64)
    parser.add_argument("--new-tokens", type=int, default=128)
    parser.add_argument("--quick", action="store_true", help="tiny model, seconds, any machine")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output-dir", default="docs/results")
    args = parser.parse_args(argv)
    settings = dict(
        preset=args.preset,
        length=args.length,
        batch_size=args.batch_size,
        steps=args.steps,
        peak_size=args.peak_size,
        decode_batch=args.decode_batch,
        new_tokens=args.new_tokens,
        seed=args.seed,
        output_dir=args.output_dir,
    )
    if args.quick:
        settings.update(preset="tiny", length=16, batch_size=4, steps=2, peak_size=256)
        settings.update(decode_batch=2, new_tokens=8)
    return run(**settings)


if __name__ == "__main__":
    main()
