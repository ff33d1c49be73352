"""Config and presets of the recurrent families (`simple_rnn`, `lstm`, `gru`)."""

from __future__ import annotations

from dataclasses import dataclass

import keras

from zoo.layers.multi_head_attention import check_heads_divide
from zoo.models.validation import check_common_fields, check_positive

POOLINGS = ("final", "max", "mean")


@dataclass(frozen=True)
class RecurrentConfig:
    task: str = "seq2seq"
    vocab_size: int = 37000
    target_vocab_size: int | None = None  # seq2seq only; None: same as vocab_size
    num_layers: int = 4  # stacked recurrent layers (encoder and decoder each, for seq2seq)
    hidden_dim: int = 1000  # units per layer, also the embedding width
    dropout: float = 0.0  # between layers and on embeddings
    use_attention: bool = False  # seq2seq: decoder attends to encoder states (Luong 2015)
    num_heads: int = 1  # heads of that attention
    bidirectional: bool | None = None  # None: True for mlm/classify, False otherwise
    share_embeddings: bool = False  # source, target embeddings and output projection tied
    num_classes: int = 2  # classify
    num_features: int = 1  # regress: values per time step
    num_outputs: int = 1  # regress: values predicted per sequence
    # What decides whether the recurrent models learn (README, "The recurrent families"):
    bidirectional_encoder: bool = False  # seq2seq: the first encoder layer reads both ways
    residual: bool = False  # each layer after the first adds its input to its output
    forget_bias: float | None = None  # lstm forget / gru update gate bias; None: Keras's
    chrono_init: int | None = None  # lstm/gru: chrono initialisation up to this many steps
    recurrent_initializer: str = "orthogonal"  # of the recurrent kernels (Keras's default)
    embedding_stddev: float | None = None  # normal embeddings of this scale; None: Keras's
    pooling: str = "final"  # classify/regress: "final" state of each direction, or "max"/"mean"
    # over the real steps of the last layer's outputs

    def __post_init__(self):
        check_common_fields(self, "recurrent")
        check_positive(self, "num_heads")
        if self.use_attention:
            check_heads_divide(
                self.hidden_dim, self.num_heads, where="the attention over encoder states"
            )
        if self.pooling not in POOLINGS:
            raise ValueError(
                f"pooling must be one of {', '.join(map(repr, POOLINGS))} (how classify and "
                f"regress read a sequence), received {self.pooling!r}."
            )
        if self.bidirectional and self.task in ("seq2seq", "lm"):
            raise ValueError(
                f"A {self.task!r} model predicts left to right, so it cannot read the future: "
                "bidirectional=True is only for mlm, classify and regress."
            )
        if self.bidirectional_encoder and self.task != "seq2seq":
            raise ValueError(
                f"bidirectional_encoder=True makes the first encoder layer of a 'seq2seq' model "
                f"read both ways; a {self.task!r} model has no encoder: use "
                "bidirectional=True (mlm, classify, regress) or leave it False."
            )
        if self.forget_bias is not None and not -20.0 <= float(self.forget_bias) <= 20.0:
            raise ValueError(
                f"forget_bias must be a number between -20 and 20 (e.g. 1.0, Keras's LSTM "
                f"default, or 3.0 to start with the gates open), received {self.forget_bias!r}."
            )
        if self.chrono_init is not None and (
            not isinstance(self.chrono_init, int)
            or isinstance(self.chrono_init, bool)
            or self.chrono_init < 3
        ):
            raise ValueError(
                "chrono_init is the longest memory in steps of the chrono initialisation "
                f"(an int of at least 3, e.g. the longest sentence); received {self.chrono_init!r}."
            )
        if self.embedding_stddev is not None and not 0.0 < float(self.embedding_stddev) <= 100.0:
            raise ValueError(
                "embedding_stddev must be a positive number (e.g. 1.0) or None for Keras's "
                f"uniform(-0.05, 0.05) embeddings; received {self.embedding_stddev!r}."
            )
        try:
            keras.initializers.get(self.recurrent_initializer)
        except ValueError as error:
            raise ValueError(
                f"recurrent_initializer {self.recurrent_initializer!r} is not a Keras "
                "initializer name (e.g. 'orthogonal', 'glorot_uniform')."
            ) from error
        if self.bidirectional is False and self.task == "mlm":
            raise ValueError(
                "mlm predicts a masked token from both sides; a unidirectional RNN only sees the "
                "left context. Use bidirectional=True (the default for mlm) or task='lm'."
            )

    @property
    def is_bidirectional(self) -> bool:
        if self.bidirectional is None:
            return self.task in ("mlm", "classify")
        return self.bidirectional


RECURRENT_PRESETS = {
    # Tests: CPU seconds.
    "tiny": dict(vocab_size=64, num_layers=1, hidden_dim=32, use_attention=True),
    # CPU recipes.
    "small": dict(vocab_size=8000, num_layers=2, hidden_dim=256, dropout=0.1, use_attention=True),
    # Sutskever, Vinyals & Le 2014: 4 layers of 1000 cells, no attention.
    "base": dict(vocab_size=37000, num_layers=4, hidden_dim=1000, dropout=0.2),
    # GNMT (Wu et al. 2016) sizes: 8 layers of 1024, with attention.
    "big": dict(vocab_size=37000, num_layers=8, hidden_dim=1024, dropout=0.2, use_attention=True),
}


# Named changes on a size preset: the models the recipes train. Translation: untied, without
# dropout, embeddings at the scale a Transformer's have (standard deviation 1, not Keras's
# +-0.05) and residual connections (together they end the long plateau at the unigram loss), a
# bidirectional first encoder layer (GNMT); Keras's gate biases (README, "The recurrent
# families").
RECURRENT_TRANSLATE = dict(
    dropout=0.0,
    share_embeddings=False,
    embedding_stddev=1.0,
    residual=True,
    bidirectional_encoder=True,
)
RECURRENT_TUNINGS = {
    "translate": RECURRENT_TRANSLATE,
    "char_lm": dict(num_layers=2, hidden_dim=256, dropout=0.0, share_embeddings=False),
    "classify": dict(dropout=0.3, share_embeddings=False),
}
# The LSTM classifier is sized for a CPU budget: on SST-2, one bidirectional layer of 128
# (1.3M weights) reads as well as a plain Keras BiLSTM in the same 8 minutes, where two
# layers of 256 (4.7M) managed two epochs in 15 minutes and scored a point and a half less.
LSTM_TUNINGS = {
    **RECURRENT_TUNINGS,
    "classify": dict(num_layers=1, hidden_dim=128, dropout=0.3, share_embeddings=False),
}
# The GRU joined after the character-LM and classification recipes were tuned: translation
# only, so that those recipes build what they built before.
GRU_TUNINGS = {"translate": RECURRENT_TRANSLATE}
