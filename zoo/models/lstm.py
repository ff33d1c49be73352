"""The LSTM family (Hochreiter & Schmidhuber 1997): an additive cell state that carries
information, and its gradient, across long lags."""

from __future__ import annotations

from zoo.models.recurrent import build_recurrent
from zoo.models.recurrent_config import LSTM_TUNINGS, RECURRENT_PRESETS, RecurrentConfig
from zoo.registry import TASKS, register


@register(
    "lstm",
    config_class=RecurrentConfig,
    tasks=TASKS,
    presets=RECURRENT_PRESETS,
    default_task="seq2seq",
    default_preset="base",
    tunings=LSTM_TUNINGS,
)
def build_lstm(config: RecurrentConfig, backbone=None):
    """LSTM stacks (`keras.layers.LSTM`); `base` is Sutskever et al. 2014 (4 x 1000), `big`
    has GNMT's sizes (8 x 1024)."""
    return build_recurrent(config, "lstm", backbone)
