"""Run a script in a fresh Python process that may import TensorFlow but not zoo, keras-nlp
or keras-hub: what a user of an exported model has."""

import json
import os
import subprocess
import sys
import textwrap

FORBID = textwrap.dedent(
    """
    import importlib.abc, json, sys

    class Forbid(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in ("zoo", "keras_nlp", "keras_hub"):
                raise ImportError(f"{name} must not be needed to load the model")

    sys.meta_path.insert(0, Forbid())
    """
)


def run_without_zoo(script: str, path, payload):
    """Run `script` (which reads `sys.argv[1]`, the export's path, and `sys.argv[2]`, JSON)
    and return what it printed after `RESULT` as JSON."""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONPATH="")
    completed = subprocess.run(
        [sys.executable, "-c", FORBID + textwrap.dedent(script), str(path), json.dumps(payload)],
        capture_output=True,
        text=True,
        env=env,
        cwd="/",
        timeout=300,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    line = [x for x in completed.stdout.splitlines() if x.startswith("RESULT")][-1]
    return json.loads(line[len("RESULT") :])
