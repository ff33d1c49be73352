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
    else:
        target = padded_ids(rng, 3, 6, model.config.vocab_size, min_length=6)
        full = predict(model, target)
        state = model.init_decode_state(3, max_length=room)
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
    with pytest.raises(ValueError, match="exceeds the 8 positions"):
        model.init_decode_state(2, max_length=9)
    assert model.init_decode_state(2, max_length=8)["self_attention_key_cache_0"].shape[1] == 8
