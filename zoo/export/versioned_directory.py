"""`saved_models/<name>/<version>/`, the layout TensorFlow Serving reads, written atomically."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path


def existing_versions(model_directory: str | os.PathLike) -> list[int]:
    """The integer versions already under `model_directory`, sorted."""
    directory = Path(model_directory)
    if not directory.is_dir():
        return []
    return sorted(int(p.name) for p in directory.iterdir() if p.is_dir() and p.name.isdigit())


def next_version(model_directory: str | os.PathLike) -> int:
    """One more than the largest existing version (1 for the first)."""
    versions = existing_versions(model_directory)
    return versions[-1] + 1 if versions else 1


@contextlib.contextmanager
def atomic_version_directory(model_directory: str | os.PathLike, version: int | None = None):
    """Yield `(temporary, final_path)`: write into `temporary`, it becomes `final_path`.

    The temporary folder sits beside the final one (same file system, so the rename is
    atomic) and starts with a dot, which TensorFlow Serving ignores. If the body raises, the
    temporary folder is removed and no version appears: a crash never leaves a half-written
    model; versions count up and are never overwritten.
    """
    model_directory = Path(model_directory)
    model_directory.mkdir(parents=True, exist_ok=True)
    if version is None:
        version = next_version(model_directory)
    if int(version) <= 0:
        raise ValueError(f"`version` must be a positive integer, received {version!r}.")
    final_path = model_directory / str(int(version))
    if final_path.exists():
        raise ValueError(
            f"{final_path} already exists; versions are never overwritten. Leave `version` "
            f"out to write version {next_version(model_directory)}."
        )
    temporary = Path(tempfile.mkdtemp(prefix=f".tmp-{version}-", dir=model_directory))
    try:
        yield temporary, final_path
        os.rename(temporary, final_path)
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise
