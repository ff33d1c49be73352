"""On TensorFlow the decoders trace inside `tf.function`, as a SavedModel signature needs."""

import keras
import numpy as np
import pytest

import zoo
from zoo.decoding import beam_search, greedy_decode, sample

tf = pytest.importorskip("tensorflow")
pytestmark = pytest.mark.skipif(
    keras.config.backend() != "tensorflow", reason="tf.function needs the TensorFlow backend"
)
VOCAB_SIZE = 24


@pytest.fixture(scope="module")
def model():
    keras.utils.set_random_seed(7)
    return zoo.build("transformer", task="seq2seq", preset="tiny", vocab_size=VOCAB_SIZE)


@pytest.fixture
def source(rng):
    source = rng.integers(1, VOCAB_SIZE, (3, 6)).astype("int32")
    source[2, 2:] = 0
    return source


@pytest.mark.parametrize("decode", [greedy_decode, beam_search], ids=["greedy", "beam"])
def test_traces_in_tf_function_and_matches_eager(decode, model, source):
    kwargs = dict(start_id=1, end_id=2, max_length=6)
    eager_ids, eager_scores = decode(model, source, **kwargs)
    traced = tf.function(lambda ids: decode(model, ids, **kwargs))
    traced_ids, traced_scores = traced(source)
    np.testing.assert_array_equal(traced_ids.numpy(), np.asarray(eager_ids))
    np.testing.assert_allclose(traced_scores.numpy(), np.asarray(eager_scores), atol=1e-5)
    # The loop is one graph op, not unrolled per step.
    graph = traced.get_concrete_function(tf.TensorSpec([None, None], tf.int32)).graph
    assert any(op.type in ("While", "StatelessWhile") for op in graph.get_operations())


def test_sizes_can_be_signature_inputs(model, source):
    signature = [
        tf.TensorSpec([None, None], tf.int32, name="encoder_token_ids"),
        tf.TensorSpec([], tf.int32, name="max_length"),
        tf.TensorSpec([], tf.int32, name="beam_width"),
    ]

    @tf.function(input_signature=signature)
    def translate(encoder_token_ids, max_length, beam_width):
        return beam_search(
            model,
            encoder_token_ids,
            start_id=1,
            end_id=2,
            max_length=max_length,
            beam_width=beam_width,
        )

    for max_length, beam_width, batch in ((6, 3, 3), (4, 1, 1)):
        expected_ids, expected_scores = beam_search(
            model,
            source[:batch],
            start_id=1,
            end_id=2,
            max_length=max_length,
            beam_width=beam_width,
        )
        token_ids, scores = translate(source[:batch], max_length, beam_width)
        np.testing.assert_array_equal(token_ids.numpy(), np.asarray(expected_ids))
        np.testing.assert_allclose(scores.numpy(), np.asarray(expected_scores), atol=1e-5)
    assert len(translate._list_all_concrete_functions()) == 1  # traced once


def test_sampling_with_tensor_settings_traces_once_and_equals_eager(model, source):
    kwargs = dict(start_id=1, end_id=2, max_length=6)
    eager_ids, eager_scores = sample(model, source, **kwargs, top_p=0.9, temperature=0.8, seed=5)

    @tf.function(
        input_signature=[
            tf.TensorSpec([None, None], tf.int32),
            tf.TensorSpec([], tf.float32),
            tf.TensorSpec([], tf.float32),
            tf.TensorSpec([], tf.int32),
        ]
    )
    def traced(ids, temperature, top_p, seed):
        return sample(model, ids, **kwargs, temperature=temperature, top_p=top_p, seed=seed)

    traced_ids, traced_scores = traced(source, 0.8, 0.9, 5)
    np.testing.assert_array_equal(traced_ids.numpy(), np.asarray(eager_ids))
    np.testing.assert_allclose(traced_scores.numpy(), np.asarray(eager_scores), atol=1e-5)
    traced(source[:1], 1.0, 0.5, 7)  # other settings and batch: the same trace
    assert len(traced._list_all_concrete_functions()) == 1
