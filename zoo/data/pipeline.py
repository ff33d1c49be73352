"""`tf.data` pipelines that feed `fit()`: translation pairs and language-modelling text.

Text is tokenized once, up front, with the tokenizer's multithreaded `encode` (about
1.5 s for the 285,000 sentences of Tatoeba's English–French), not in a `map` over the
keras-nlp layer, which would repeat that work every epoch. The ids then live in the
dataset as ragged tensors; batches are padded with id 0.

Translation batches are bucketed by length and padded to the bucket's boundary, so a
model sees a handful of shapes (few retraces, little padding):

```
encoder_token_ids   source                 (B, L)   source ids, 0-padded
decoder_token_ids   [start] + target       (B, L)   teacher forcing: shifted right
target_ids          target + [end]         (B, L)   what the decoder must predict
```
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import tensorflow as tf

from zoo.data.buckets import (
    TokenizerLike,
    bucket_batch_count,
    check_tokenizer,
    default_bucket_boundaries,
    pad_batch,
    translation_buckets,
    translation_ids,
)
from zoo.data.tokenizers import ids_to_ragged

__all__ = [
    "TokenizerLike",
    "classification_ids",
    "default_bucket_boundaries",
    "make_classification_dataset",
    "make_lm_dataset",
    "make_translation_dataset",
    "pad_batch",
]


def make_translation_dataset(
    pairs: Sequence[tuple[str, str]],
    tokenizer: TokenizerLike,
    *,
    target_tokenizer: TokenizerLike | None = None,
    batch_size: int | None = 64,
    tokens_per_batch: int | None = None,
    max_length: int = 64,
    bucket_boundaries: Sequence[int] | None = None,
    shuffle: bool = True,
    seed: int = 0,
    drop_remainder: bool = False,
) -> tf.data.Dataset:
    """A dataset of teacher-forcing batches for sequence-to-sequence training.

    Each element is `({"encoder_token_ids": (B, L), "decoder_token_ids": (B, L)},
    target_ids (B, L))`, all int32 and padded with 0, where `L` is the smallest bucket
    boundary that holds the longest sequence of the batch (source, or target plus one).
    The decoder input is `[start] + target` and the target is `target + [end]`.

    Args:
        pairs: `(source, target)` sentence pairs.
        tokenizer: tokenizer of the source, and of the target unless
            `target_tokenizer` is given (a shared vocabulary).
        target_tokenizer: tokenizer of the target, for separate vocabularies.
        batch_size: int. Sentences per batch. Pass `None` to use `tokens_per_batch`.
        tokens_per_batch: int. Batch by size instead, as the paper does: each bucket's
            batch holds `tokens_per_batch // boundary` sentences (at least one).
        max_length: int. Longer sources are cut to `max_length` ids, longer targets to
            `max_length - 1` so that the start or end id still fits.
        bucket_boundaries: increasing padded lengths; the last must be `max_length`.
            Defaults to `default_bucket_boundaries(max_length)`.
        shuffle: bool. Shuffle the pairs (all of them), differently each epoch.
        seed: int. Seed of the shuffle; the same seed gives the same batches.
        drop_remainder: bool. Drop each bucket's last, smaller batch, e.g. when a
            distribution strategy needs equal batches.

    Returns:
        A `tf.data.Dataset`, prefetched.

    Example:

    ```python
    tokenizer = SubwordTokenizer.train([s for pair in pairs for s in pair], 8000)
    dataset = make_translation_dataset(pairs, tokenizer, batch_size=64, max_length=64)
    model.fit(dataset, epochs=10)
    ```
    """
    bucket_boundaries, bucket_batch_sizes = translation_buckets(
        pairs,
        tokenizer,
        target_tokenizer,
        batch_size=batch_size,
        tokens_per_batch=tokens_per_batch,
        max_length=max_length,
        bucket_boundaries=bucket_boundaries,
    )
    target_tokenizer = target_tokenizer or tokenizer
    source_ids, target_ids = translation_ids(pairs, tokenizer, target_tokenizer, max_length)
    dataset = tf.data.Dataset.from_tensor_slices(
        (ids_to_ragged(source_ids), ids_to_ragged(target_ids))
    )
    if shuffle:
        dataset = dataset.shuffle(len(pairs), seed=seed, reshuffle_each_iteration=True)

    start = tf.constant([target_tokenizer.start_id], tf.int32)
    end = tf.constant([target_tokenizer.end_id], tf.int32)

    def teacher_forcing(source, target):
        inputs = {
            "encoder_token_ids": source,
            "decoder_token_ids": tf.concat([start, target], axis=0),  # Shifted right.
        }
        return inputs, tf.concat([target, end], axis=0)

    dataset = dataset.map(teacher_forcing, num_parallel_calls=tf.data.AUTOTUNE)

    def sequence_length(inputs, targets):
        del targets  # As long as `decoder_token_ids`.
        return tf.maximum(
            tf.shape(inputs["encoder_token_ids"])[0], tf.shape(inputs["decoder_token_ids"])[0]
        )

    # tf.data's buckets are [0, b1), [b1, b2), ..., and pad to `b - 1`; ours are (b_{i-1}, b_i]
    # and pad to `b_i`, so shift by one.
    dataset = dataset.bucket_by_sequence_length(
        element_length_func=sequence_length,
        bucket_boundaries=[boundary + 1 for boundary in bucket_boundaries],
        bucket_batch_sizes=bucket_batch_sizes,
        padding_values=(
            {"encoder_token_ids": tokenizer.pad_id, "decoder_token_ids": target_tokenizer.pad_id},
            target_tokenizer.pad_id,
        ),
        pad_to_bucket_boundary=True,
        drop_remainder=drop_remainder,
    )
    # A pair's length: its source, or its target with the start (or end) id.
    lengths = [max(len(s), len(t) + 1) for s, t in zip(source_ids, target_ids)]
    batches = bucket_batch_count(
        lengths, bucket_boundaries, bucket_batch_sizes, drop_remainder=drop_remainder
    )
    dataset = dataset.apply(tf.data.experimental.assert_cardinality(batches))
    return dataset.prefetch(tf.data.AUTOTUNE)


def make_lm_dataset(
    texts: Sequence[str],
    tokenizer: TokenizerLike,
    sequence_length: int,
    batch_size: int,
    *,
    shuffle: bool = True,
    seed: int = 0,
    drop_remainder: bool = False,
) -> tf.data.Dataset:
    """A dataset of next-token-prediction batches for language modelling.

    Each text becomes `[start] + ids + [end]`, cut or 0-padded to `sequence_length + 1`;
    the element is `(token_ids[:, :-1], token_ids[:, 1:])`, both int32 of shape
    `(B, sequence_length)`. Padding (0) in the labels is what a masked loss skips.

    Args:
        texts: the sentences or documents, one per item.
        tokenizer: a `SubwordTokenizer` (or anything with `encode`, `pad_id`,
            `start_id`, `end_id`).
        sequence_length: int. Length of the model's input.
        batch_size: int. Texts per batch.
        shuffle: bool. Shuffle the texts, differently each epoch.
        seed: int. Seed of the shuffle.
        drop_remainder: bool. Drop the last, smaller batch.

    Returns:
        A `tf.data.Dataset` of `(inputs, labels)`, prefetched.
    """
    if sequence_length < 1 or batch_size < 1:
        raise ValueError(
            "`sequence_length` and `batch_size` must be positive; received "
            f"sequence_length={sequence_length}, batch_size={batch_size}."
        )
    if not texts:
        raise ValueError("`texts` is empty; pass at least one text.")
    check_tokenizer(tokenizer, "tokenizer")
    token_ids = np.full((len(texts), sequence_length + 1), tokenizer.pad_id, dtype=np.int32)
    for row, ids in enumerate(tokenizer.encode(list(texts))):
        ids = [tokenizer.start_id, *ids, tokenizer.end_id][: sequence_length + 1]
        token_ids[row, : len(ids)] = ids
    dataset = tf.data.Dataset.from_tensor_slices(token_ids)
    if shuffle:
        dataset = dataset.shuffle(len(texts), seed=seed, reshuffle_each_iteration=True)
    dataset = dataset.batch(batch_size, drop_remainder=drop_remainder)
    dataset = dataset.map(lambda ids: (ids[:, :-1], ids[:, 1:]))
    return dataset.prefetch(tf.data.AUTOTUNE)


def classification_ids(texts: Sequence[str], tokenizer: TokenizerLike, max_length: int):
    """Each text as `[start] + ids`, cut to `max_length` ids: what a classifier reads. The
    start id (BERT's `[CLS]` position) means an empty text is still one real token."""
    if max_length < 1:
        raise ValueError(f"`max_length` must be positive; received max_length={max_length}.")
    check_tokenizer(tokenizer, "tokenizer")
    return [[tokenizer.start_id, *ids][:max_length] for ids in tokenizer.encode(list(texts))]


def make_classification_dataset(
    texts: Sequence[str],
    labels: Sequence[int],
    tokenizer: TokenizerLike,
    *,
    batch_size: int = 64,
    max_length: int = 64,
    shuffle: bool = True,
    seed: int = 0,
) -> tf.data.Dataset:
    """Batches of `(token_ids (B, L), labels (B,))` for a `classify` model.

    Texts are `classification_ids` (`[start] + ids`, cut to `max_length`), bucketed by
    length and 0-padded to the bucket's boundary (`default_bucket_boundaries`), so short
    phrases do not pay for long ones.

    Args:
        texts: the texts, one per item.
        labels: their integer classes.
        tokenizer: a `SubwordTokenizer` (or anything with `encode`, `pad_id`, `start_id`).
        batch_size: int. Texts per batch.
        max_length: int. Ids per text at most, the start id included.
        shuffle: bool. Shuffle the texts, differently each epoch (by `seed`).
        seed: int. Seed of the shuffle.

    Returns:
        A `tf.data.Dataset`, prefetched.
    """
    if len(texts) != len(labels):
        raise ValueError(f"{len(texts)} texts but {len(labels)} labels; pass one label per text.")
    if not len(texts):
        raise ValueError("`texts` is empty; pass at least one text.")
    if batch_size < 1:
        raise ValueError(f"`batch_size` must be positive; received batch_size={batch_size}.")
    token_ids = [row[1:] for row in classification_ids(texts, tokenizer, max_length)]
    dataset = tf.data.Dataset.from_tensor_slices(
        (ids_to_ragged(token_ids), np.asarray(labels, dtype=np.int32))
    )
    if shuffle:
        dataset = dataset.shuffle(len(texts), seed=seed, reshuffle_each_iteration=True)
    start = tf.constant([tokenizer.start_id], tf.int32)
    dataset = dataset.map(
        lambda ids, label: (tf.concat([start, ids], axis=0), label),
        num_parallel_calls=tf.data.AUTOTUNE,
    )
    boundaries = default_bucket_boundaries(max_length)
    dataset = dataset.bucket_by_sequence_length(
        element_length_func=lambda ids, label: tf.shape(ids)[0],
        bucket_boundaries=[boundary + 1 for boundary in boundaries],  # see above
        bucket_batch_sizes=[batch_size] * (len(boundaries) + 1),
        padding_values=(tokenizer.pad_id, 0),
        pad_to_bucket_boundary=True,
    )
    batches = bucket_batch_count(
        [len(ids) + 1 for ids in token_ids], boundaries, [batch_size] * len(boundaries)
    )
    dataset = dataset.apply(tf.data.experimental.assert_cardinality(batches))
    return dataset.prefetch(tf.data.AUTOTUNE)
