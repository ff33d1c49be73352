"""The GRU family (Cho et al. 2014): an LSTM's gated memory with two gates and one state,
`h_t = z_t h_(t-1) + (1 - z_t) h~_t`."""

from __future__ import annotations

from zoo.models.recurrent import build_recurrent
from zoo.models.recurrent_config import GRU_TUNINGS, RECURRENT_PRESETS, RecurrentConfig
from zoo.registry import TASKS, register


@register(
    "gru",
    config_class=RecurrentConfig,
    tasks=TASKS,
    presets=RECURRENT_PRESETS,
    default_task="seq2seq",
    default_preset="base",
    tunings=GRU_TUNINGS,
)
def build_gru(config: RecurrentConfig, backbone=None):
    """GRU stacks (`keras.layers.GRU`, `reset_after=True` as cuDNN has it), sized like the
    LSTM presets."""
    return build_recurrent(config, "gru", backbone)
