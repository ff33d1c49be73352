"""`no_repeat_ngram_size`: against n-grams listed by hand, in every search."""

import keras
import numpy as np
import pytest

from tests.decoding.fake_models import (
    END,
    START,
    A,
    B,
    TableModel,
    alternating,
    repeated_ngrams,
    table_greedy,
    table_next_log_probs,
)
from tests.decoding.reference import reference_beam_search, repeats_ngram
from zoo.decoding import beam_search, greedy_decode, sample
from zoo.decoding.repetition import append_token, banned_tokens

KWARGS = dict(start_id=START, end_id=END)


@pytest.mark.parametrize("n", [1, 2, 3])
def test_banned_tokens_are_those_that_repeat_an_ngram(n, rng):
    # Histories over 3 tokens repeat a lot; every prefix length is checked.
    vocab_size, length = 6, 9
    history = rng.integers(1, 4, (5, length)).astype("int32")
    match = keras.ops.zeros((5, length), "int32")
    for index in range(length):
        banned = np.asarray(banned_tokens(history, match, index, n, vocab_size))
        for row in range(5):
            expected = [
                token
                for token in range(vocab_size)
                if repeats_ngram(history[row, :index].tolist(), token, n)
            ]
            assert np.flatnonzero(banned[row]).tolist() == expected, (row, index)
        match = append_token(history, match, index, history[:, index])


def test_greedy_that_would_alternate_repeats_no_bigram():
    model = alternating()
    plain, _ = greedy_decode(model, [[START]], **KWARGS, max_length=6)
    np.testing.assert_array_equal(np.asarray(plain), [[A, B, A, B, A, B]])
    token_ids, scores = greedy_decode(
        model, [[START]], **KWARGS, max_length=6, no_repeat_ngram_size=2
    )
    # A B A, then B would repeat "A B": A (0.35); then A and B would both repeat: the end.
    np.testing.assert_array_equal(np.asarray(token_ids), [[A, B, A, A, END, 0]])
    # Scores stay the model's own log-probabilities.
    np.testing.assert_allclose(
        np.asarray(scores), [np.log(0.5 * 0.55 * 0.55 * 0.35 * 0.1)], rtol=1e-6
    )


@pytest.mark.parametrize("n", [1, 2, 3])
def test_greedy_equals_the_table_read_by_hand(n, rng):
    model = TableModel.random(rng, num_tables=3, sharpness=1.0)
    token_ids, scores = greedy_decode(
        model, [[START]] * 3, **KWARGS, max_length=8, no_repeat_ngram_size=n
    )
    for row in range(3):
        expected, log_prob = table_greedy(model, [START], 8, row=row, no_repeat_ngram_size=n)
        np.testing.assert_array_equal(np.asarray(token_ids)[row], expected)
        np.testing.assert_allclose(np.asarray(scores)[row], log_prob, rtol=1e-5)
        assert repeated_ngrams(expected, n) == []


@pytest.mark.parametrize("n", [1, 2, 3])
@pytest.mark.parametrize("compaction_steps", [(), (2, 3)], ids=["whole", "compacted"])
def test_beam_search_equals_an_independent_one_that_skips_repeats(n, compaction_steps, rng):
    model = TableModel.random(rng, num_tables=3, sharpness=1.0)
    max_length, beam_width, alpha = 6, 3, 0.6
    expected_ids, expected_scores = reference_beam_search(
        table_next_log_probs(model), 3, START, END, max_length, beam_width, alpha,
        no_repeat_ngram_size=n,
    )  # fmt: skip
    token_ids, scores = beam_search(
        model,
        [[START]] * 3,
        **KWARGS,
        max_length=max_length,
        beam_width=beam_width,
        length_penalty=alpha,
        compaction_steps=compaction_steps,
        no_repeat_ngram_size=n,
    )
    np.testing.assert_array_equal(np.asarray(token_ids), expected_ids)
    np.testing.assert_allclose(np.asarray(scores), expected_scores, rtol=1e-5)
    for row in np.asarray(token_ids):
        assert repeated_ngrams(row, n) == []


def test_beam_search_that_would_alternate_repeats_no_bigram():
    token_ids, _ = beam_search(
        alternating(), [[START]], **KWARGS, max_length=6, beam_width=2, no_repeat_ngram_size=2
    )
    assert repeated_ngrams(np.asarray(token_ids)[0], 2) == []


def test_samples_repeat_no_bigram():
    token_ids, scores = sample(
        alternating(), [[START]] * 200, **KWARGS, max_length=8, seed=0, no_repeat_ngram_size=2
    )
    rows = np.asarray(token_ids)
    assert all(repeated_ngrams(row, 2) == [] for row in rows)
    assert len({tuple(row) for row in rows}) > 10  # still random
    greedy_ids, greedy_scores = greedy_decode(
        alternating(), [[START]], **KWARGS, max_length=8, no_repeat_ngram_size=2
    )
    top_1_ids, top_1_scores = sample(
        alternating(), [[START]], **KWARGS, max_length=8, top_k=1, no_repeat_ngram_size=2
    )
    np.testing.assert_array_equal(np.asarray(top_1_ids), np.asarray(greedy_ids))
    np.testing.assert_allclose(np.asarray(top_1_scores), np.asarray(greedy_scores), rtol=1e-6)


@pytest.mark.parametrize("decode", [greedy_decode, beam_search], ids=["greedy", "beam"])
def test_zero_and_a_size_beyond_max_length_change_nothing(decode, rng):
    model = TableModel.random(rng, num_tables=3)
    kwargs = dict(KWARGS, max_length=6)
    default_ids, default_scores = decode(model, [[START]] * 3, **kwargs)
    for n in (0, 7):
        token_ids, scores = decode(model, [[START]] * 3, **kwargs, no_repeat_ngram_size=n)
        np.testing.assert_array_equal(np.asarray(token_ids), np.asarray(default_ids))
        np.testing.assert_allclose(np.asarray(scores), np.asarray(default_scores), rtol=1e-6)


def test_bad_sizes_are_explained():
    with pytest.raises(ValueError, match="0 \\(off\\) or a positive"):
        greedy_decode(alternating(), [[START]], **KWARGS, max_length=3, no_repeat_ngram_size=-2)
    with pytest.raises(TypeError, match="must be an int"):
        greedy_decode(alternating(), [[START]], **KWARGS, max_length=3, no_repeat_ngram_size=True)


class TestOnTensorFlow:
    """`no_repeat_ngram_size` as a signature input: a scalar int32 tensor, 0 = off."""

    @pytest.fixture(autouse=True)
    def _tensorflow_only(self):
        if keras.config.backend() != "tensorflow":
            pytest.skip("tf.function needs the TensorFlow backend")

    @pytest.mark.parametrize("search", ["greedy", "beam", "sample"])
    def test_a_tensor_size_in_tf_function_matches_a_python_int(self, search):
        import tensorflow as tf

        model = alternating()
        sampler_kwargs = {}
        if search == "sample":
            sampler_kwargs = dict(top_k=1)
        decode = {"greedy": greedy_decode, "beam": beam_search, "sample": sample}[search]
        kwargs = dict(KWARGS, max_length=6, **sampler_kwargs)

        @tf.function(
            input_signature=[
                tf.TensorSpec([None, None], tf.int32),
                tf.TensorSpec([], tf.int32),
            ]
        )
        def traced(prompts, n):
            return decode(model, prompts, **kwargs, no_repeat_ngram_size=n)

        prompts = np.full((2, 1), START, "int32")
        for n in (0, 1, 2):
            expected_ids, expected_scores = decode(model, prompts, **kwargs, no_repeat_ngram_size=n)
            token_ids, scores = traced(prompts, n)
            np.testing.assert_array_equal(token_ids.numpy(), np.asarray(expected_ids))
            np.testing.assert_allclose(scores.numpy(), np.asarray(expected_scores), rtol=1e-6)
        assert len(traced._list_all_concrete_functions()) == 1  # traced once

    def test_a_python_zero_adds_no_ops(self):
        import tensorflow as tf

        def op_types(n):
            traced = tf.function(
                lambda prompts: beam_search(
                    alternating(), prompts, **KWARGS, max_length=6, no_repeat_ngram_size=n
                )
            )
            concrete = traced.get_concrete_function(tf.TensorSpec([None, None], tf.int32))
            graph_def = concrete.graph.as_graph_def()
            nodes = list(graph_def.node)
            for function in graph_def.library.function:
                nodes.extend(function.node_def)
            return [node.op for node in nodes]

        assert "ScatterNd" not in op_types(0)
        assert "ScatterNd" in op_types(2)
