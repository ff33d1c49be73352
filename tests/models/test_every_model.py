"""One suite for every registered family x task: a new model is tested when registered."""

import keras
import numpy as np
import pytest

import zoo
from zoo.data.toy_tasks import loss_for, padded_ids, task_data

CASES = [(name, task) for name in zoo.list_models() for task in zoo.list_tasks(name)]
DECODERS = [(name, task) for name, task in CASES if task in ("seq2seq", "lm")]


def tiny(name, task, **overrides):
    return zoo.build(name, task=task, preset="tiny", **overrides)


def predict(model, inputs):
    return np.asarray(model(inputs, training=False))


@pytest.mark.parametrize("name, task", CASES)
def test_trains_with_falling_loss_saves_and_reloads(name, task, tmp_path, rng):
    model = tiny(name, task)
    inputs, targets = task_data(task, model.config, rng)
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss=loss_for(task))
    before = model.evaluate(inputs, targets, verbose=0)
    model.fit(inputs, targets, epochs=25, batch_size=32, verbose=0)
    after = model.evaluate(inputs, targets, verbose=0)
    assert after < 0.7 * before, f"loss {before:.4f} -> {after:.4f}"

    expected = predict(model, inputs)
    path = tmp_path / f"{name}_{task}.keras"
    model.save(path)
    reloaded = keras.saving.load_model(path)
    assert type(reloaded) is type(model)
    assert reloaded.config == model.config
    np.testing.assert_allclose(predict(reloaded, inputs), expected, atol=1e-6)


@pytest.mark.parametrize("name, task", CASES)
def test_get_config_round_trips(name, task):
    model = tiny(name, task)
    config = model.get_config()
    clone = type(model).from_config(config)
    assert clone.get_config() == config
    assert clone.count_params() == model.count_params()


def pad_more(inputs, extra):
    """The same batch with `extra` more padding steps (zeros) on the right."""
    if isinstance(inputs, dict):
        return {key: pad_more(value, extra) for key, value in inputs.items()}
    widths = [(0, 0), (0, extra)] + [(0, 0)] * (inputs.ndim - 2)
    return np.pad(inputs, widths)


@pytest.mark.parametrize("name, task", CASES)
def test_padding_never_changes_real_outputs(name, task, rng):
    model = tiny(name, task)
    inputs, _ = task_data(task, model.config, rng, batch=4)
    outputs = predict(model, inputs)
    padded = predict(model, pad_more(inputs, 5))
    if task in ("classify", "regress"):
        np.testing.assert_allclose(padded, outputs, atol=1e-5)
        return
    real = (inputs["decoder_token_ids"] if task == "seq2seq" else inputs) != 0
    np.testing.assert_allclose(padded[:, : outputs.shape[1]][real], outputs[real], atol=1e-5)
    # A neighbour in the batch with other contents changes nothing either.
    single = {k: v[:1] for k, v in inputs.items()} if isinstance(inputs, dict) else inputs[:1]
    np.testing.assert_allclose(predict(model, single)[0][real[0]], outputs[0][real[0]], atol=1e-5)


@pytest.mark.parametrize("name", [name for name, task in CASES if task == "lm"])
def test_language_models_never_see_the_future(name, rng):
    model = tiny(name, "lm")
    ids = padded_ids(rng, 3, 10, model.config.vocab_size, min_length=10)
    outputs = predict(model, ids)
    for t in (0, 4, 8):
        changed = ids.copy()
        changed[:, t + 1 :] = rng.integers(1, model.config.vocab_size, changed[:, t + 1 :].shape)
        np.testing.assert_allclose(
            predict(model, changed)[:, : t + 1], outputs[:, : t + 1], atol=1e-6
        )
        assert np.abs(predict(model, changed)[:, t + 1 :] - outputs[:, t + 1 :]).max() > 1e-4


# The Transformer's state has a length axis (its caches), so it also decodes from a state
# that starts with room for 2 positions and grows by 2 (the optional `resize_decode_state`).
CACHED_CASES = [(name, task, False) for name, task in DECODERS] + [
    (name, task, True) for name, task in DECODERS if name == "transformer"
]


@pytest.mark.parametrize("name, task, grow", CACHED_CASES)
def test_cached_decoding_equals_the_full_forward_pass(name, task, grow, rng):
    model = tiny(name, task, dropout=0.1)
    room = 2 if grow else 9
    if task == "seq2seq":
        source = padded_ids(rng, 3, 7, model.config.vocab_size)
        target = padded_ids(rng, 3, 6, model.config.vocab_size, min_length=6)
        full = predict(model, {"encoder_token_ids": source, "decoder_token_ids": target})
        state = model.init_decode_state(source, max_length=room)
    else:  # a one-token prompt: its token is fed again at index 0
        target = padded_ids(rng, 3, 6, model.config.vocab_size, min_length=6)
        full = predict(model, target)
        state = model.init_decode_state(target[:, :1], max_length=room)
    for index in range(target.shape[1]):
        if grow and index == room:
            room += 2
            state = model.resize_decode_state(state, room)
        logits, state = model.decode_step(state, target[:, index], index)
        np.testing.assert_allclose(np.asarray(logits), full[:, index], atol=1e-5)


@pytest.mark.parametrize("name, task", CASES)
def test_runs_under_mixed_bfloat16(name, task, rng):
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    model = tiny(name, task)
    inputs, _ = task_data(task, model.config, rng, batch=2)
    outputs = model(inputs)
    assert keras.backend.standardize_dtype(outputs.dtype) == "float32"
    assert np.isfinite(np.asarray(outputs)).all()


def test_learned_positions_refuse_to_decode_past_their_table():
    model = zoo.build(
        "transformer", task="lm", preset="tiny", position_encoding="learned", max_sequence_length=8
    )
    prompts = np.array([[5, 6, 7], [5, 0, 0]], "int32")  # width 3
    with pytest.raises(ValueError, match="prompt width 3 \\+ max_length=6 exceeds the 8 positions"):
        model.init_decode_state(prompts, max_length=6)
    assert (
        model.init_decode_state(prompts, max_length=5)["self_attention_key_cache_0"].shape[1] == 8
    )
    seq2seq = zoo.build(
        "transformer", preset="tiny", position_encoding="learned", max_sequence_length=8
    )
    with pytest.raises(ValueError, match="max_length=9 exceeds the 8 positions"):
        seq2seq.init_decode_state(prompts, max_length=9)


# Language models decode after a prompt (the protocol of zoo.decoding): a batch of prompts of
# different lengths, right-padded, one of them a single token.
PROMPTS = np.array([[7, 3, 9, 4, 0, 0], [5, 0, 0, 0, 0, 0], [2, 8, 6, 1, 9, 3]], "int32")
LM_CASES = [(name, {}) for name, task in DECODERS if task == "lm"] + [
    ("transformer", dict(position_encoding="learned", norm_first=True))
]


def lm_steps(prompts, continuation):
    """What the protocol feeds: each row's last prompt token, then the continuation."""
    lengths = (prompts != 0).sum(axis=1)
    last = prompts[np.arange(len(prompts)), lengths - 1]
    return np.concatenate([last[:, None], continuation], axis=1).astype("int32")


def lm_expected(model, prompts, continuation):
    """The full forward pass over each row's unpadded prompt + continuation, alone: the
    logits at the positions of the steps (last prompt token onwards)."""
    rows = []
    for prompt, tokens in zip(prompts, continuation):
        length = int((prompt != 0).sum())
        sequence = np.concatenate([prompt[:length], tokens])[None].astype("int32")
        rows.append(predict(model, sequence)[0, length - 1 :])
    return np.stack(rows)  # (B, 1 + n, V)


@pytest.mark.parametrize("name, overrides", LM_CASES)
def test_lm_decoding_after_prompts_of_different_lengths_equals_the_full_pass(name, overrides, rng):
    model = tiny(name, "lm", dropout=0.1, **overrides)
    continuation = rng.integers(1, model.config.vocab_size, (3, 4)).astype("int32")
    expected = lm_expected(model, PROMPTS, continuation)
    steps = lm_steps(PROMPTS, continuation)
    state = model.init_decode_state(PROMPTS, max_length=steps.shape[1])
    if name == "transformer":
        np.testing.assert_array_equal(np.asarray(state["start_positions"]), [3, 0, 5])
    for index in range(steps.shape[1]):
        logits, state = model.decode_step(state, steps[:, index], index)
        np.testing.assert_allclose(np.asarray(logits), expected[:, index], atol=1e-5)


@pytest.mark.parametrize("name, overrides", LM_CASES)
def test_lm_decoding_compiles_with_a_dynamic_prompt_width(name, overrides, rng):
    """TensorFlow: one `tf.function` trace for prompts of any width (a SavedModel signature);
    JAX: `jax.jit`, static shapes, the index a traced scalar."""
    model = tiny(name, "lm", **overrides)
    num_steps = 3
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        @tf.function(
            input_signature=[
                tf.TensorSpec((None, None), tf.int32),
                tf.TensorSpec((None, num_steps), tf.int32),
            ]
        )
        def decode(prompts, steps):
            state = model.init_decode_state(prompts, max_length=num_steps)
            logits = tf.TensorArray(tf.float32, size=num_steps)
            for index in tf.range(num_steps):
                step_logits, state = model.decode_step(state, steps[:, index], index)
                logits = logits.write(index, step_logits)
            return tf.transpose(logits.stack(), (1, 0, 2))

    elif backend == "jax":
        import jax

        init = jax.jit(lambda prompts: model.init_decode_state(prompts, max_length=num_steps))
        step = jax.jit(model.decode_step)

        def decode(prompts, steps):
            state, logits = init(prompts), []
            for index in range(num_steps):
                step_logits, state = step(state, steps[:, index], np.int32(index))
                logits.append(step_logits)
            return np.stack([np.asarray(x) for x in logits], axis=1)

    else:
        pytest.skip(f"no compiled decoding test for the {backend} backend")
    for prompts in (PROMPTS, PROMPTS[:2, :4]):  # two widths (and batch sizes), one trace
        continuation = rng.integers(1, model.config.vocab_size, (len(prompts), num_steps - 1))
        expected = lm_expected(model, prompts, continuation)
        got = decode(prompts, lm_steps(prompts, continuation))
        np.testing.assert_allclose(np.asarray(got), expected, atol=1e-5)
    if backend == "tensorflow":
        assert decode.experimental_get_tracing_count() == 1
