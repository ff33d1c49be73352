"""zoo: a Keras 3 model zoo for sequence models — SimpleRNN, LSTM and the Transformer.

`import zoo` imports neither Keras nor TensorFlow (so that the `zoo` command answers `--help`
and argument errors at once). The first use of a name below — `zoo.build`, `zoo.load`, ... —
imports Keras, TensorFlow's start-up notices dropped (`zoo.quiet`), and with it the built-in
families and the schedule, loss and metric that compiled .keras checkpoints need; a submodule
(`zoo.models`, `zoo.registry`, ...) is imported on first use as well.
"""

import importlib
import importlib.util

from zoo.quiet import quiet_start_up

__version__ = "0.1.0"

# Each public name and the module that holds it.
_PUBLIC = {
    "attach": "zoo.presets",
    "from_preset": "zoo.presets",
    "load": "zoo.presets",
    "save_to_preset": "zoo.presets",
    "build": "zoo.registry",
    "get_config": "zoo.registry",
    "list_models": "zoo.registry",
    "list_presets": "zoo.registry",
    "list_tasks": "zoo.registry",
    "list_tunings": "zoo.registry",
    "register": "zoo.registry",
    "unregister": "zoo.registry",
    # Most tasks' modules import TensorFlow: on backends without it, `zoo.build` still works.
    "export_model": "zoo.tasks",
}

__all__ = [
    "attach",
    "build",
    "export_model",
    "from_preset",
    "load",
    "save_to_preset",
    "get_config",
    "list_models",
    "list_presets",
    "list_tasks",
    "list_tunings",
    "register",
    "unregister",
]


def _import_built_ins() -> None:
    # Importing these registers the built-in families, and the schedule, loss and metric that
    # compiled .keras checkpoints need to load.
    with quiet_start_up():
        importlib.import_module("zoo.models")
        importlib.import_module("zoo.training")


def __getattr__(name):
    if name in _PUBLIC:
        _import_built_ins()
        value = getattr(importlib.import_module(_PUBLIC[name]), name)
    elif not name.startswith("_") and importlib.util.find_spec(f"{__name__}.{name}"):
        with quiet_start_up():  # a submodule: zoo.models, zoo.export, ...
            value = importlib.import_module(f"{__name__}.{name}")
    else:
        raise AttributeError(f"module 'zoo' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_PUBLIC))
