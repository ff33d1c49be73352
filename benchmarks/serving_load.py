"""A load test of `zoo serve` on the loopback interface: latency and throughput under load.

    python -m benchmarks.serving_load --translate saved_models/translate_en_fr \
        --generate saved_models/char_lm
    python -m benchmarks.serving_load --quick      # tiny untrained exports, few requests

A model not given is a tiny untrained export made for the run (generation: 32 new bytes).
Starts `zoo serve` in a subprocess over the export folders and, for each model and each
concurrency (1, 8, 32), sends `--requests` requests (default: 16 per client thread) of one
sentence each (`serving_default`: the export's default settings) from that many client
threads, bounded by `--seconds` per level; records p50/p99 latency, throughput
(sentences/s), errors and the server's memory (RSS of its process) before and after, and
the first request's latency after the server started answering (warm-up replayed).

Beside it, the same export in this process with TensorFlow alone: `serving_default` on
batches of 64 sentences (the in-process throughput the server is compared with) and on one
sentence (the latency the server adds to). With `--unbatched`, the translation levels run
again on a server started with `--max-batch-rows 1`, which shows what batching concurrent
requests gains. Generation's `serving_default` samples (seed 0), so the server never
batches it: each request's text must not depend on what else arrives.

Sentences: the English side of zoo's generated English-French pairs (no download). Writes
`serving_load.json` and `serving_load.md` to `--output-dir`. On a shared machine the
figures move with the load; the load average is recorded.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np

CONCURRENCY = (1, 8, 32)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def sentences(count: int) -> list[str]:
    from zoo.data import generate_en_fr_pairs

    return [english for english, _ in generate_en_fr_pairs(count, seed=3)]


def tiny_export(task: str, root: Path, max_new_tokens: int = 32) -> Path:
    """An untrained tiny export, for a model not given (`--quick` makes both)."""
    import keras

    import zoo
    from zoo.data import ByteTokenizer, generate_en_fr_pairs
    from zoo.tasks.translate import train_tokenizer

    keras.utils.set_random_seed(0)
    if task == "translate":
        tokenizer = train_tokenizer(generate_en_fr_pairs(300, seed=0), 300)
        model = zoo.build("transformer", preset="tiny", vocab_size=tokenizer.vocabulary_size)
        options = dict(max_length=16)
    else:
        tokenizer = ByteTokenizer()
        model = zoo.build(
            "transformer", task="lm", preset="tiny", vocab_size=tokenizer.vocabulary_size
        )
        options = dict(max_new_tokens=max_new_tokens)
    zoo.export_model(model, tokenizer, root / task, family="transformer", **options)
    return root / task


class Server:
    def __init__(self, paths: dict, max_batch_rows: int, log_path: Path):
        self.port = free_port()
        command = [sys.executable, "-m", "zoo.cli", "serve", *map(str, paths.values())]
        command += ["--port", str(self.port), "--max-batch-rows", str(max_batch_rows)]
        command += [arg for name in paths for arg in ("--model-name", name)]
        self.log = open(log_path, "w")
        self.process = subprocess.Popen(command, stdout=self.log, stderr=subprocess.STDOUT)
        start = time.perf_counter()
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"zoo serve exited; see {log_path}")
            try:
                urllib.request.urlopen(self.url(f"/v1/models/{next(iter(paths))}"), timeout=5)
                break
            except OSError:
                time.sleep(0.5)
        self.start_seconds = time.perf_counter() - start

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def rss_mib(self) -> float:
        import psutil

        return psutil.Process(self.process.pid).memory_info().rss / 2**20

    def predict(self, model: str, text: str) -> float:
        body = json.dumps({"instances": [text]}).encode()
        request = urllib.request.Request(
            self.url(f"/v1/models/{model}:predict"), body, {"Content-Type": "application/json"}
        )
        start = time.perf_counter()
        with urllib.request.urlopen(request, timeout=120) as response:
            json.loads(response.read())
        return time.perf_counter() - start

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log.close()


def load_level(server, model, texts, concurrency, requests, seconds) -> dict:
    """`requests` requests from `concurrency` threads, stopping early after `seconds`."""
    deadline = time.perf_counter() + seconds
    latencies, errors = [], 0
    rss_before = server.rss_mib()

    def one(i):
        if time.perf_counter() > deadline:
            return None
        try:
            return server.predict(model, texts[i % len(texts)])
        except (urllib.error.URLError, OSError):
            return "error"

    start = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(concurrency) as pool:
        for result in pool.map(one, range(requests)):
            if result == "error":
                errors += 1
            elif result is not None:
                latencies.append(result)
    wall = time.perf_counter() - start
    milliseconds = np.array(latencies) * 1000
    return {
        "concurrency": concurrency,
        "requests": len(latencies),
        "errors": errors,
        "p50_ms": round(float(np.percentile(milliseconds, 50)), 1),
        "p99_ms": round(float(np.percentile(milliseconds, 99)), 1),
        "sentences_per_second": round(len(latencies) / wall, 2),
        "rss_mib_before": round(rss_before, 1),
        "rss_mib_after": round(server.rss_mib(), 1),
    }


def in_process(path: Path, texts: list[str], batch: int, repeats: int) -> dict:
    """`serving_default` of the newest version with TensorFlow alone: sentences/s at
    `batch` and the latency of one sentence (median of `repeats`)."""
    import tensorflow as tf
    import tensorflow_text  # noqa: F401

    from zoo.export import existing_versions

    loaded = tf.saved_model.load(str(path / str(existing_versions(path)[-1])))
    function = loaded.signatures["serving_default"]
    name = next(iter(function.structured_input_signature[1]))
    function(**{name: tf.constant(texts[:batch])})  # first call: graph optimisation
    function(**{name: tf.constant(texts[:1])})
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function(**{name: tf.constant(texts[:batch])})
        times.append(time.perf_counter() - start)
    single = []
    for text in texts[: max(5, repeats * 3)]:
        start = time.perf_counter()
        function(**{name: tf.constant([text])})
        single.append(time.perf_counter() - start)
    return {
        "batch": batch,
        "sentences_per_second": round(batch / float(np.median(times)), 2),
        "single_p50_ms": round(float(np.median(single)) * 1000, 1),
    }


def table(result: dict) -> str:
    lines = [
        "| model | server | concurrency | requests | errors | p50 ms | p99 ms | sentences/s "
        "| RSS MiB before → after |",
        "|---|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for row in result["levels"]:
        lines.append(
            f"| {row['model']} | {row['server']} | {row['concurrency']} | {row['requests']} "
            f"| {row['errors']} | {row['p50_ms']} | {row['p99_ms']} "
            f"| {row['sentences_per_second']} | {row['rss_mib_before']} → "
            f"{row['rss_mib_after']} |"
        )
    lines += ["", "| model | in process, batch | sentences/s | one sentence p50 ms |"]
    lines += ["|---|---:|---:|---:|"]
    for model, row in result["in_process"].items():
        lines.append(
            f"| {model} | {row['batch']} | {row['sentences_per_second']} | {row['single_p50_ms']} |"
        )
    return "\n".join(lines) + "\n"


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--translate", type=Path, help="a translation export folder")
    parser.add_argument("--generate", type=Path, help="a generation export folder")
    parser.add_argument("--quick", action="store_true", help="tiny exports, few requests")
    parser.add_argument(
        "--requests",
        type=int,
        default=None,
        help="per level (16 per client thread, at least 64; quick: 32)",
    )
    parser.add_argument("--seconds", type=float, default=90.0, help="cap per level (90)")
    parser.add_argument("--unbatched", action="store_true", help="also --max-batch-rows 1")
    parser.add_argument("--output-dir", type=Path, default=Path("build/serving_load"))
    args = parser.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    args.output_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as temporary:
        paths = {"translate": args.translate, "generate": args.generate}
        for name, path in paths.items():
            if path is None or args.quick:
                paths[name] = tiny_export(name, Path(temporary))
        texts = sentences(256)
        result = {
            "started": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            "load_average_before": os.getloadavg(),
            "exports": {name: str(path) for name, path in paths.items()},
            "levels": [],
            "in_process": {},
        }
        for name, path in paths.items():
            result["in_process"][name] = in_process(path, texts, 64, 3 if args.quick else 5)
        servers = [("batched", 64)] + ([("unbatched", 1)] if args.unbatched else [])
        for label, rows in servers:
            server = Server(paths, rows, args.output_dir / f"serve_{label}.log")
            result[f"start_seconds_{label}"] = round(server.start_seconds, 1)
            try:
                # The first request after the server says ready: warm-up has run.
                result[f"first_request_ms_{label}"] = {
                    name: round(server.predict(name, texts[0]) * 1000, 1) for name in paths
                }
                for name in paths:
                    if label == "unbatched" and name != "translate":
                        continue
                    for concurrency in CONCURRENCY:
                        # Enough rounds that batches of every size run more than once.
                        requests = args.requests or (
                            32 if args.quick else max(64, 16 * concurrency)
                        )
                        row = load_level(server, name, texts, concurrency, requests, args.seconds)
                        row.update(model=name, server=label)
                        print(json.dumps(row), flush=True)
                        result["levels"].append(row)
            finally:
                server.stop()
        result["load_average_after"] = os.getloadavg()
    (args.output_dir / "serving_load.json").write_text(json.dumps(result, indent=2) + "\n")
    (args.output_dir / "serving_load.md").write_text(table(result))
    print(table(result))
    return result


if __name__ == "__main__":
    main()
