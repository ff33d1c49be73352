"""TensorFlow's start-up lines kept off the terminal while zoo imports it.

Its C++ libraries print CUDA probing, oneDNN and CPU-instruction notices to file descriptor 2
before its logging starts, so no environment variable silences them all. While the block
runs, descriptor 2 goes to a temporary file; when it ends, every line that is not one of
those notices (`START_UP_NOISE`) is written back to stderr, in order. `ZOO_DEBUG=1`, or a
`TF_CPP_MIN_LOG_LEVEL` the user set, shows everything.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import tempfile

START_UP_NOISE = re.compile(
    r"All log messages before absl::InitializeLog\(\) is called"
    r"|cudart_stub\.cc|Could not find cuda drivers|failed call to cuInit"
    r"|Unable to register cu(DNN|FFT|BLAS) factory|computation placer already registered"
    r"|TF-TRT Warning|cpu_feature_guard\.cc|^To enable the following instructions"
    r"|oneDNN custom operations are on|precompiled_charsmap is empty"
    r"|oneDNN supports DT_[A-Z0-9]+ only on platforms with AVX-512"
)
# Whether the user chose TensorFlow's log level (then they see what it lets through): read
# once, before zoo sets a level of its own.
_USER_LOG_LEVEL = "TF_CPP_MIN_LOG_LEVEL" in os.environ


def wanted() -> bool:
    debug = os.environ.get("ZOO_DEBUG", "").strip().lower() not in ("", "0", "false", "no")
    return not debug and not _USER_LOG_LEVEL


@contextlib.contextmanager
def quiet_start_up(enabled: bool | None = None):
    """Drops `START_UP_NOISE` lines from what the block writes to stderr (descriptor 2)."""
    if not (wanted() if enabled is None else enabled):
        yield
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    try:
        sys.stderr.flush()
        saved_stderr = os.dup(2)
    except (OSError, ValueError):  # no descriptor 2 (an embedded interpreter): nothing to do
        yield
        return
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved_stderr, 2)
            os.close(saved_stderr)
            captured.seek(0)
            lines = captured.read().decode("utf-8", errors="replace").splitlines(keepends=True)
            sys.stderr.write("".join(line for line in lines if not START_UP_NOISE.search(line)))
            sys.stderr.flush()
