"""The `lm` product in process: filtering, greedy and seeded generation, scores, prompts."""

import math

import keras
import numpy as np
import pytest

if keras.config.backend() != "tensorflow":
    pytest.skip("zoo.tasks needs TensorFlow (pipelines and export)", allow_module_level=True)

import zoo  # noqa: E402
from zoo.data import ByteTokenizer  # noqa: E402
from zoo.decoding import sampling  # noqa: E402
from zoo.tasks import generate as generation  # noqa: E402
from zoo.tasks import get_task  # noqa: E402

FAMILIES = ["transformer", "lstm", "simple_rnn"]
PROMPTS = ["", "a", "the cat sat"]


def tiny_lm(family, **overrides):
    return zoo.build(family, task="lm", preset="tiny", vocab_size=260, **overrides)


def test_the_task_of_an_lm_is_generate():
    assert get_task(tiny_lm("lstm")).name == "generate"
    assert get_task("lm") is generation.GENERATE


def test_filter_logits_top_k_and_top_p_by_hand():
    probabilities = np.array([[0.5, 0.3, 0.15, 0.05]])
    logits = np.log(probabilities).astype("float32")

    def kept(**settings):
        options = dict(temperature=1.0, top_k=0, top_p=1.0) | settings
        return np.isfinite(np.asarray(sampling.filter_logits(logits, **options)))[0].tolist()

    assert kept() == [True, True, True, True]
    assert kept(top_k=2) == [True, True, False, False]
    assert kept(top_k=-1) == [True, True, True, True]  # <= 0: no top-k
    assert kept(top_p=0.5) == [True, False, False, False]  # 0.5 reaches 0.5
    assert kept(top_p=0.6) == [True, True, False, False]  # the token crossing 0.6 is kept
    assert kept(top_p=0.96) == [True, True, True, True]
    assert kept(top_k=1, top_p=1.0) == [True, False, False, False]
    # Temperature divides the logits.
    tempered = np.asarray(sampling.filter_logits(logits, 2.0, 0, 1.0))
    np.testing.assert_allclose(tempered, logits / 2.0, rtol=1e-6)


def full_pass_greedy(model, tokenizer, prompt, steps):
    """Greedy by hand: argmax of the full forward pass over prompt + generated, each step."""
    ids = [tokenizer.start_id, *tokenizer.encode([prompt])[0]]
    new = []
    for _ in range(steps):
        logits = np.array(model(np.array([ids + new], "int32"), training=False))[0, -1]
        logits[0] = -np.inf  # padding is never emitted
        new.append(int(np.argmax(logits)))
        if new[-1] == tokenizer.end_id:
            break
    return tokenizer.decode([new])[0]


@pytest.mark.parametrize("family", FAMILIES)
def test_greedy_generation_equals_argmax_of_the_full_pass(family):
    model = tiny_lm(family)
    tokenizer = ByteTokenizer()
    texts = generation.generate_texts(model, tokenizer, PROMPTS, max_new_tokens=6, temperature=0)
    for prompt, text in zip(PROMPTS, texts):
        assert text == full_pass_greedy(model, tokenizer, prompt, 6)


def test_sampling_is_reproducible_by_seed():
    model = tiny_lm("transformer")
    tokenizer = ByteTokenizer()
    options = dict(max_new_tokens=12, temperature=1.5, top_k=50, top_p=0.95)
    first = generation.generate_texts(model, tokenizer, PROMPTS, seed=7, **options)
    again = generation.generate_texts(model, tokenizer, PROMPTS, seed=7, **options)
    other = generation.generate_texts(model, tokenizer, PROMPTS, seed=8, **options)
    assert first == again
    assert first != other


def test_repeats_can_be_blocked():
    model = tiny_lm("lstm")
    tokenizer = ByteTokenizer()
    prompt_ids, _ = generation.encode_prompts(tokenizer, ["ab"], 30)
    options = dict(start_id=2, end_id=3, max_length=30, temperature=0.0)
    free, _ = sampling.sample(model, prompt_ids, **options)
    blocked, _ = sampling.sample(model, prompt_ids, no_repeat_ngram_size=2, **options)
    free = np.asarray(free)[0].tolist()
    assert len(set(zip(free, free[1:]))) < len(free) - 1  # untrained: it repeats itself
    ids = [t for t in np.asarray(blocked)[0].tolist() if t]
    bigrams = list(zip(ids, ids[1:]))
    assert len(bigrams) == len(set(bigrams))


def test_bad_settings_are_clear_errors():
    model, tokenizer = tiny_lm("lstm"), ByteTokenizer()
    for settings, message in [
        (dict(temperature=-1.0), "temperature"),
        (dict(top_p=0.0), "top_p"),
        (dict(top_p=1.5), "top_p"),
        (dict(top_k=2.5), "top_k"),
    ]:
        with pytest.raises(ValueError, match=message):
            generation.generate_texts(model, tokenizer, ["a"], max_new_tokens=2, **settings)


def test_prompts_are_cut_to_the_context_and_the_position_limit():
    rows = [[2, 10, 11, 12, 13, 14]]
    assert generation.fit_prompts(rows, 5, context_length=3) == ([[12, 13, 14]], 5)
    # A position limit of 8 leaves room for the 5 new tokens: 3 prompt tokens.
    assert generation.fit_prompts(rows, 5, limit=8) == ([[12, 13, 14]], 5)
    # More new tokens than fit: cut to limit - 1, the prompt keeps its last token.
    assert generation.fit_prompts(rows, 50, limit=8) == ([[14]], 7)
    model = tiny_lm("transformer", position_encoding="learned", max_sequence_length=8)
    tokenizer = ByteTokenizer()
    prompt_ids, steps = generation.encode_prompts(
        tokenizer, ["a long prompt, longer than the model sees"], 50, limit=8
    )
    assert prompt_ids.shape == (1, 1) and steps == 7
    (text,) = generation.generate_texts(
        model,
        tokenizer,
        ["a long prompt, longer than the model sees"],
        max_new_tokens=50,
        temperature=0,
    )  # runs: no position past the 8 learned ones


@pytest.mark.parametrize("family", ["transformer", "lstm"])
def test_scores_are_sums_of_next_token_log_probabilities(family):
    model, tokenizer = tiny_lm(family), ByteTokenizer()
    texts = ["ab", "hello"]
    scores = generation.score_texts(model, tokenizer, texts)
    for text, score in zip(texts, scores):
        ids = [tokenizer.start_id, *tokenizer.encode([text])[0]]
        logits = np.asarray(model(np.array([ids], "int32"), training=False))[0].astype("float64")
        log_probs = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
        expected = sum(log_probs[i, ids[i + 1]] for i in range(len(ids) - 1))
        assert score["num_tokens"] == len(ids) - 1
        assert math.isclose(score["log_likelihood"], expected, rel_tol=1e-4)


def test_compile_defaults_follow_nanogpt_schedule():
    model = tiny_lm("transformer")
    generation.GENERATE.compile(
        model, learning_rate=1e-3, min_learning_rate=1e-4, warmup_steps=10, decay_steps=110
    )
    schedule = model.optimizer._learning_rate  # the schedule itself
    rates = [float(schedule(step)) for step in (0, 5, 10, 60, 110, 500)]
    assert rates[0] == 0.0
    assert math.isclose(rates[1], 5e-4, rel_tol=1e-5)
    assert math.isclose(rates[2], 1e-3, rel_tol=1e-5)
    assert math.isclose(rates[3], 1e-4 + 0.5 * (1e-3 - 1e-4), rel_tol=1e-4)  # half-way
    assert math.isclose(rates[4], 1e-4, rel_tol=1e-4)
    assert math.isclose(rates[5], 1e-4, rel_tol=1e-4)
