"""Losses, metrics, learning-rate schedules, callbacks and run-time set-up for `fit()`."""

from zoo.training.callbacks import (
    AtomicModelCheckpoint,
    TimeBudget,
    read_best_value,
    standard_callbacks,
)
from zoo.training.losses import MaskedSparseCategoricalCrossentropy
from zoo.training.metrics import MaskedTokenAccuracy
from zoo.training.runtime import (
    configure_runtime,
    describe_devices,
    distribution_strategy,
)
from zoo.training.schedules import TransformerSchedule

__all__ = [
    "AtomicModelCheckpoint",
    "MaskedSparseCategoricalCrossentropy",
    "MaskedTokenAccuracy",
    "TimeBudget",
    "TransformerSchedule",
    "configure_runtime",
    "describe_devices",
    "distribution_strategy",
    "read_best_value",
    "standard_callbacks",
]
