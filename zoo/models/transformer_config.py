"""The Transformer family's config and presets (the paper's Table 3 for base and big)."""

from __future__ import annotations

from dataclasses import dataclass

from zoo.layers.multi_head_attention import check_heads_divide
from zoo.models.validation import check_common_fields, check_positive


@dataclass(frozen=True)
class TransformerConfig:
    task: str = "seq2seq"
    vocab_size: int = 37000  # the paper's shared English-German BPE vocabulary
    target_vocab_size: int | None = None  # seq2seq only; None: same as vocab_size
    num_layers: int = 6  # encoder layers (decoder layers for `lm`)
    num_decoder_layers: int | None = None  # None: same as num_layers
    hidden_dim: int = 512  # d_model
    num_heads: int = 8
    intermediate_dim: int = 2048  # d_ff
    dropout: float = 0.1  # P_drop, on every sub-layer output and on embeddings
    activation: str = "relu"
    layer_norm_epsilon: float = 1e-5
    norm_first: bool = False  # pre-norm; the paper is post-norm
    position_encoding: str = "sinusoidal"  # or "learned"
    max_sequence_length: int = 1024  # only bounds "learned" positions
    share_embeddings: bool = False  # source, target embeddings and output projection tied
    num_classes: int = 2  # classify
    num_features: int = 1  # regress: values per time step
    num_outputs: int = 1  # regress: values predicted per sequence

    def __post_init__(self):
        check_common_fields(self, "transformer")
        check_positive(self, "num_heads", "intermediate_dim")
        if self.num_decoder_layers is not None:
            check_positive(self, "num_decoder_layers")
        check_heads_divide(self.hidden_dim, self.num_heads)
        if self.position_encoding not in ("sinusoidal", "learned"):
            raise ValueError(
                "position_encoding must be 'sinusoidal' or 'learned', received "
                f"{self.position_encoding!r}."
            )

    @property
    def decoder_layers(self) -> int:
        return self.num_layers if self.num_decoder_layers is None else self.num_decoder_layers


TRANSFORMER_PRESETS = {
    # Tests: CPU seconds.
    "tiny": dict(
        vocab_size=64,
        num_layers=1,
        hidden_dim=32,
        num_heads=2,
        intermediate_dim=64,
        dropout=0.0,
        max_sequence_length=128,
    ),
    # CPU recipes: trains in minutes on 2 cores.
    "small": dict(
        vocab_size=8000,
        num_layers=3,
        hidden_dim=256,
        num_heads=4,
        intermediate_dim=1024,
        dropout=0.1,
        share_embeddings=True,
    ),
    # "Attention Is All You Need", Table 3.
    "base": dict(
        vocab_size=37000,
        num_layers=6,
        hidden_dim=512,
        num_heads=8,
        intermediate_dim=2048,
        dropout=0.1,
        share_embeddings=True,
    ),
    "big": dict(
        vocab_size=37000,
        num_layers=6,
        hidden_dim=1024,
        num_heads=16,
        intermediate_dim=4096,
        dropout=0.3,
        share_embeddings=True,
    ),
}


# Named changes on a size preset: the models the recipes train (README's measurements say why).
TRANSFORMER_TUNINGS = {
    # Translation in minutes: pre-norm, no dropout, tied embeddings (learns fastest).
    "translate": dict(dropout=0.0, norm_first=True, share_embeddings=True),
    # `make demo`: the same, 2 + 2 layers of d = 128, learns the embedded corpus in ~2 minutes.
    "translate_demo": dict(
        dropout=0.0,
        norm_first=True,
        share_embeddings=True,
        num_layers=2,
        hidden_dim=128,
        num_heads=4,
        intermediate_dim=512,
    ),
    # The character LM: nanoGPT's model (pre-norm, GELU, learned positions, tied embeddings).
    "char_lm": dict(
        num_layers=4,
        hidden_dim=128,
        num_heads=4,
        intermediate_dim=512,
        dropout=0.0,
        norm_first=True,
        activation="gelu",
        position_encoding="learned",
        share_embeddings=True,
    ),
    "classify": dict(dropout=0.1),
    # Masked-token pre-training on a CPU budget: pre-norm, GELU, no dropout (a 20-minute run
    # sees each paragraph a few times), with the recipe's learning rate 1e-3 and 2,048-token
    # batches it leaves the unigram plateau that the post-norm default sat on.
    "fill_mask": dict(norm_first=True, dropout=0.0, activation="gelu"),
}
