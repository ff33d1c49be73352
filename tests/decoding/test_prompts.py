"""Language-model prompts: each row continues its own prompt, whatever the batch holds."""

import keras
import numpy as np
import pytest

import zoo
from tests.decoding.fake_models import END, START, A, B, TableModel, table_greedy
from tests.decoding.reference import cut_at_end, forward, log_softmax_without_padding
from zoo.decoding import beam_search, greedy_decode, sample
from zoo.decoding.protocol import Decodable, first_tokens

# Prompts of lengths 3, 1 and 2, right-padded: every row continues from different tokens.
PROMPTS = [[START, A, B], [START, 0, 0], [START, B, 0]]
LM_FAMILIES = [name for name in zoo.list_models() if "lm" in zoo.list_tasks(name)]
VOCAB_SIZE = 24
START_ID, END_ID = 2, 3


def unpadded(prompt):
    return [token for token in prompt if token != 0]


def test_the_first_tokens_are_each_prompts_last():
    model = TableModel.random(np.random.default_rng(0))
    assert isinstance(model, Decodable)
    np.testing.assert_array_equal(np.asarray(first_tokens(model, PROMPTS, START)), [B, START, B])


def test_greedy_continues_each_prompt_as_the_table_says(rng):
    model = TableModel.random(rng, sharpness=1.0)
    token_ids, scores = greedy_decode(model, PROMPTS, start_id=START, end_id=END, max_length=5)
    for row, prompt in enumerate(PROMPTS):
        expected, log_prob = table_greedy(model, unpadded(prompt), 5)
        np.testing.assert_array_equal(np.asarray(token_ids)[row], expected)
        np.testing.assert_allclose(np.asarray(scores)[row], log_prob, rtol=1e-5)
        assert np.isclose(log_prob, model.log_prob(unpadded(expected), prompt=unpadded(prompt)))


@pytest.mark.parametrize("decode", [greedy_decode, beam_search], ids=["greedy", "beam"])
def test_a_batch_of_prompts_decodes_as_each_prompt_alone(decode, rng):
    model = TableModel.random(rng)
    kwargs = dict(start_id=START, end_id=END, max_length=5)
    token_ids, scores = decode(model, PROMPTS, **kwargs)
    for row, prompt in enumerate(PROMPTS):
        alone_ids, alone_scores = decode(model, [unpadded(prompt)], **kwargs)
        np.testing.assert_array_equal(np.asarray(alone_ids)[0], np.asarray(token_ids)[row])
        np.testing.assert_allclose(np.asarray(alone_scores)[0], np.asarray(scores)[row], rtol=1e-6)
    assert len({tuple(row) for row in np.asarray(token_ids)}) > 1  # the prompts matter


def test_sampling_from_prompts_is_reproducible(rng):
    model = TableModel.random(rng, sharpness=0.5)
    kwargs = dict(start_id=START, end_id=END, max_length=6)
    first, _ = sample(model, PROMPTS * 4, **kwargs, seed=3)
    again, _ = sample(model, PROMPTS * 4, **kwargs, seed=3)
    np.testing.assert_array_equal(np.asarray(first), np.asarray(again))
    top_1, _ = sample(model, PROMPTS, **kwargs, top_k=1, seed=0)
    greedy, _ = greedy_decode(model, PROMPTS, **kwargs)
    np.testing.assert_array_equal(np.asarray(top_1), np.asarray(greedy))


# Real tiny language models of every family.


@pytest.fixture
def prompts(rng):
    prompts = np.zeros((3, 5), "int32")
    for row, length in enumerate([5, 1, 3]):
        prompts[row, 0] = START_ID
        prompts[row, 1:length] = rng.integers(4, VOCAB_SIZE, length - 1)
    return prompts


def tiny_lm(name):
    keras.utils.set_random_seed(3)
    return zoo.build(name, task="lm", preset="tiny", vocab_size=VOCAB_SIZE)


@pytest.mark.parametrize("name", LM_FAMILIES)
def test_greedy_from_prompts_equals_argmax_over_full_forward_passes(name, prompts):
    model = tiny_lm(name)
    max_length = 4
    token_ids, scores = greedy_decode(
        model, prompts, start_id=START_ID, end_id=END_ID, max_length=max_length
    )
    for row, prompt in enumerate(prompts):
        ids = unpadded(prompt)
        tokens, token_log_probs = [], []
        for _ in range(max_length):  # the prompt and what greedy emitted so far, uncached
            log_probs = log_softmax_without_padding(forward(model, np.array([ids]))[0, -1])
            token = int(np.argmax(log_probs))
            tokens.append(token)
            token_log_probs.append(log_probs[token])
            ids.append(token)
        expected_ids, expected_scores = cut_at_end(
            np.array([tokens]), np.array([token_log_probs]), END_ID
        )
        np.testing.assert_array_equal(np.asarray(token_ids)[row], expected_ids[0])
        np.testing.assert_allclose(np.asarray(scores)[row], expected_scores[0], atol=1e-5)


@pytest.mark.parametrize("name", LM_FAMILIES)
def test_real_prompts_decode_in_a_batch_as_alone(name, prompts):
    model = tiny_lm(name)
    kwargs = dict(start_id=START_ID, end_id=END_ID, max_length=4)
    searches = [
        (greedy_decode, {}),
        (beam_search, dict(beam_width=3)),
        # TensorFlow: short caches for the prompt and 2 steps, grown after steps 2 and 3.
        (beam_search, dict(beam_width=3, compaction_steps=(2, 3))),
    ]
    for decode, options in searches:
        token_ids, scores = decode(model, prompts, **kwargs, **options)
        for row, prompt in enumerate(prompts):
            alone_ids, alone_scores = decode(
                model, np.array([unpadded(prompt)]), **kwargs, **options
            )
            np.testing.assert_array_equal(np.asarray(alone_ids)[0], np.asarray(token_ids)[row])
            np.testing.assert_allclose(
                np.asarray(alone_scores)[0], np.asarray(scores)[row], atol=1e-5
            )


@pytest.mark.parametrize("name", LM_FAMILIES)
def test_sampling_a_real_model_with_a_seed_is_reproducible(name, prompts):
    model = tiny_lm(name)
    kwargs = dict(start_id=START_ID, end_id=END_ID, max_length=5, top_p=0.9)
    first, first_scores = sample(model, prompts, **kwargs, seed=11)
    again, again_scores = sample(model, prompts, **kwargs, seed=11)
    np.testing.assert_array_equal(np.asarray(first), np.asarray(again))
    np.testing.assert_allclose(np.asarray(first_scores), np.asarray(again_scores))
