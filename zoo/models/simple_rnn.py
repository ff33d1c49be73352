"""The SimpleRNN family (Elman 1990): `h_t = tanh(W x_t + U h_(t-1) + b)`."""

from __future__ import annotations

from zoo.models.recurrent import build_recurrent
from zoo.models.recurrent_config import RECURRENT_PRESETS, RECURRENT_TUNINGS, RecurrentConfig
from zoo.registry import TASKS, register


@register(
    "simple_rnn",
    config_class=RecurrentConfig,
    tasks=TASKS,
    presets=RECURRENT_PRESETS,
    default_task="seq2seq",
    default_preset="base",
    tunings=RECURRENT_TUNINGS,
)
def build_simple_rnn(config: RecurrentConfig, backbone=None):
    """Elman RNN stacks (`keras.layers.SimpleRNN`), sized like the LSTM presets."""
    return build_recurrent(config, "simple_rnn", backbone)
