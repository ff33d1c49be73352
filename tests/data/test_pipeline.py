from __future__ import annotations

import doctest

import numpy as np
import pytest
import tensorflow as tf

import zoo.data.pipeline
from zoo.data import (
    SubwordTokenizer,
    default_bucket_boundaries,
    generate_en_fr_pairs,
    make_lm_dataset,
    make_translation_dataset,
)


class WordTokenizer:
    """A hand-made tokenizer: one id per space-separated word, ids 4, 5, ... in order."""

    pad_id, unk_id, start_id, end_id = 0, 1, 2, 3

    def __init__(self, words: str) -> None:
        self.ids = {word: i for i, word in enumerate(words.split(), start=4)}

    def encode(self, texts):
        return [[self.ids.get(word, self.unk_id) for word in text.split()] for text in texts]


# a=4 b=5 c=6 d=7 e=8 f=9 g=10 h=11 i=12 j=13 x=14 y=15 z=16
TOKENIZER = WordTokenizer("a b c d e f g h i j x y z")
PAIRS = [
    ("a b", "x y z"),  # Longest of the two: decoder, 4 → bucket 4.
    ("a", "x"),  # 2 → bucket 4.
    ("a b c d e", "x"),  # 5 → bucket 8.
    ("a b c d e f g h i j", "z y x z y x z y x z"),  # Cut: source to 8, target to 7 (+1).
    ("b", "y"),  # Bucket 4, left alone at the end: a batch of one.
]


def _as_lists(dataset):
    return [
        (
            inputs["encoder_token_ids"].numpy().tolist(),
            inputs["decoder_token_ids"].numpy().tolist(),
            targets.numpy().tolist(),
        )
        for inputs, targets in dataset
    ]


def test_translation_batches_exact_values():
    dataset = make_translation_dataset(
        PAIRS, TOKENIZER, batch_size=2, max_length=8, bucket_boundaries=(4, 8), shuffle=False
    )
    assert _as_lists(dataset) == [
        (
            [[4, 5, 0, 0], [4, 0, 0, 0]],  # Source, padded with 0.
            [[2, 14, 15, 16], [2, 14, 0, 0]],  # [start] + target.
            [[14, 15, 16, 3], [14, 3, 0, 0]],  # Target + [end].
        ),
        (
            [[4, 5, 6, 7, 8, 0, 0, 0], [4, 5, 6, 7, 8, 9, 10, 11]],
            [[2, 14, 0, 0, 0, 0, 0, 0], [2, 16, 15, 14, 16, 15, 14, 16]],
            [[14, 3, 0, 0, 0, 0, 0, 0], [16, 15, 14, 16, 15, 14, 16, 3]],
        ),
        ([[5, 0, 0, 0]], [[2, 15, 0, 0]], [[15, 3, 0, 0]]),
    ]


def test_element_spec_is_int32_with_named_inputs():
    dataset = make_translation_dataset(PAIRS, TOKENIZER, batch_size=2, max_length=8)
    inputs_spec, targets_spec = dataset.element_spec
    assert set(inputs_spec) == {"encoder_token_ids", "decoder_token_ids"}
    for spec in (*inputs_spec.values(), targets_spec):
        assert spec.dtype == tf.int32
        assert spec.shape.rank == 2


def _random_pairs(num_pairs: int, seed: int) -> list[tuple[str, str]]:
    rng = np.random.default_rng(seed)
    words = list("abcdefghij")
    return [
        (
            " ".join(rng.choice(words, size=rng.integers(1, 30))),
            " ".join(rng.choice(words, size=rng.integers(1, 30))),
        )
        for _ in range(num_pairs)
    ]


def test_every_batch_is_padded_to_a_bucket_boundary_and_shifted_right():
    pairs = _random_pairs(300, seed=0)
    boundaries = (4, 8, 16, 24)
    dataset = make_translation_dataset(
        pairs, TOKENIZER, batch_size=16, max_length=24, bucket_boundaries=boundaries, seed=1
    )
    seen_lengths, num_rows = set(), 0
    for inputs, targets in dataset:
        encoder, decoder, targets = (
            inputs["encoder_token_ids"].numpy(),
            inputs["decoder_token_ids"].numpy(),
            targets.numpy(),
        )
        length = targets.shape[1]
        assert encoder.shape[1] == decoder.shape[1] == length
        assert length in boundaries
        seen_lengths.add(length)
        for source, decoder_row, target_row in zip(encoder, decoder, targets, strict=True):
            target_length = int((target_row != 0).sum())
            longest = max(int((source != 0).sum()), target_length)
            # The smallest bucket that holds the longest sequence of the row's pair.
            assert longest <= length
            assert decoder_row[0] == TOKENIZER.start_id
            np.testing.assert_array_equal(
                decoder_row[1:target_length], target_row[: target_length - 1]
            )
            assert target_row[target_length - 1] == TOKENIZER.end_id
            assert not target_row[target_length:].any()
            assert not decoder_row[target_length:].any()
        # A batch is padded to the smallest boundary that holds its longest row.
        longest_in_batch = max((encoder != 0).sum(axis=1).max(), (targets != 0).sum(axis=1).max())
        assert length == min(b for b in boundaries if b >= longest_in_batch)
        num_rows += len(targets)
    assert num_rows == len(pairs)
    assert seen_lengths == set(boundaries)


def test_tokens_per_batch_sizes_batches_by_their_length():
    pairs = _random_pairs(200, seed=1)
    dataset = make_translation_dataset(
        pairs,
        TOKENIZER,
        batch_size=None,
        tokens_per_batch=64,
        max_length=32,
        bucket_boundaries=(8, 16, 32),
    )
    sizes = {}
    for _, targets in dataset:
        batch_size, length = targets.shape
        assert batch_size * length <= 64
        sizes.setdefault(length, set()).add(batch_size)
    assert {length: max(batch_sizes) for length, batch_sizes in sizes.items()} == {
        8: 8,
        16: 4,
        32: 2,
    }


def test_shuffle_is_deterministic_by_seed_and_reshuffles_each_epoch():
    pairs = _random_pairs(100, seed=2)

    def first_epochs(seed):
        dataset = make_translation_dataset(pairs, TOKENIZER, batch_size=8, max_length=32, seed=seed)
        return [_as_lists(dataset) for _ in range(2)]

    first, second = first_epochs(seed=0)
    assert [first, second] == first_epochs(seed=0)
    assert first != second  # A new order each epoch...
    assert sorted(map(str, first)) != sorted(map(str, second))  # ...and new batches.
    assert first_epochs(seed=1)[0] != first


def test_drop_remainder_keeps_only_full_batches():
    dataset = make_translation_dataset(
        PAIRS, TOKENIZER, batch_size=2, max_length=8, bucket_boundaries=(4, 8), drop_remainder=True
    )
    assert [targets.shape[0] for _, targets in dataset] == [2, 2]


def test_separate_target_tokenizer_gives_the_target_ids():
    target_tokenizer = WordTokenizer("z y x")  # z=4 y=5 x=6
    dataset = make_translation_dataset(
        [("a b", "x y")],
        TOKENIZER,
        target_tokenizer=target_tokenizer,
        batch_size=1,
        max_length=4,
        bucket_boundaries=(4,),
    )
    assert _as_lists(dataset) == [([[4, 5, 0, 0]], [[2, 6, 5, 0]], [[6, 5, 3, 0]])]


def test_with_a_subword_tokenizer_the_targets_decode_to_the_french():
    pairs = generate_en_fr_pairs(num_pairs=200, seed=0)
    tokenizer = SubwordTokenizer.train([s for pair in pairs for s in pair], 400)
    dataset = make_translation_dataset(pairs, tokenizer, batch_size=32, max_length=96)
    sources, targets = [], []
    for inputs, target_ids in dataset:
        sources += tokenizer.decode(inputs["encoder_token_ids"])
        targets += tokenizer.decode(target_ids)
    assert sorted(zip(sources, targets, strict=True)) == sorted(pairs)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"batch_size": 8, "tokens_per_batch": 64}, "exactly one of `batch_size`"),
        ({"batch_size": None}, "exactly one of `batch_size`"),
        ({"max_length": 16, "bucket_boundaries": (4, 8)}, "must equal max_length=16"),
        ({"max_length": 8, "bucket_boundaries": (8, 4, 8)}, "strictly increasing"),
        ({"max_length": 1}, "at least 2"),
    ],
)
def test_bad_arguments_are_value_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        make_translation_dataset(PAIRS, TOKENIZER, **kwargs)


def test_a_tokenizer_that_does_not_pad_with_zero_is_refused():
    tokenizer = WordTokenizer("a b")
    tokenizer.pad_id = 5
    with pytest.raises(ValueError, match="id 0 for padding"):
        make_translation_dataset(PAIRS, tokenizer)
    with pytest.raises(ValueError, match="id 0 for padding"):
        make_lm_dataset(["a"], tokenizer, sequence_length=4, batch_size=1)


def test_default_bucket_boundaries():
    assert default_bucket_boundaries(64) == (8, 12, 16, 24, 32, 48, 64)
    assert default_bucket_boundaries(128) == (8, 12, 16, 24, 32, 48, 64, 96, 128)
    assert default_bucket_boundaries(8) == (8,)
    assert default_bucket_boundaries(5) == (5,)


def test_lm_batches_exact_values():
    dataset = make_lm_dataset(
        ["a b c", "a", "a b c d e"], TOKENIZER, sequence_length=4, batch_size=2, shuffle=False
    )
    batches = [(inputs.numpy().tolist(), labels.numpy().tolist()) for inputs, labels in dataset]
    assert batches == [
        ([[2, 4, 5, 6], [2, 4, 3, 0]], [[4, 5, 6, 3], [4, 3, 0, 0]]),
        ([[2, 4, 5, 6]], [[4, 5, 6, 7]]),  # Cut to sequence_length + 1 ids: no end id.
    ]
    assert dataset.element_spec[0].dtype == tf.int32
    assert dataset.element_spec[0].shape.as_list() == [None, 4]


def test_lm_shuffle_is_deterministic_by_seed():
    texts = [" ".join("abcdefghij"[: i % 10 + 1]) for i in range(40)]

    def first_batch(seed):
        dataset = make_lm_dataset(texts, TOKENIZER, sequence_length=12, batch_size=8, seed=seed)
        return next(iter(dataset))[0].numpy().tolist()

    assert first_batch(0) == first_batch(0)
    assert first_batch(0) != first_batch(1)


def test_docstring_examples_run():
    assert doctest.testmod(zoo.data.pipeline).failed == 0
