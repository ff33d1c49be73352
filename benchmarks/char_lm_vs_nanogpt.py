"""zoo's character language model against nanoGPT's, side by side on tinyshakespeare.

    python -m benchmarks.char_lm_vs_nanogpt --nanogpt /path/to/nanoGPT \\
        --peer-python /path/to/venv-with-torch/bin/python

Runs, one after the other on the same machine (nothing else should run meanwhile):
1. nanoGPT's CPU configuration (its `train.py` with the command below, PyTorch), after its
   own data preparation, which reads `data/shakespeare_char/input.txt` (linked to
   `--data`; it downloads only when the file is missing);
2. `python -m recipes.char_lm` on the same text and split (first 90 % / last 10 %) with
   each zoo family asked for (`--families`), the same number of steps for the Transformer
   and the Transformer's wall time as the budget of the recurrent families.

Each run is a child process: its wall time, peak resident memory (`os.wait4`), final
validation loss and steps are recorded. nanoGPT's validation loss is its own estimate (20
random batches of 12 windows); zoo reports the loss over every window of the validation
text and its estimate on 240 fixed windows. Results: JSON and a markdown table in `--out`.
nanoGPT is not a dependency of zoo: it is fetched and installed beside it, never copied.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

NANOGPT_COMMAND = [
    "train.py",
    "config/train_shakespeare_char.py",
    "--device=cpu",
    "--compile=False",
    "--eval_iters=20",
    "--log_interval=100",
    "--block_size=64",
    "--batch_size=12",
    "--n_layer=4",
    "--n_head=4",
    "--n_embd=128",
    "--max_iters=2000",
    "--lr_decay_iters=2000",
    "--dropout=0.0",
]


def run_child(command, cwd, log_path, env=None):
    """Run `command`; returns `(wall seconds, peak RSS in MB, return code)` and writes its
    output to `log_path`."""
    start = time.perf_counter()
    with open(log_path, "w") as log:
        process = subprocess.Popen(command, cwd=cwd, stdout=log, stderr=subprocess.STDOUT, env=env)
        _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    return seconds, usage.ru_maxrss / 1024, code


def run_nanogpt(nanogpt: Path, python: str, data: Path, out: Path) -> dict:
    folder = nanogpt / "data" / "shakespeare_char"
    link = folder / "input.txt"
    if not link.exists():
        link.symlink_to(data.resolve())
    subprocess.run([python, "prepare.py"], cwd=folder, check=True, capture_output=True)
    log = out / "nanogpt.log"
    seconds, peak_mb, code = run_child([python, *NANOGPT_COMMAND], nanogpt, log)
    text = log.read_text()
    if code != 0:
        raise SystemExit(f"nanoGPT failed ({code}); see {log}:\n{text[-2000:]}")
    evaluations = re.findall(r"step (\d+): train loss ([\d.]+), val loss ([\d.]+)", text)
    step, train_loss, val_loss = evaluations[-1]
    return {
        "name": "nanoGPT (PyTorch)",
        "command": "python " + " ".join(NANOGPT_COMMAND),
        "steps": int(step),
        "wall_seconds": round(seconds, 1),
        "peak_memory_mb": round(peak_mb),
        "validation_loss": float(val_loss),
        "validation_loss_kind": "estimate: 20 random batches of 12 x 64",
        "train_loss": float(train_loss),
    }


def run_zoo(family: str, data: Path, out: Path, extra: list[str], variant: str = "") -> dict:
    name = f"zoo_{family}" + (f"_{re.sub(r'[^a-z0-9]+', '_', variant.lower())}" if variant else "")
    run_dir = out / name
    command = [
        sys.executable,
        "-m",
        "recipes.char_lm",
        "--data",
        str(data),
        "--model",
        family,
        "--run-dir",
        str(run_dir),
        "--out",
        str(out / f"{name}_export"),
        "--restart",  # a measurement starts over, even where an earlier one finished
        *extra,
    ]
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    root = Path(__file__).resolve().parents[1]
    seconds, peak_mb, code = run_child(command, root, out / f"{name}.log", env=env)
    if code != 0:
        log = (out / f"{name}.log").read_text()
        raise SystemExit(f"zoo {family} failed ({code}):\n{log[-3000:]}")
    result = json.loads((run_dir / "results.json").read_text())
    metrics = result["metrics"]
    estimates = metrics.get("validation_estimate_during_training") or [None]
    return {
        "name": f"zoo {family}" + (f" ({variant})" if variant else ""),
        "command": "python -m recipes.char_lm --data input.txt --model "
        + family
        + " "
        + " ".join(extra),
        "steps": metrics["train_steps"],
        "wall_seconds": round(seconds, 1),
        "train_seconds": metrics["train_seconds"],
        "export_seconds": result.get("export_seconds"),
        "peak_memory_mb": round(peak_mb),
        "validation_loss": metrics["validation_loss_nats_per_char"],
        "validation_loss_kind": "every window of the validation text",
        "validation_estimate": round(estimates[-1], 4) if estimates[-1] else None,
        "sample": result.get("samples", {}).get("", ""),
    }


def table(rows) -> str:
    lines = [
        "| run | steps | validation loss (nats/char) | wall time (s) | of which training | "
        "of which export + check | peak memory (MB) |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        estimate = row.get("validation_estimate")
        loss = f"{row['validation_loss']:.3f}"
        if estimate is not None:
            loss += f" (estimate {estimate:.3f})"
        lines.append(
            f"| {row['name']} | {row['steps']:,} | {loss} | {row['wall_seconds']:.0f} | "
            f"{row.get('train_seconds', '')} | {row.get('export_seconds') or ''} | "
            f"{row['peak_memory_mb']:,} |"
        )
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nanogpt", type=Path, help="a checkout of karpathy/nanoGPT")
    parser.add_argument("--peer-python", default="python", help="a Python with torch and numpy")
    parser.add_argument(
        "--data", type=Path, default=Path("../shared/data/tinyshakespeare/input.txt")
    )
    parser.add_argument("--families", nargs="*", default=["transformer", "lstm", "simple_rnn"])
    parser.add_argument("--zoo-flags", default="", help="extra flags for every zoo run")
    parser.add_argument(
        "--variant",
        action="append",
        default=[],
        metavar="NAME=FLAGS",
        help="another Transformer run after the families, with these flags added (repeatable), "
        'e.g. "muon, XLA=--optimizer muon --jit-compile"',
    )
    parser.add_argument("--out", type=Path, default=Path("docs/results/char_lm"))
    arguments = parser.parse_args(argv)
    variants = [variant.partition("=") for variant in arguments.variant]
    if any(not name or not sep for name, sep, _ in variants):
        parser.error('--variant takes NAME=FLAGS, e.g. "xla=--jit-compile"')
    arguments.out.mkdir(parents=True, exist_ok=True)
    rows = []
    if arguments.nanogpt:
        rows.append(
            run_nanogpt(arguments.nanogpt, arguments.peer_python, arguments.data, arguments.out)
        )
        print(table(rows), flush=True)
    budget = None
    for family in arguments.families:
        extra = arguments.zoo_flags.split()
        if family != "transformer" and budget:
            extra += ["--time-budget", str(budget)]
        row = run_zoo(family, arguments.data, arguments.out, extra)
        if family == "transformer":
            budget = row["train_seconds"]
        rows.append(row)
        print(table(rows), flush=True)
    for name, _, flags in variants:
        extra = arguments.zoo_flags.split() + flags.split()
        rows.append(run_zoo("transformer", arguments.data, arguments.out, extra, variant=name))
        print(table(rows), flush=True)
    peer = rows[0] if arguments.nanogpt else None
    if peer:
        for row in rows[1:]:
            row["wall_time_ratio_to_nanogpt"] = round(row["wall_seconds"] / peer["wall_seconds"], 2)
    machine = {"cpus": os.cpu_count(), "platform": sys.platform}
    (arguments.out / "results.json").write_text(
        json.dumps({"machine": machine, "runs": rows}, indent=2, ensure_ascii=False)
    )
    (arguments.out / "results.md").write_text(table(rows) + "\n")
    print(f"\nWritten to {arguments.out}/results.json and results.md")


if __name__ == "__main__":
    main()
