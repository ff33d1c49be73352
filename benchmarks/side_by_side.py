"""Timing contenders side by side, the way every figure in BENCHMARKS.md is taken.

On a shared machine the load drifts during a run, so a contender timed alone, then the next
one, measures the drift as much as the code. Here each contender takes its turn in every
round (the order rotating, so none always follows the same one), after warm-up calls that
trace and compile; a sample is the same number of calls for every contender, enough to last
`min_sample_seconds` for the fastest; the figure is the median over rounds.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Callable

import numpy as np


def seconds_per_call(function: Callable[[], object], calls: int) -> float:
    start = time.perf_counter()
    for _ in range(calls):
        function()
    return (time.perf_counter() - start) / calls


def time_interleaved(
    contenders: dict[str, Callable[[], object]],
    repeats: int,
    warmup: int = 1,
    min_sample_seconds: float = 0.5,
    probes: dict[str, Callable[[], float]] | None = None,
) -> dict:
    """Seconds per call of each contender, `repeats` rounds of interleaved samples.

    Args:
        contenders: name -> a call to time (e.g. one training step).
        repeats: rounds; each contender gives one sample per round.
        warmup: rounds of one call per contender first (tracing, compilation, caches),
            not counted; the last one's times set the calls per sample.
        min_sample_seconds: calls per sample are chosen so the fastest contender's sample
            lasts about this long (at least one call).
        probes: name -> a measurement taken after each contender's sample (e.g. the matmul
            peak), so it sees the same load as they do.

    Returns:
        `{"calls_per_sample", "seconds": {name: [per-call seconds per round]},
        "median_seconds": {name: ...}, "probes": {name: [value per contender sample]}}`.
    """
    if repeats < 1:
        raise ValueError(f"`repeats` must be at least 1, received {repeats}.")
    if warmup < 1:
        raise ValueError(f"`warmup` must be at least 1 (it traces and calibrates), got {warmup}.")
    for _ in range(warmup):  # the last warm-up round's times choose the calls per sample
        last = [seconds_per_call(function, 1) for function in contenders.values()]
    fastest = min(last)
    calls = max(1, math.ceil(min_sample_seconds / max(fastest, 1e-9)))
    names = list(contenders)
    seconds = {name: [] for name in names}
    probes = probes or {}
    probe_values = {name: [] for name in probes}
    for round_index in range(repeats):
        shift = round_index % len(names)
        for name in names[shift:] + names[:shift]:
            seconds[name].append(seconds_per_call(contenders[name], calls))
            for probe_name, probe in probes.items():
                probe_values[probe_name].append(probe())
    return {
        "calls_per_sample": calls,
        "seconds": seconds,
        "median_seconds": {name: float(np.median(values)) for name, values in seconds.items()},
        "probes": probe_values,
    }


def write_json(document: dict, output_dir: str, name: str) -> str:
    os.makedirs(output_dir, exist_ok=True)
    path = os.path.join(output_dir, name)
    with open(path, "w") as file:
        json.dump(document, file, indent=1)
        file.write("\n")
    return path
