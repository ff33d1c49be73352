"""A SavedModel that takes English strings and returns French strings — TensorFlow alone.

Signatures (the first is also `serving_default`):
- `translate(text, beam_width, max_length)`: `text` string `(B,)`; `beam_width` and
  `max_length` int32 scalars -> `{"translation": string (B,), "token_ids": int32 (B, L),
  "score": float32 (B,)}`. Tokenize -> beam search over the cached decoder -> detokenize, all
  in the graph.
- `logits(encoder_token_ids, decoder_token_ids)`: int32 `(B, S)`, `(B, T)` -> float32
  `(B, T, V)` — the model itself, for scoring and for checking the text path.

Loading needs `tensorflow` and `import tensorflow_text` (for its SentencePiece ops), nothing
else: the tokenizer's model is a constant of the graph and a file in `assets/`.
"""

from __future__ import annotations

import os
from pathlib import Path

import keras
import tensorflow as tf
import tensorflow_text as tf_text

from zoo.decoding import beam_search
from zoo.export.model_card import model_card, write_model_card
from zoo.export.versioned_directory import atomic_version_directory

MODEL_CARD = "zoo.json"


class _TextTokenizer(tf.Module):
    """The SentencePiece model as a graph resource (tensorflow-text, no keras-nlp)."""

    def __init__(self, proto: bytes):
        super().__init__()
        self.sentencepiece = tf_text.SentencepieceTokenizer(model=proto, out_type=tf.int32)


def _translate_function(model, tokenizer, start_id, end_id, max_source_length, length_penalty):
    def translate(text, beam_width, max_length):
        text = tf.strings.strip(text)
        pieces = tokenizer.sentencepiece.tokenize(text)[:, :max_source_length]  # ragged
        source = pieces.to_tensor(default_value=0)  # (B, S)
        # At least one column, so that a batch of empty strings is still a (B, 1) input.
        width = tf.maximum(tf.shape(source)[1], 1)
        source = tf.pad(source, [[0, 0], [0, width - tf.shape(source)[1]]])
        # An empty input has no real token; give it the end id so attention has a key.
        empty = tf.equal(tf.reduce_sum(tf.cast(source > 0, tf.int32), axis=1), 0)
        source = tf.where(empty[:, None] & tf.equal(tf.range(width)[None, :], 0), end_id, source)
        token_ids, scores = beam_search(
            model,
            source,
            start_id=start_id,
            end_id=end_id,
            max_length=max_length,
            beam_width=beam_width,
            length_penalty=length_penalty,
        )
        token_ids = tf.cast(token_ids, tf.int32)
        real = (token_ids != 0) & (token_ids != end_id)
        words = tokenizer.sentencepiece.detokenize(tf.ragged.boolean_mask(token_ids, real))
        return {"translation": words, "token_ids": token_ids, "score": scores}

    return translate


def export_translator(
    model,
    tokenizer,
    directory: str | os.PathLike = "saved_models/translate_en_fr",
    *,
    family: str,
    version: int | None = None,
    max_source_length: int = 128,
    length_penalty: float = 0.6,
    data: dict | None = None,
    metrics: dict | None = None,
    verbose: bool = False,
) -> Path:
    """Export a `seq2seq` model and its tokenizer to `directory/<version>/`, atomically.

    Args:
        model: a zoo `seq2seq` model (any family).
        tokenizer: the `zoo.data.SubwordTokenizer` it was trained with (shared vocabulary).
        directory: the model's folder; versions `1, 2, ...` are created inside it.
        family: the registry name (`"transformer"`, `"lstm"`, ...), for the model card.
        version: an explicit version; default: one more than the largest present.
        max_source_length: longer inputs are truncated to this many tokens.
        length_penalty: the beam search's `alpha` (the paper's 0.6).
        data: the training data's description, with its licence and attribution.
        metrics: evaluation figures (BLEU, chrF, ...) for the model card.

    Returns:
        The path of the new version.
    """
    if getattr(model.config, "task", None) != "seq2seq":
        raise ValueError(
            "export_translator needs a seq2seq model (zoo.build(name, task='seq2seq')); "
            f"received a {getattr(model.config, 'task', type(model).__name__)!r} model."
        )
    if keras.config.backend() != "tensorflow":
        raise ValueError(
            "Exporting a SavedModel needs the TensorFlow backend; set KERAS_BACKEND=tensorflow "
            f"(the current backend is {keras.config.backend()!r})."
        )
    text_tokenizer = _TextTokenizer(tokenizer.proto)
    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.track(text_tokenizer)
    archive.add_endpoint(
        "translate",
        _translate_function(
            model,
            text_tokenizer,
            tokenizer.start_id,
            tokenizer.end_id,
            max_source_length,
            length_penalty,
        ),
        input_signature=[
            tf.TensorSpec([None], tf.string, name="text"),
            tf.TensorSpec([], tf.int32, name="beam_width"),
            tf.TensorSpec([], tf.int32, name="max_length"),
        ],
    )
    archive.add_endpoint(
        "logits",
        lambda encoder_token_ids, decoder_token_ids: {
            "logits": model(
                {"encoder_token_ids": encoder_token_ids, "decoder_token_ids": decoder_token_ids},
                training=False,
            )
        },
        input_signature=[
            tf.TensorSpec([None, None], tf.int32, name="encoder_token_ids"),
            tf.TensorSpec([None, None], tf.int32, name="decoder_token_ids"),
        ],
    )
    card = model_card(
        model,
        family=family,
        data=data,
        metrics=metrics,
        decoding={
            "algorithm": "beam search",
            "length_penalty": length_penalty,
            "max_source_length": max_source_length,
        },
        tokenizer={
            "type": "sentencepiece",
            "file": "assets/sentencepiece.model",
            "vocabulary_size": tokenizer.vocabulary_size,
            "pad_id": tokenizer.pad_id,
            "start_id": tokenizer.start_id,
            "end_id": tokenizer.end_id,
        },
        signatures={
            "translate": "text string (B,), beam_width int32, max_length int32 -> "
            "translation string (B,), token_ids int32 (B, L), score float32 (B,)",
            "logits": "encoder_token_ids, decoder_token_ids int32 -> logits float32 (B, T, V)",
        },
    )
    with atomic_version_directory(directory, version) as (temporary, final_path):
        archive.write_out(str(temporary), verbose=verbose)
        assets = temporary / "assets"
        assets.mkdir(exist_ok=True)
        (assets / "sentencepiece.model").write_bytes(tokenizer.proto)
        write_model_card(card, assets / MODEL_CARD)
    return final_path
