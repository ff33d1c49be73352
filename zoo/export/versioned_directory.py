"""`saved_models/<name>/<version>/`, the layout TensorFlow Serving reads, written atomically."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import tempfile
from pathlib import Path

TEMPORARY_PREFIX = ".tmp-"


def existing_versions(model_directory: str | os.PathLike) -> list[int]:
    """The integer versions already under `model_directory`, sorted."""
    directory = Path(model_directory)
    if not directory.is_dir():
        return []
    return sorted(int(p.name) for p in directory.iterdir() if p.is_dir() and p.name.isdigit())


def newest_version_folder(path: str | os.PathLike) -> Path | None:
    """The SavedModel version `path` names: `path` itself when it holds `saved_model.pb`, else
    its newest integer version holding one; None when it is neither."""
    path = Path(path)
    if (path / "saved_model.pb").is_file():
        return path
    versions = existing_versions(path)
    if versions and (path / str(versions[-1]) / "saved_model.pb").is_file():
        return path / str(versions[-1])
    return None


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
    model; versions count up and are never overwritten. A writer killed outright (SIGKILL)
    cannot remove its temporary folder: the next export on that host does
    (`remove_abandoned_versions`).
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
    remove_abandoned_versions(model_directory)
    # The name says who writes it, for `remove_abandoned_versions`: host and process id.
    prefix = f"{TEMPORARY_PREFIX}{version}-{socket.gethostname()}-{os.getpid()}-"
    temporary = Path(tempfile.mkdtemp(prefix=prefix, dir=model_directory))
    try:
        yield temporary, final_path
        os.rename(temporary, final_path)
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise


def remove_abandoned_versions(model_directory: str | os.PathLike) -> list[Path]:
    """Removes the temporary folders under `model_directory` whose writer is gone: written
    by a process of this host that no longer runs (it was killed mid-export). Folders of
    other hosts (a shared file system) and of live processes are left alone. Returns the
    folders removed."""
    removed = []
    host = socket.gethostname()
    for path in Path(model_directory).glob(f"{TEMPORARY_PREFIX}*"):
        # .tmp-<version>-<host>-<pid>-<random>; the host name may contain dashes.
        parts = path.name[len(TEMPORARY_PREFIX) :].split("-")
        if len(parts) < 4 or not parts[-2].isdigit():
            continue
        if "-".join(parts[1:-2]) == host and not _is_running(int(parts[-2])):
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


def _is_running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True
