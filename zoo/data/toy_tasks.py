"""Tiny generated data for every task, so any model can be trained in seconds.

Used by the tests and by `make tour`: each task gets a rule a tiny model learns in a few
steps (copy for seq2seq, counting for lm, unmasking for mlm, a first-token rule for classify,
a sum for regress).
"""

import keras
import numpy as np

PAD = 0


def padded_ids(rng, batch, length, vocab_size, min_length=None):
    """Random ids in [1, vocab) with random right padding (id 0)."""
    min_length = min_length or max(2, length // 2)
    ids = rng.integers(1, vocab_size, size=(batch, length))
    lengths = rng.integers(min_length, length + 1, size=batch)
    ids[np.arange(length)[None, :] >= lengths[:, None]] = PAD
    return ids.astype("int32")


def task_data(task, config, rng, batch=32, length=8):
    """(inputs, targets) with a learnable rule for each task."""
    vocab = getattr(config, "vocab_size", 64)
    if task == "seq2seq":
        source = padded_ids(rng, batch, length, vocab)
        # Target: the source copied (teacher forcing: decoder input is target shifted right).
        target = source.copy()
        decoder_input = np.concatenate([np.ones((batch, 1), "int32"), target[:, :-1]], axis=1)
        decoder_input[target == PAD] = PAD
        inputs = {"encoder_token_ids": source, "decoder_token_ids": decoder_input}
        return inputs, target
    if task == "lm":
        start = rng.integers(1, vocab, size=(batch, 1))
        ids = ((start + np.arange(length + 1)[None, :]) % (vocab - 1) + 1).astype("int32")
        return ids[:, :-1], ids[:, 1:]
    if task == "mlm":
        ids = padded_ids(rng, batch, length, vocab)
        masked = ids.copy()
        hide = (rng.random(ids.shape) < 0.3) & (ids != PAD)
        masked[hide] = 1  # id 1 plays the mask token
        return masked, ids
    if task == "classify":
        ids = padded_ids(rng, batch, length, vocab)
        return ids, (ids[:, 0] > vocab // 2).astype("int32")
    if task == "regress":
        features = rng.uniform(0.1, 1.0, size=(batch, length, config.num_features))
        lengths = rng.integers(length // 2, length + 1, size=batch)
        features[np.arange(length)[None, :] >= lengths[:, None]] = 0.0
        return features.astype("float32"), features.sum(axis=(1, 2))[:, None].astype("float32")
    raise ValueError(task)


def loss_for(task):
    """The loss `fit()` needs for `task`'s outputs; padding (id 0) is ignored for tokens."""
    if task == "regress":
        return keras.losses.MeanSquaredError()
    if task == "classify":
        return keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    return keras.losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=PAD)
