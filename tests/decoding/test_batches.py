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
    token_ids, scores = decode(model, **kwargs, batch_size=2)
    for row in range(2):
        alone = TableModel(model.next_probs[row])
        alone_ids, alone_scores = decode(alone, **kwargs, batch_size=1)
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
