"""Mistakes in a decoding call are errors that say how to fix them."""

import keras
import numpy as np
import pytest

import zoo
from tests.decoding.fake_models import END, START, A, chain
from zoo.decoding import beam_search, greedy_decode


@pytest.fixture(scope="module")
def seq2seq():
    return zoo.build("simple_rnn", task="seq2seq", preset="tiny", vocab_size=12)


@pytest.mark.parametrize("decode", [greedy_decode, beam_search], ids=["greedy", "beam"])
def test_call_mistakes_are_explained(decode, seq2seq):
    source = np.array([[3, 4, 5]], dtype="int32")
    with pytest.raises(ValueError, match="padding id"):
        decode(seq2seq, source, start_id=1, end_id=0, max_length=4)
    with pytest.raises(ValueError, match="at least 1"):
        decode(seq2seq, source, start_id=1, end_id=2, max_length=0)
    with pytest.raises(ValueError, match="Pass `token_ids`"):
        decode(seq2seq, None, start_id=1, end_id=2, max_length=4)
    with pytest.raises(ValueError, match="Add a batch axis"):
        decode(seq2seq, source[0], start_id=1, end_id=2, max_length=4)
    with pytest.raises(ValueError, match="empty or left-padded"):
        decode(chain(), [[START, A], [0, START]], start_id=START, end_id=END, max_length=4)
    with pytest.raises(ValueError, match="pad prompts on the right"):
        decode(chain(), [[START, 0, A]], start_id=START, end_id=END, max_length=4)
    with pytest.raises(ValueError, match="no_repeat_ngram_size"):
        decode(seq2seq, source, start_id=1, end_id=2, max_length=4, no_repeat_ngram_size=-1)
    with pytest.raises(ValueError, match="task='seq2seq' or task='lm'"):
        decode(
            zoo.build("lstm", task="classify", preset="tiny"),
            source,
            start_id=1,
            end_id=2,
            max_length=4,
        )
    with pytest.raises(TypeError, match="does not implement incremental decoding"):
        decode(
            keras.Sequential([keras.layers.Dense(2)]), source, start_id=1, end_id=2, max_length=4
        )
    with pytest.raises(TypeError, match="no `config.task`"):
        decode(NoTask(), source, start_id=1, end_id=2, max_length=4)


class NoTask:
    """Decodes, but does not say whether it reads a source or a prompt."""

    def init_decode_state(self, token_ids, max_length):
        return {}

    def decode_step(self, state, token_ids, index):
        raise AssertionError("never reached")


def test_beam_width_must_be_positive():
    with pytest.raises(ValueError, match="`beam_width` must be at least 1"):
        beam_search(chain(), [[START]], start_id=START, end_id=END, max_length=3, beam_width=0)


def test_sizes_are_python_ints_outside_tensorflow():
    if keras.config.backend() == "tensorflow":
        pytest.skip("TensorFlow accepts scalar tensors as sizes")
    with pytest.raises(TypeError, match="must be a Python int"):
        greedy_decode(chain(), [[START]], start_id=START, end_id=END, max_length=keras.ops.array(3))


def test_numpy_ints_are_sizes():
    token_ids, _ = greedy_decode(
        chain(), np.array([[START]]), start_id=START, end_id=END, max_length=np.int64(4)
    )
    np.testing.assert_array_equal(np.asarray(token_ids), [[3, 4, 2, 0]])
