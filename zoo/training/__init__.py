"""Losses, metrics, learning-rate schedules, callbacks and run-time set-up for `fit()`."""

from zoo.training.callbacks import (
    AtomicModelCheckpoint,
    TimeBudget,
    read_best_value,
    standard_callbacks,
)
from zoo.training.distribution import (
    STRATEGY_KINDS,
    data_parallel,
    distribution_strategy,
    even_batches,
    initialize_multi_worker,
    process_shard,
)
from zoo.training.losses import MaskedSparseCategoricalCrossentropy
from zoo.training.metrics import MaskedTokenAccuracy, MaskedTopKAccuracy
from zoo.training.optimizers import adamw, make_optimizer, muon
from zoo.training.runtime import configure_runtime, describe_devices
from zoo.training.schedules import TransformerSchedule
from zoo.training.seq2seq import compile_seq2seq
from zoo.training.translation_scores import translation_scores

__all__ = [
    "STRATEGY_KINDS",
    "AtomicModelCheckpoint",
    "MaskedSparseCategoricalCrossentropy",
    "MaskedTokenAccuracy",
    "MaskedTopKAccuracy",
    "TimeBudget",
    "TransformerSchedule",
    "adamw",
    "make_optimizer",
    "muon",
    "compile_seq2seq",
    "configure_runtime",
    "data_parallel",
    "describe_devices",
    "distribution_strategy",
    "even_batches",
    "initialize_multi_worker",
    "process_shard",
    "read_best_value",
    "standard_callbacks",
    "translation_scores",
]
