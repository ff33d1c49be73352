"""A byte-level tokenizer for character language models: UTF-8 bytes, after zoo's special ids.

Every UTF-8 byte is a token, `id = byte + 4`, so ids 0-3 keep their meaning everywhere in
zoo (padding, unknown, start, end) and no text is ever out of the vocabulary: ASCII text
(Shakespeare) is one token per character, other characters are two to four tokens. The
graph side is keras-nlp's `ByteTokenizer` (plain TensorFlow string ops, so it traces into
`tf.data` and into an exported SavedModel); `encode` and `decode` are the Python side.
"""

from __future__ import annotations

from collections.abc import Sequence

from zoo.special_ids import END_ID, PAD_ID, START_ID, UNK_ID

NUM_SPECIAL_IDS = 4


class ByteTokenizer:
    """UTF-8 bytes as ids `4 .. 259`; ids 0-3 are padding, unknown, start and end.

    Decoding replaces an incomplete or invalid UTF-8 sequence (a model may emit one) with
    U+FFFD, never fails; special ids decode to nothing.

    Example:
    >>> tokenizer = ByteTokenizer()
    >>> tokenizer.encode(["hi"])
    [[108, 109]]
    >>> tokenizer.decode([[2, 108, 109, 3, 0]])
    ['hi']
    """

    pad_id = PAD_ID
    unk_id = UNK_ID
    start_id = START_ID
    end_id = END_ID
    offset = NUM_SPECIAL_IDS
    vocabulary_size = 256 + NUM_SPECIAL_IDS

    def encode(self, texts: Sequence[str]) -> list[list[int]]:
        """Text -> ids as Python lists, without start or end ids."""
        if isinstance(texts, str):
            raise TypeError("`encode` takes a list of strings; wrap a single text in a list.")
        return [[byte + self.offset for byte in text.encode("utf-8")] for text in texts]

    def decode(self, token_ids) -> list[str]:
        """Ids -> text; special ids are dropped, broken UTF-8 becomes U+FFFD."""
        texts = []
        for row in _as_lists(token_ids):
            data = bytes(int(i) - self.offset for i in row if int(i) >= self.offset)
            texts.append(data.decode("utf-8", errors="replace"))
        return texts

    def graph_tokenizer(self):
        """keras-nlp's `ByteTokenizer` (TensorFlow ops), for `tokenize`/`detokenize`."""
        import keras_nlp

        return keras_nlp.tokenizers.ByteTokenizer(errors="replace")

    def tokenize(self, texts):
        """Strings -> int32 ids `(batch, None)` ragged, in the TensorFlow graph."""
        import tensorflow as tf

        ids = self.graph_tokenizer().tokenize(tf.convert_to_tensor(texts, tf.string))
        if isinstance(ids, list):  # eagerly, keras-nlp answers with Python lists
            from zoo.data.tokenizers import ids_to_ragged

            ids = ids_to_ragged(ids)
        return tf.cast(ids, tf.int32) + self.offset

    def detokenize(self, token_ids):
        """int32 ids (dense or ragged; special ids are dropped) -> strings."""
        import tensorflow as tf

        token_ids = tf.convert_to_tensor(token_ids) if not _is_ragged(token_ids) else token_ids
        if not _is_ragged(token_ids):
            token_ids = tf.RaggedTensor.from_tensor(token_ids)
        token_ids = tf.cast(token_ids, tf.int32)
        real = tf.ragged.boolean_mask(token_ids, token_ids >= self.offset) - self.offset
        return self.graph_tokenizer().detokenize(real)

    def card(self) -> dict:
        """What a model card says of this tokenizer."""
        return {
            "type": "utf-8 bytes",
            "vocabulary_size": self.vocabulary_size,
            "ids": f"byte + {self.offset}",
            "pad_id": self.pad_id,
            "unk_id": self.unk_id,
            "start_id": self.start_id,
            "end_id": self.end_id,
        }

    def __repr__(self) -> str:
        return "ByteTokenizer()"


def _is_ragged(value) -> bool:
    return type(value).__name__ == "RaggedTensor"


def _as_lists(token_ids):
    if hasattr(token_ids, "to_list"):
        return token_ids.to_list()
    if hasattr(token_ids, "numpy"):
        token_ids = token_ids.numpy()
    if hasattr(token_ids, "tolist"):
        return token_ids.tolist()
    return token_ids
