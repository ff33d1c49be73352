"""`compiled_decoder` traces a search once and reuses it: repeated calls do not retrace."""

import keras
import numpy as np
import pytest

import zoo
from zoo.decoding.compiled import compiled_decoder

VOCAB_SIZE = 24
BACKEND = keras.config.backend()
pytestmark = pytest.mark.skipif(
    BACKEND not in ("tensorflow", "jax"), reason="compiled decoders are tf.function / jax.jit"
)


class CountingModel:
    """A zoo model whose `init_decode_state` counts its calls: Python code inside a
    compiled search runs only while it is traced, so the count is the number of traces."""

    def __init__(self, model):
        self.model, self.config, self.traces = model, model.config, 0

    def init_decode_state(self, *args):
        self.traces += 1
        return self.model.init_decode_state(*args)

    def decode_step(self, *args):
        return self.model.decode_step(*args)

    def resize_decode_state(self, *args):
        return self.model.resize_decode_state(*args)


@pytest.fixture(scope="module")
def model():
    keras.utils.set_random_seed(3)
    return zoo.build("transformer", task="seq2seq", preset="tiny", vocab_size=VOCAB_SIZE)


def sources(rng, batch, length):
    return rng.integers(3, VOCAB_SIZE, (batch, length)).astype("int32")


@pytest.mark.parametrize("beam_width", [1, 4], ids=["greedy", "beam"])
def test_repeated_calls_of_the_same_shapes_trace_once(model, rng, beam_width):
    counting = CountingModel(model)
    settings = dict(beam_width=beam_width, start_id=1, end_id=2, max_length=5)
    decode = compiled_decoder(counting, **settings)
    assert compiled_decoder(counting, **settings) is decode  # cached per model and settings
    batch = sources(rng, 3, 6)
    first = np.asarray(decode(batch)[0])
    for _ in range(3):
        np.testing.assert_array_equal(np.asarray(decode(batch)[0]), first)
        decode(sources(rng, 3, 6))  # new values, same shapes
    assert counting.traces == 1


@pytest.mark.skipif(BACKEND != "tensorflow", reason="jax.jit traces once per distinct shape")
def test_tensorflow_traces_once_for_every_batch_and_source_length(model, rng):
    counting = CountingModel(model)
    decode = compiled_decoder(counting, beam_width=4, start_id=1, end_id=2, max_length=5)
    for batch, length in ((3, 6), (1, 4), (5, 9), (3, 6)):
        token_ids, _ = decode(sources(rng, batch, length))
        assert tuple(token_ids.shape) == (batch, 5)
    assert counting.traces == 1


def test_other_settings_compile_another_decoder(model, rng):
    counting = CountingModel(model)
    greedy = compiled_decoder(counting, beam_width=1, start_id=1, end_id=2, max_length=5)
    longer = compiled_decoder(counting, beam_width=1, start_id=1, end_id=2, max_length=7)
    assert greedy is not longer
    batch = sources(rng, 2, 4)
    assert tuple(greedy(batch)[0].shape) == (2, 5)
    assert tuple(longer(batch)[0].shape) == (2, 7)
    assert counting.traces == 2
