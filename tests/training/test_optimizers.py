"""The one AdamW helper: its learning rate at each step against values written out."""

import math

import numpy as np
import pytest

from zoo.training import adamw


def rates(optimizer, steps):
    return [float(optimizer._learning_rate(step)) for step in steps]


def test_warm_up_then_cosine_down_to_the_minimum():
    optimizer = adamw(
        1e-3, warmup_steps=10, decay="cosine", decay_steps=110, min_learning_rate=1e-4
    )
    expected = [0.0, 5e-4, 1e-3]
    # Cosine over the 100 steps after warm-up, from 1e-3 to 1e-4: halfway is the mean.
    expected += [1e-4 + 0.5 * 9e-4 * (1 + math.cos(math.pi * 0.5)), 1e-4, 1e-4]
    np.testing.assert_allclose(rates(optimizer, [0, 5, 10, 60, 110, 500]), expected, atol=1e-9)
    assert (optimizer.beta_1, optimizer.beta_2, optimizer.weight_decay) == (0.9, 0.999, 0.01)


def test_warm_up_then_constant():
    optimizer = adamw(5e-4, warmup_steps=4, decay="constant", weight_decay=0.1, clipnorm=None)
    np.testing.assert_allclose(rates(optimizer, [0, 2, 4, 1000]), [0, 2.5e-4, 5e-4, 5e-4])
    assert optimizer.clipnorm is None and optimizer.weight_decay == 0.1


def test_a_warm_up_longer_than_the_decay_is_cut_to_it():
    optimizer = adamw(1e-3, warmup_steps=50, decay_steps=20, min_learning_rate=1e-3)
    np.testing.assert_allclose(rates(optimizer, [19, 40]), [1e-3, 1e-3], rtol=1e-6)


def test_weight_decay_skips_biases_and_layer_norm_parameters():
    import keras

    layer_norm, dense = keras.layers.LayerNormalization(), keras.layers.Dense(2)
    layer_norm.build((None, 2))
    dense.build((None, 2))
    optimizer = adamw(1e-3, decay="constant")
    decayed = {v.path: optimizer._use_weight_decay(v) for v in layer_norm.weights + dense.weights}
    assert [path.split("/")[-1] for path, used in decayed.items() if used] == ["kernel"]


@pytest.mark.parametrize(
    "options, message",
    [
        (dict(learning_rate=0.0, decay="constant"), "must be positive"),
        (dict(learning_rate=1e-3, decay="linear"), "`decay` must be one of"),
        (dict(learning_rate=1e-3, decay="cosine"), "needs `decay_steps`"),
        (
            dict(learning_rate=1e-3, decay_steps=10, min_learning_rate=1e-2),
            "min_learning_rate <= learning_rate",
        ),
    ],
)
def test_bad_settings_are_explained(options, message):
    with pytest.raises(ValueError, match=message):
        adamw(**options)
