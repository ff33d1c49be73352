"""Checks, before a recipe trains, that its folders can take what the run will write: a
read-only folder or a full disk is an error in the first second, not after twenty minutes."""

from __future__ import annotations

import contextlib
import math
import os
import shutil
import uuid
from pathlib import Path

MiB = 1024**2
# Room every run needs beyond its checkpoints: tokenizer, logs, results, an export.
BASE_BYTES = 64 * MiB
# Copies of the training state a run may hold at once: the backup (and the one being
# written), the latest and best checkpoints (and one being written), the final model.
CHECKPOINT_COPIES = 6


def check_writable(folder: str | os.PathLike, flag: str, *, keep: bool = True) -> Path:
    """Creates `folder` (with its parents) and writes and removes a probe file in it; an
    `OSError` naming the folder and the `flag` that chose it when any of that fails. With
    `keep=False` the folders it created are removed again (an export folder appears only
    when a model is exported into it)."""
    folder = Path(folder)
    created = [parent for parent in (folder, *folder.parents) if not parent.exists()]
    probe = folder / f".zoo-write-check-{uuid.uuid4().hex}"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe.write_bytes(b"zoo")
        probe.unlink()
    except OSError as error:
        raise OSError(
            f"Cannot write to {folder} ({error.strerror or error}). Choose a folder you can "
            f"write to with {flag}, or make this one writable."
        ) from None
    finally:
        if not keep:
            for path in created:  # deepest first
                with contextlib.suppress(OSError):
                    path.rmdir()
    return folder


def check_free_space(folder: str | os.PathLike, need_bytes: int, what: str, flag: str) -> None:
    """An `OSError` when the file system of `folder` has less than `need_bytes` free."""
    free = shutil.disk_usage(folder).free
    if free < need_bytes:
        raise OSError(
            f"{folder} has {_megabytes(free)} free, and {what} needs about "
            f"{_megabytes(need_bytes)}. Free some space, or choose a folder on another disk "
            f"with {flag}."
        )


def training_bytes(model) -> int:
    """About what a run's checkpoints take for `model`: every copy holds the weights and
    the optimizer's state (Adam: two moments; an EMA copy when it keeps one), at 4 bytes a
    number whatever the compute precision (the weights stay float32)."""
    weights = sum(math.prod(variable.shape) for variable in model.weights)
    optimizer = getattr(model, "optimizer", None)
    optimizer_numbers = (
        sum(math.prod(variable.shape) for variable in optimizer.variables)
        if optimizer is not None and optimizer.built
        else 3 * weights  # not built yet: two moments and an EMA copy at most
    )
    return BASE_BYTES + CHECKPOINT_COPIES * 4 * (weights + optimizer_numbers)


def _megabytes(count: int) -> str:
    return f"{count / MiB:,.0f} MiB"
