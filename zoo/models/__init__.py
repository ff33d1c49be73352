"""Named models. Importing a family's module registers its builder with `zoo.registry`."""

from zoo.models import gru, lstm, simple_rnn, transformer  # noqa: F401  (register them)
from zoo.models.recurrent import RecurrentEncoderModel, RecurrentLM, RecurrentSeq2Seq
from zoo.models.recurrent_config import RecurrentConfig
from zoo.models.transformer import TransformerEncoderModel, TransformerLM, TransformerSeq2Seq
from zoo.models.transformer_config import TransformerConfig

__all__ = [
    "RecurrentConfig",
    "RecurrentEncoderModel",
    "RecurrentLM",
    "RecurrentSeq2Seq",
    "TransformerConfig",
    "TransformerEncoderModel",
    "TransformerLM",
    "TransformerSeq2Seq",
]
