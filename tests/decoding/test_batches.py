"""Rows of a batch decode independently: a batch gives what each row gives alone."""

import numpy as np
import pytest

import zoo
from tests.decoding.fake_models import END, START, TableModel
from zoo.decoding import beam_search, greedy_decode

DECODERS = [greedy_decode, beam_search]


@pytest.mark.parametrize("decode", DECODERS, ids=["greedy", "beam"])
def test_each_row_decodes_as_if_alone(decode, rng):
    # Row r reads table r: two different language models in one batch.
    model = TableModel.random(rng, num_tables=2)
    kwargs = dict(start_id=START, end_id=END, max_length=5)
    token_ids, scores = decode(model, [[START]] * 2, **kwargs)
    for row in range(2):
        alone = TableModel(model.next_probs[row])
        alone_ids, alone_scores = decode(alone, [[START]], **kwargs)
        np.testing.assert_array_equal(np.asarray(alone_ids)[0], np.asarray(token_ids)[row])
        np.testing.assert_allclose(np.asarray(alone_scores)[0], np.asarray(scores)[row], rtol=1e-6)
    assert not np.array_equal(*np.asarray(token_ids))  # the rows differ


def test_a_seq2seq_batch_equals_each_source_alone(rng):
    # The Transformer's cross-attention must use each row's own source padding; the beams of
    # a row must not mix with another row's.
    vocab_size = 24
    model = zoo.build("transformer", task="seq2seq", preset="tiny", vocab_size=vocab_size)
    source = rng.integers(1, vocab_size, (2, 7)).astype("int32")
    source[1, 3:] = 0
    kwargs = dict(start_id=1, end_id=2, max_length=5, beam_width=3)
    token_ids, scores = beam_search(model, source, **kwargs)
    for row in range(len(source)):
        alone_ids, alone_scores = beam_search(model, source[row : row + 1], **kwargs)
        np.testing.assert_array_equal(np.asarray(alone_ids)[0], np.asarray(token_ids)[row])
        np.testing.assert_allclose(
            np.asarray(alone_scores)[0], np.asarray(scores)[row], rtol=1e-5, atol=1e-6
        )


@pytest.mark.parametrize("name", ["lstm", "simple_rnn", "transformer"])
def test_beam_search_after_fit_on_bucketed_batches(name, rng):
    # A model trained by fit() on token-bucketed batches of varying shape, then decoded by
    # beam search in the same process, as the recipe does (an earlier version crashed here
    # with mismatched batch sizes inside an LSTM cell). Each row must decode as if alone.
    from zoo.data import make_translation_dataset
    from zoo.decoding.compiled import compiled_decoder
    from zoo.training import compile_seq2seq

    class Ids:  # a tokenizer over pre-tokenized "sentences" (space-separated ids)
        pad_id, start_id, end_id = 0, 1, 2

        def encode(self, texts):
            return [[int(token) for token in text.split()] for text in texts]

    pairs = [
        (" ".join(map(str, rng.integers(3, 20, n))), " ".join(map(str, rng.integers(3, 20, n))))
        for n in rng.integers(2, 11, 120)
    ]
    dataset = make_translation_dataset(
        pairs, Ids(), batch_size=None, tokens_per_batch=96, max_length=12, seed=0
    )
    model = zoo.build(name, task="seq2seq", preset="tiny", vocab_size=20)
    compile_seq2seq(model, warmup_steps=5)
    model.fit(dataset, epochs=1, verbose=0)
    decode = compiled_decoder(model, beam_width=3, start_id=1, end_id=2, max_length=8)
    source = np.array([[5, 6, 7, 8, 0], [9, 10, 0, 0, 0], [11, 12, 13, 14, 15]], "int32")
    together, _ = decode(source)
    for row in range(len(source)):
        alone, _ = decode(source[row : row + 1])
        np.testing.assert_array_equal(np.asarray(together)[row], np.asarray(alone)[0])
