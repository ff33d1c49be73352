import os
import socket
import subprocess
import sys

import pytest

from zoo.export.versioned_directory import (
    atomic_version_directory,
    existing_versions,
    remove_abandoned_versions,
)


def dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_abandoned_temporary_folders_of_dead_writers_on_this_host_are_removed(tmp_path):
    host = socket.gethostname()
    dead = dead_pid()
    abandoned = tmp_path / f".tmp-3-{host}-{dead}-abc"
    alive = tmp_path / f".tmp-3-{host}-{os.getpid()}-def"  # still being written
    elsewhere = tmp_path / f".tmp-3-another-host-{dead}-ghi"  # a shared file system
    unknown = tmp_path / ".tmp-3-xyz"  # not a name zoo writes
    for folder in (abandoned, alive, elsewhere, unknown, tmp_path / "1"):
        folder.mkdir()
        (folder / "saved_model.pb").write_bytes(b"half")
    assert remove_abandoned_versions(tmp_path) == [abandoned]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [alive.name, elsewhere.name, unknown.name, "1"]
    )


def test_a_version_is_written_under_a_dot_name_that_says_who_writes_it(tmp_path):
    with atomic_version_directory(tmp_path) as (temporary, final_path):
        assert temporary.name.startswith(f".tmp-1-{socket.gethostname()}-{os.getpid()}-")
        assert remove_abandoned_versions(tmp_path) == []  # its writer is alive
        (temporary / "saved_model.pb").write_bytes(b"model")
    assert final_path == tmp_path / "1" and existing_versions(tmp_path) == [1]
    with pytest.raises(RuntimeError), atomic_version_directory(tmp_path) as (temporary, _):
        raise RuntimeError("crash while writing")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["1"]
