import keras
import numpy as np
import pytest

from zoo.training import TransformerSchedule


@pytest.mark.parametrize(
    "step, expected",
    [
        # 512^-0.5 * 1 * 4000^-1.5: the first step of the base model.
        (1, 1.746928e-07),
        # Warm-up is linear: 1000x the first step.
        (1000, 1.746928e-04),
        # The peak, (512 * 4000)^-0.5 = 1 / 1431.08.
        (4000, 6.987712e-04),
        # Inverse square root after warm-up: 4x the steps, half the rate.
        (16000, 3.493856e-04),
    ],
)
def test_base_model_rate_matches_the_paper_formula(step, expected):
    schedule = TransformerSchedule(hidden_dim=512, warmup_steps=4000)
    np.testing.assert_allclose(float(schedule(step)), expected, rtol=1e-5)


def test_small_schedule_with_scale_by_hand():
    # hidden_dim=64 -> 64^-0.5 = 1/8; warmup_steps=4 -> 4^-1.5 = 1/8; scale=2.
    schedule = TransformerSchedule(hidden_dim=64, warmup_steps=4, scale=2.0)
    np.testing.assert_allclose(float(schedule(2)), 2 * (1 / 8) * 2 * (1 / 8), rtol=1e-6)  # 0.0625
    np.testing.assert_allclose(float(schedule(4)), 2 * (1 / 8) * (1 / 2), rtol=1e-6)  # 0.125
    np.testing.assert_allclose(float(schedule(10)), 0.0790569, rtol=1e-5)  # 0.25 / sqrt(10)


def test_step_zero_is_step_one():
    # Keras optimizers call the schedule with iterations == 0 at the first update.
    schedule = TransformerSchedule(hidden_dim=64, warmup_steps=4)
    assert float(schedule(0)) == float(schedule(1)) == pytest.approx(1 / 64)


def test_peak_is_at_warmup_steps():
    schedule = TransformerSchedule(hidden_dim=128, warmup_steps=50)
    steps = np.arange(1, 201)
    rates = np.array([float(schedule(step)) for step in steps])
    assert steps[np.argmax(rates)] == 50
    assert np.all(np.diff(rates[:50]) > 0) and np.all(np.diff(rates[49:]) < 0)


def test_drives_an_optimizer():
    schedule = TransformerSchedule(hidden_dim=64, warmup_steps=4)
    optimizer = keras.optimizers.SGD(learning_rate=schedule)
    variable = keras.Variable(np.zeros(()), dtype="float32")
    rates = []
    for _ in range(3):
        rates.append(float(optimizer.learning_rate))
        optimizer.apply_gradients([(keras.ops.ones(()), variable)])
    # Iterations 0, 1, 2 -> steps 1, 1, 2: rates 1/64, 1/64, 2/64.
    np.testing.assert_allclose(rates, [1 / 64, 1 / 64, 2 / 64], rtol=1e-6)
    np.testing.assert_allclose(float(variable.numpy()), -4 / 64, rtol=1e-6)


def test_get_config_round_trip():
    schedule = TransformerSchedule(hidden_dim=256, warmup_steps=100, scale=0.5)
    assert schedule.get_config() == {"hidden_dim": 256, "warmup_steps": 100, "scale": 0.5}
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(schedule))
    assert isinstance(restored, TransformerSchedule)
    assert restored.get_config() == schedule.get_config()
    # Through an optimizer's config, as a saved .keras model stores it.
    optimizer_config = keras.optimizers.Adam(schedule).get_config()
    assert optimizer_config["learning_rate"]["config"] == schedule.get_config()
    optimizer = keras.optimizers.Adam.from_config(optimizer_config)
    assert float(optimizer.learning_rate) == pytest.approx(0.5 / 16 * 100**-1.5)  # step 1


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"hidden_dim": 0}, "hidden_dim"),
        ({"hidden_dim": 512.0}, "hidden_dim"),
        ({"hidden_dim": 512, "warmup_steps": 0}, "warmup_steps"),
        ({"hidden_dim": 512, "scale": -1.0}, "scale"),
    ],
)
def test_invalid_arguments_say_how_to_fix(kwargs, message):
    with pytest.raises(ValueError, match=message):
        TransformerSchedule(**kwargs)
