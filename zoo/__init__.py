"""zoo: a Keras 3 model zoo for sequence models — SimpleRNN, LSTM and the Transformer."""

from zoo.quiet import quiet_start_up

# Importing these registers the built-in families, and the schedule, loss and metric that
# compiled .keras checkpoints need to load. (They import Keras, and with it TensorFlow,
# whose start-up notices are dropped.)
with quiet_start_up():
    from zoo import models, training  # noqa: F401
from zoo.presets import attach, from_preset, load, save_to_preset
from zoo.registry import (
    build,
    get_config,
    list_models,
    list_presets,
    list_tasks,
    list_tunings,
    register,
    unregister,
)

__version__ = "0.1.0"

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


def __getattr__(name):
    # These need TensorFlow (most tasks' modules import it); import them on first use so that
    # `import zoo` works on backends without TensorFlow (the JAX GPU machine).
    if name == "export_model":
        from zoo.tasks import export_model

        return export_model
    if name == "export":
        import zoo.export

        return zoo.export
    raise AttributeError(f"module 'zoo' has no attribute {name!r}")
