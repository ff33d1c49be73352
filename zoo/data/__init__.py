"""Data for zoo's recipes: corpora, sub-word tokenizers and `tf.data` pipelines.

Names are imported on first use, so that `zoo.data.toy_tasks` or the corpus readers can
be imported on a machine without TensorFlow (the JAX test run); only the tokenizers and
pipelines need TensorFlow, tensorflow-text and keras-nlp.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from zoo.data.byte_tokenizer import ByteTokenizer
    from zoo.data.labelled_text import (
        GENERATED_SENTIMENT_NAME,
        LabelledTexts,
        SentenceSplit,
        generated_sentiment,
        read_labelled_text,
        split_by_sentence,
    )
    from zoo.data.pipeline import (
        TokenizerLike,
        classification_ids,
        default_bucket_boundaries,
        make_classification_dataset,
        make_lm_dataset,
        make_translation_dataset,
        pad_batch,
    )
    from zoo.data.sentence_pairs import (
        DataSplits,
        SentencePairs,
        normalize_text,
        read_sentence_pairs,
        split_by_source,
    )
    from zoo.data.synthetic_en_fr import (
        EMBEDDED_CORPUS_LICENCE,
        EMBEDDED_CORPUS_NAME,
        embedded_corpus_card,
        generate_en_fr_pairs,
    )
    from zoo.data.text_stream import (
        GENERATED_TEXT_NAME,
        generated_text,
        read_text,
        split_text,
        training_dataset,
        validation_dataset,
    )
    from zoo.data.tokenizers import SubwordTokenizer, ids_to_ragged

_MODULE_OF = {
    "ByteTokenizer": "zoo.data.byte_tokenizer",
    "GENERATED_TEXT_NAME": "zoo.data.text_stream",
    "generated_text": "zoo.data.text_stream",
    "read_text": "zoo.data.text_stream",
    "split_text": "zoo.data.text_stream",
    "training_dataset": "zoo.data.text_stream",
    "validation_dataset": "zoo.data.text_stream",
    "TokenizerLike": "zoo.data.buckets",
    "classification_ids": "zoo.data.pipeline",
    "make_classification_dataset": "zoo.data.pipeline",
    "GENERATED_SENTIMENT_NAME": "zoo.data.labelled_text",
    "LabelledTexts": "zoo.data.labelled_text",
    "SentenceSplit": "zoo.data.labelled_text",
    "generated_sentiment": "zoo.data.labelled_text",
    "read_labelled_text": "zoo.data.labelled_text",
    "split_by_sentence": "zoo.data.labelled_text",
    "default_bucket_boundaries": "zoo.data.buckets",
    "make_lm_dataset": "zoo.data.pipeline",
    "make_translation_dataset": "zoo.data.pipeline",
    "pad_batch": "zoo.data.buckets",
    "DataSplits": "zoo.data.sentence_pairs",
    "SentencePairs": "zoo.data.sentence_pairs",
    "normalize_text": "zoo.data.sentence_pairs",
    "read_sentence_pairs": "zoo.data.sentence_pairs",
    "split_by_source": "zoo.data.sentence_pairs",
    "EMBEDDED_CORPUS_LICENCE": "zoo.data.synthetic_en_fr",
    "EMBEDDED_CORPUS_NAME": "zoo.data.synthetic_en_fr",
    "embedded_corpus_card": "zoo.data.synthetic_en_fr",
    "generate_en_fr_pairs": "zoo.data.synthetic_en_fr",
    "SubwordTokenizer": "zoo.data.tokenizers",
    "ids_to_ragged": "zoo.data.tokenizers",
}

__all__ = [
    "ByteTokenizer",
    "GENERATED_TEXT_NAME",
    "generated_text",
    "read_text",
    "split_text",
    "training_dataset",
    "validation_dataset",
    "DataSplits",
    "EMBEDDED_CORPUS_LICENCE",
    "EMBEDDED_CORPUS_NAME",
    "SentencePairs",
    "SubwordTokenizer",
    "TokenizerLike",
    "classification_ids",
    "make_classification_dataset",
    "GENERATED_SENTIMENT_NAME",
    "LabelledTexts",
    "SentenceSplit",
    "generated_sentiment",
    "read_labelled_text",
    "split_by_sentence",
    "default_bucket_boundaries",
    "embedded_corpus_card",
    "generate_en_fr_pairs",
    "ids_to_ragged",
    "make_lm_dataset",
    "make_translation_dataset",
    "pad_batch",
    "normalize_text",
    "read_sentence_pairs",
    "split_by_source",
]


def __getattr__(name: str):
    if name not in _MODULE_OF:
        raise AttributeError(f"module 'zoo.data' has no attribute '{name}'")
    value = getattr(importlib.import_module(_MODULE_OF[name]), name)
    globals()[name] = value  # Later look-ups skip this function.
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_MODULE_OF})
