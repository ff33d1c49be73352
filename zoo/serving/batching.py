"""Concurrent requests to one model, run as few signature calls.

TensorFlow runs a batch of 32 sentences in far less than 32 times one sentence's time, so
a server that runs each request alone wastes most of the machine under load. `Batcher`
keeps one queue per model and one thread that calls TensorFlow: while a call runs, new
requests wait; when it ends, every waiting request for the same version, signature and
settings (the scalar inputs, and the trailing shapes of the others) is concatenated along
the first axis — up to `max_batch_rows` rows — run as one call, and each request gets its
own rows back. A lone request waits for nothing. Signatures that draw random numbers
(`LoadedVersion.batchable`) run one request per call, so that a seed gives the same text
whatever else arrives.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import dataclasses
from collections.abc import Mapping

import numpy as np

from zoo.serving.requests import RequestError


@dataclasses.dataclass
class _Pending:
    version: object  # LoadedVersion
    signature_name: str
    arrays: Mapping[str, np.ndarray]
    rows: int
    key: tuple
    future: asyncio.Future


class Batcher:
    """`await batcher.run(version, signature_name, arrays)` -> `{output: numpy array}`."""

    def __init__(self, max_batch_rows: int = 64):
        self.max_batch_rows = max_batch_rows
        self._queue: asyncio.Queue | None = None
        self._worker: asyncio.Task | None = None
        # One thread calls TensorFlow: its ops already use every core.
        self._executor = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="zoo-run")
        self.calls = 0  # signature calls made, for tests and logs

    async def run(self, version, signature_name: str, arrays: Mapping[str, np.ndarray]) -> dict:
        if self._queue is None:
            self._queue = asyncio.Queue()
            self._worker = asyncio.get_running_loop().create_task(self._work())
        key, rows = _batch_key(version, signature_name, arrays)
        future = asyncio.get_running_loop().create_future()
        await self._queue.put(_Pending(version, signature_name, arrays, rows, key, future))
        return await future

    async def _work(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            waiting = [await self._queue.get()]
            while not self._queue.empty():
                waiting.append(self._queue.get_nowait())
            while waiting:
                batch, waiting = self._take_batch(waiting)
                try:
                    results = await loop.run_in_executor(self._executor, _run_batch, batch)
                    self.calls += 1
                except RequestError as error:
                    if len(batch) > 1:  # one bad request must not fail the others
                        for pending in batch:
                            waiting.insert(0, dataclasses.replace(pending, key=(object(),)))
                        continue
                    results = [error]
                except Exception as error:  # noqa: BLE001  (answered as a 500, server lives)
                    results = [error] * len(batch)
                for pending, result in zip(batch, results):
                    if pending.future.done():
                        continue
                    if isinstance(result, BaseException):
                        pending.future.set_exception(result)
                    else:
                        pending.future.set_result(result)

    def _take_batch(self, waiting: list) -> tuple[list, list]:
        first, batch, rest, rows = waiting[0], [waiting[0]], [], waiting[0].rows
        for pending in waiting[1:]:
            if (
                first.key is not None
                and pending.key == first.key
                and rows + pending.rows <= self.max_batch_rows
            ):
                batch.append(pending)
                rows += pending.rows
            else:
                rest.append(pending)
        return batch, rest


def _batch_key(version, signature_name: str, arrays: Mapping[str, np.ndarray]):
    """`(key, rows)`: requests with equal keys may be concatenated; key None: never."""
    batched = [array for array in arrays.values() if array.ndim > 0]
    if not batched or not version.batchable(signature_name):
        return None, max((len(a) for a in batched), default=1)
    rows = batched[0].shape[0]
    if any(array.shape[0] != rows for array in batched):
        return None, rows
    settings = tuple(
        (name, array.item()) if array.ndim == 0 else (name, array.shape[1:], str(array.dtype))
        for name, array in sorted(arrays.items())
    )
    return (id(version), signature_name, settings), rows


def _run_batch(batch: list[_Pending]) -> list[dict]:
    """One signature call for every request in `batch`, split back into each one's rows."""
    first = batch[0]
    if len(batch) == 1:
        return [first.version.run(first.signature_name, first.arrays)]
    arrays = {
        name: np.concatenate([p.arrays[name] for p in batch]) if value.ndim else value
        for name, value in first.arrays.items()
    }
    outputs = first.version.run(first.signature_name, arrays)
    total = sum(p.rows for p in batch)
    if any(np.ndim(value) == 0 or len(value) != total for value in outputs.values()):
        # Outputs not split by row: run each request alone.
        return [p.version.run(p.signature_name, p.arrays) for p in batch]
    results, start = [], 0
    for pending in batch:
        end = start + pending.rows
        results.append({name: value[start:end] for name, value in outputs.items()})
        start = end
    return results
