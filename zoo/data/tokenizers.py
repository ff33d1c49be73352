"""Sub-word tokenizers: SentencePiece models trained in memory, run by keras-nlp.

`SubwordTokenizer.train` learns a SentencePiece model with the `sentencepiece` trainer
(fast C++: seconds for a vocabulary of 8,000 on 280,000 sentences) and wraps it in
`keras_nlp.tokenizers.SentencePieceTokenizer`, which tokenizes in the TensorFlow graph
through tensorflow-text — inside `tf.data` and inside an exported SavedModel. One model
is usually shared by source and target, as in "Attention Is All You Need".

Every model has the same special ids: 0 padding, 1 unknown, 2 start, 3 end (and 4 `[MASK]`
when trained with `mask_token=True`). Training
uses byte fallback, so no character ever becomes unknown (emoji are spelt in UTF-8
bytes), and no normalisation, so `detokenize(tokenize(text)) == text` for text with
single spaces and no spaces at the ends (what `normalize_text` gives). Case is kept.

`encode`, `decode`, `train`, `load` and `save` need only `sentencepiece`: a machine without
TensorFlow (the GPU machine, on JAX) prepares its data with them. `tokenize`, `detokenize`
and `keras_tokenizer` (graph ops) import TensorFlow and keras-nlp when first used.
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import sentencepiece

from zoo.special_ids import END_ID, MASK_ID, MASK_TOKEN, PAD_ID, START_ID, UNK_ID

PROTO_FILENAME = "sentencepiece.model"

# SentencePiece refuses vocabularies smaller than this; say so before it does.
_NUM_BYTE_PIECES = 256
_MODEL_TYPES = ("unigram", "bpe")


def _train_proto(
    sentences: Iterable[str],
    vocabulary_size: int,
    model_type: str,
    seed: int,
    character_coverage: float,
    mask_token: bool = False,
) -> bytes:
    """Trains a SentencePiece model in memory and returns its serialised proto."""
    model_writer = io.BytesIO()
    sentencepiece.set_random_generator_seed(seed)
    try:
        sentencepiece.SentencePieceTrainer.train(
            sentence_iterator=iter(sentences),
            model_writer=model_writer,
            vocab_size=vocabulary_size,
            model_type=model_type,
            pad_id=PAD_ID,
            unk_id=UNK_ID,
            bos_id=START_ID,
            eos_id=END_ID,
            # `[MASK]` right after the four specials (id 4), always one piece of its own.
            user_defined_symbols=[MASK_TOKEN] if mask_token else [],
            # Bytes for characters outside the vocabulary: nothing becomes <unk>.
            byte_fallback=True,
            character_coverage=character_coverage,
            # No NFKC: "…" must stay "…" for detokenize(tokenize(s)) == s.
            normalization_rule_name="identity",
            # A small corpus may not support the requested size; take what it supports.
            hard_vocab_limit=False,
            num_threads=os.cpu_count() or 1,
            minloglevel=2,
        )
    except RuntimeError as error:
        message = str(error)
        required = re.search(
            r"Vocabulary size is smaller than required_chars\. \d+ vs (\d+)", message
        )
        if required:
            raise ValueError(
                f"vocabulary_size={vocabulary_size} is too small for this text: byte fallback "
                f"needs {_NUM_BYTE_PIECES} byte pieces, 4 special pieces and one piece per "
                f"frequent character, {required.group(1)} in all. Pass "
                f"vocabulary_size >= {int(required.group(1)) + 50}."
            ) from error
        raise ValueError(f"SentencePiece training failed: {message}") from error
    return model_writer.getvalue()


def ids_to_ragged(token_ids: Sequence[Sequence[int]]):
    """Python lists of ids → an int32 `tf.RaggedTensor` of shape `(batch, None)`.

    Much faster than `tf.ragged.constant` on large corpora.
    """
    import tensorflow as tf

    row_lengths = np.fromiter((len(ids) for ids in token_ids), dtype=np.int64, count=len(token_ids))
    flat_ids = np.fromiter(
        (token_id for ids in token_ids for token_id in ids), dtype=np.int32, count=row_lengths.sum()
    )
    return tf.RaggedTensor.from_row_lengths(flat_ids, row_lengths)


def fillable_vocabulary_size(texts: Sequence[str], vocabulary_size: int) -> int:
    """`vocabulary_size`, capped at what `texts` can fill: their distinct words plus 300
    (bytes and specials). SentencePiece refuses a vocabulary larger than its corpus holds,
    so the task tokenizers of small corpora ask for this."""
    return min(vocabulary_size, max(300, len(set(" ".join(texts).split())) + 300))


class SubwordTokenizer:
    """A SentencePiece sub-word tokenizer with zoo's special ids.

    Build one with `SubwordTokenizer.train(...)` or `SubwordTokenizer.load(path)`, or pass
    a serialised SentencePiece proto (bytes) or the path of a `.model` file.

    `tokenize` and `detokenize` run through keras-nlp's `SentencePieceTokenizer` (the
    `keras_tokenizer` attribute) and return TensorFlow tensors, eagerly and inside
    `tf.data` / `tf.function` alike. `encode` and `decode` are the fast Python
    equivalents on lists, for preparing data up front and for scoring.

    Args:
        proto: bytes, or a path. The SentencePiece model.

    Attributes:
        proto: bytes. The serialised SentencePiece model.
        proto_path: the `.model` file this tokenizer was loaded from or last saved to,
            or `None`. An export copies it as an asset.
        vocabulary_size: int. The number of ids, special ones included.
        pad_id, unk_id, start_id, end_id: int. 0, 1, 2 and 3.
        keras_tokenizer: the `keras_nlp.tokenizers.SentencePieceTokenizer`.

    Example:

    ```python
    tokenizer = SubwordTokenizer.train(["la balle est rouge", "the ball is red"], 300)
    ids = tokenizer.tokenize(["la balle est rouge"])  # tf.RaggedTensor (1, None)
    tokenizer.detokenize(ids)  # tf.Tensor([b'la balle est rouge'])
    tokenizer.save("assets/")  # assets/sentencepiece.model
    ```
    """

    pad_id = PAD_ID
    unk_id = UNK_ID
    start_id = START_ID
    end_id = END_ID

    def __init__(self, proto: bytes | str | os.PathLike) -> None:
        self.proto_path: Path | None = None
        if not isinstance(proto, bytes):
            self.proto_path = Path(proto)
            proto = self.proto_path.read_bytes()
        self.proto = proto
        self._processor = sentencepiece.SentencePieceProcessor(model_proto=proto)
        expected = {"pad": PAD_ID, "unk": UNK_ID, "start": START_ID, "end": END_ID}
        found = {
            "pad": self._processor.pad_id(),
            "unk": self._processor.unk_id(),
            "start": self._processor.bos_id(),
            "end": self._processor.eos_id(),
        }
        if found != expected:
            raise ValueError(
                f"This SentencePiece model has special ids {found}; zoo needs {expected} "
                "(0 is padding everywhere). Train it with `SubwordTokenizer.train`, or pass "
                "pad_id=0, unk_id=1, bos_id=2, eos_id=3 to the SentencePiece trainer."
            )
        self._keras_tokenizer = None

    @property
    def keras_tokenizer(self):
        """The `keras_nlp.tokenizers.SentencePieceTokenizer` of this model (made on first
        use: it needs TensorFlow and keras-nlp)."""
        if self._keras_tokenizer is None:
            import keras_nlp

            self._keras_tokenizer = keras_nlp.tokenizers.SentencePieceTokenizer(proto=self.proto)
        return self._keras_tokenizer

    @classmethod
    def train(
        cls,
        sentences: Iterable[str],
        vocabulary_size: int = 8000,
        *,
        model_type: str = "bpe",
        seed: int = 0,
        character_coverage: float = 0.9995,
        mask_token: bool = False,
    ) -> SubwordTokenizer:
        """Learns a vocabulary from sentences.

        Pass source and target sentences together for the shared vocabulary that
        translation models use.

        Args:
            sentences: iterable of str. The training text, one sentence per item.
            vocabulary_size: int. The most ids, special ones and 256 byte pieces
                included. A small corpus may support fewer; read `vocabulary_size` after.
            model_type: `"bpe"` (byte-pair encoding, as in the paper; 1.5 s for 8,000
                pieces on Tatoeba en–fr) or `"unigram"` (SentencePiece's default; 13.5 s).
            seed: int. Seed of SentencePiece's sampler.
            character_coverage: float. The share of characters that get a piece of their
                own; the rarest others are spelt in bytes.
            mask_token: bool. Reserve id 4 (`zoo.special_ids.MASK_ID`) for `[MASK]`, the
                token a fill-in-the-blank model predicts; `[MASK]` typed in text then
                tokenizes to it.

        Returns:
            A trained `SubwordTokenizer`.
        """
        if model_type not in _MODEL_TYPES:
            raise ValueError(
                f"`model_type` must be one of {_MODEL_TYPES}; received model_type={model_type!r}."
            )
        if vocabulary_size <= _NUM_BYTE_PIECES + 4:
            raise ValueError(
                f"vocabulary_size={vocabulary_size} leaves no room for sub-words: "
                f"{_NUM_BYTE_PIECES} byte pieces and 4 special pieces come first. "
                "Pass at least 300 (a few thousand for real text)."
            )
        proto = _train_proto(
            sentences, vocabulary_size, model_type, seed, character_coverage, mask_token
        )
        return cls(proto)

    @classmethod
    def load(cls, path: str | os.PathLike) -> SubwordTokenizer:
        """Loads a tokenizer from a `.model` file, or a directory written by `save`."""
        path = Path(path)
        if path.is_dir():
            path = path / PROTO_FILENAME
        if not path.is_file():
            raise FileNotFoundError(
                f"No SentencePiece model at '{path}'. Pass the `.model` file, or the "
                f"directory that `SubwordTokenizer.save` wrote (it holds '{PROTO_FILENAME}')."
            )
        return cls(path)

    def save(self, directory: str | os.PathLike) -> Path:
        """Writes the SentencePiece model to `directory/sentencepiece.model`.

        Args:
            directory: created if missing.

        Returns:
            The path of the written file, also kept in `proto_path`.
        """
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / PROTO_FILENAME
        path.write_bytes(self.proto)
        self.proto_path = path
        return path

    def _refresh_graph_resource(self) -> None:
        """Makes sure the tensorflow-text op that a graph is about to capture still exists.

        tensorflow-text's SentencePiece model lives in an eager op kernel, and
        `tf.random.set_seed` (so `keras.utils.set_random_seed`) clears the eager kernel
        cache, deleting it: every `tf.data` pipeline or `tf.function` traced afterwards
        fails with "Resource .../SentencepieceOp/... does not exist". So, when tracing,
        re-run the op eagerly; while the kernel is alive, this finds it in the cache.
        """
        import tensorflow as tf

        if not tf.executing_eagerly():
            with tf.init_scope():
                self.keras_tokenizer.set_proto(self.proto)

    @property
    def mask_id(self) -> int | None:
        """`MASK_ID` when this vocabulary reserves `[MASK]` (`train(mask_token=True)`),
        else `None`."""
        if self._processor.id_to_piece(MASK_ID) == MASK_TOKEN:
            return MASK_ID
        return None

    @property
    def vocabulary_size(self) -> int:
        return self._processor.get_piece_size()

    def get_vocabulary(self) -> list[str]:
        """The pieces, indexed by id."""
        return [self._processor.id_to_piece(i) for i in range(self.vocabulary_size)]

    def tokenize(self, inputs):
        """Text → ids, without start or end ids.

        Args:
            inputs: a string, or a batch of strings (list or 1-D string tensor).

        Returns:
            An int32 `tf.Tensor` of shape `(length,)` for one string, an int32
            `tf.RaggedTensor` of shape `(batch, None)` for a batch.
        """
        import tensorflow as tf

        self._refresh_graph_resource()
        token_ids = self.keras_tokenizer.tokenize(inputs)
        # Eagerly keras-nlp answers with Python lists (its pure Python path); inside
        # tf.data and tf.function with tensors (tensorflow-text). Answer with tensors always.
        if isinstance(token_ids, list):
            return ids_to_ragged(token_ids)
        if isinstance(token_ids, np.ndarray):
            return tf.constant(token_ids, dtype=tf.int32)
        return token_ids

    def detokenize(self, token_ids):
        """Ids → text. Padding, start and end ids decode to nothing.

        Args:
            token_ids: ids of one sequence (1-D) or a batch (2-D dense or ragged; a
                padded batch is fine).

        Returns:
            A string `tf.Tensor`: a scalar for one sequence, shape `(batch,)` for a batch.
        """
        import tensorflow as tf

        self._refresh_graph_resource()
        text = self.keras_tokenizer.detokenize(token_ids)
        if isinstance(text, (str, list)):
            return tf.constant(text, dtype=tf.string)
        return text

    def encode(self, texts: Sequence[str]) -> list[list[int]]:
        """Text → ids as Python lists (multithreaded SentencePiece), without start or end."""
        return self._processor.encode(list(texts), num_threads=os.cpu_count() or 1)

    def decode(self, token_ids: Sequence[Sequence[int]] | np.ndarray) -> list[str]:
        """Ids → text as Python strings. Padding, start and end ids decode to nothing."""
        if hasattr(token_ids, "to_list"):  # a tf.RaggedTensor
            token_ids = token_ids.to_list()
        elif not isinstance(token_ids, (list, tuple)):  # numpy, TensorFlow or JAX arrays
            token_ids = np.asarray(token_ids).tolist()
        return self._processor.decode([list(map(int, ids)) for ids in token_ids])

    def __repr__(self) -> str:
        where = f", proto_path='{self.proto_path}'" if self.proto_path else ""
        return f"SubwordTokenizer(vocabulary_size={self.vocabulary_size}{where})"
