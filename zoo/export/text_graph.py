"""A tokenizer as graph resources of a SavedModel: text -> ids -> text, TensorFlow alone.

`graph_text_tokenizer(tokenizer)` turns a zoo tokenizer into a `tf.Module` the export
tracks, with `tokenize(strings) -> int32 ragged ids` (no special ids) and
`detokenize(ids) -> strings` (padding, start and end ids dropped), plus the files to put in
`assets/` and the model card's description. Loading needs `tensorflow` and, for
SentencePiece, `import tensorflow_text` (its ops) — never zoo or keras-nlp.
"""

from __future__ import annotations

import tensorflow as tf

from zoo.special_ids import END_ID, PAD_ID, START_ID

SENTENCEPIECE_ASSET = "sentencepiece.model"


class SentencePieceGraph(tf.Module):
    """The SentencePiece model as a graph constant (tensorflow-text, no keras-nlp)."""

    def __init__(self, tokenizer):
        super().__init__()
        import tensorflow_text as tf_text

        self.sentencepiece = tf_text.SentencepieceTokenizer(
            model=tokenizer.proto, out_type=tf.int32
        )
        self.assets = {SENTENCEPIECE_ASSET: tokenizer.proto}
        self.card = {
            "type": "sentencepiece",
            "file": f"assets/{SENTENCEPIECE_ASSET}",
            "vocabulary_size": tokenizer.vocabulary_size,
            "pad_id": tokenizer.pad_id,
            "start_id": tokenizer.start_id,
            "end_id": tokenizer.end_id,
        }

    def tokenize(self, text):
        return self.sentencepiece.tokenize(text)

    def detokenize(self, token_ids):
        return self.sentencepiece.detokenize(_without_special_ids(token_ids))


class ByteGraph(tf.Module):
    """UTF-8 bytes, `id = byte + offset` (`zoo.data.ByteTokenizer`), in plain string ops."""

    def __init__(self, tokenizer):
        super().__init__()
        self.offset = tokenizer.offset
        self.assets = {}
        self.card = tokenizer.card()

    def tokenize(self, text):
        pieces = tf.strings.bytes_split(text)  # (B, None) one-byte strings
        # (N, 1) bytes -> (N,); a reshape, not `[:, 0]`, which fails when no text has a
        # byte (an empty batch, or only empty texts: decode_raw then gives shape (0, 0)).
        ids = tf.ragged.map_flat_values(
            lambda p: tf.reshape(tf.io.decode_raw(p, tf.uint8), [-1]), pieces
        )
        return tf.cast(ids, tf.int32) + self.offset

    def detokenize(self, token_ids):
        real = _without_special_ids(token_ids)
        real = tf.ragged.boolean_mask(real, real >= self.offset) - self.offset
        data = tf.strings.reduce_join(
            tf.ragged.map_flat_values(lambda b: tf.gather(_BYTES, b), real), axis=-1
        )
        # A model may emit a broken UTF-8 sequence: replace it (U+FFFD), as Python's decode.
        return tf.strings.unicode_transcode(
            data, "UTF-8", "UTF-8", errors="replace", replacement_char=0xFFFD
        )


_BYTES = tf.constant([bytes([value]) for value in range(256)])  # id - offset -> its byte


def _without_special_ids(token_ids):
    if not isinstance(token_ids, tf.RaggedTensor):
        token_ids = tf.RaggedTensor.from_tensor(token_ids)
    keep = (token_ids != PAD_ID) & (token_ids != START_ID) & (token_ids != END_ID)
    return tf.ragged.boolean_mask(token_ids, keep)


def graph_text_tokenizer(tokenizer) -> tf.Module:
    """The graph twin of a `zoo.data.SubwordTokenizer` or `zoo.data.ByteTokenizer`."""
    if hasattr(tokenizer, "proto"):
        return SentencePieceGraph(tokenizer)
    if hasattr(tokenizer, "offset"):
        return ByteGraph(tokenizer)
    raise TypeError(
        f"Cannot export a {type(tokenizer).__name__}: zoo exports `zoo.data.SubwordTokenizer` "
        "(SentencePiece) and `zoo.data.ByteTokenizer` tokenizers."
    )
