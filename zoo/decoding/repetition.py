"""No repeated n-grams: the bookkeeping greedy decoding, sampling and beam search share.

With `no_repeat_ngram_size = n >= 1`, a hypothesis never emits a token that would make an
n-gram of its EMITTED tokens appear twice (the prompt and the start token are not part of
its history). The end token is never banned: it ends a hypothesis, so it is never in one's
history. Banned tokens leave the choice the way the padding id does: their probability
still counts in the normaliser, so scores stay the model's own log-probabilities.

Per hypothesis, over its emitted `history (N, L)` (`t` tokens so far, `L = max_length`),
the searches carry `suffix_match (N, L)`: `suffix_match[i]` is the length of the longest
common suffix of `history[..i]` and the whole `history[..t-1]`, for `i < t - 1`. Emitting
`history[j]` again next would repeat an n-gram exactly when the `n - 1` tokens before
position `j` end like the history does: `j < t` and `suffix_match[j - 1] >= n - 1` (with
`suffix_match[-1] = 0`, so for `n = 1` every emitted token is banned). Appending a token
`x` updates it in O(L): `new[i] = old[i - 1] + 1 if history[i] == x else 0`. All of it is
a few `(N, L)` ops and one scatter into `(N, V)` per step, and `n` may be a tensor (a
SavedModel signature input; 0 turns it off there too).

    >>> import numpy as np
    >>> from keras import ops
    >>> history = np.array([[5, 6, 5, 0]], "int32")  # A B A, then room for one more
    >>> match = ops.zeros((1, 4), "int32")
    >>> for t in range(3):
    ...     match = append_token(history, match, t, history[:, t])
    >>> np.flatnonzero(np.asarray(banned_tokens(history, match, 3, 2, vocab_size=8))[0])
    array([6])
"""

from __future__ import annotations

import numbers

from keras import ops


def check_ngram_size(value):
    """`no_repeat_ngram_size`: an int >= 0 (returned as a Python int), or a scalar integer
    tensor (returned as int32)."""
    if isinstance(value, bool):
        raise TypeError(f"`no_repeat_ngram_size` must be an int, received {value!r}.")
    if isinstance(value, numbers.Integral):
        if value < 0:
            raise ValueError(
                f"`no_repeat_ngram_size` must be 0 (off) or a positive n-gram length, "
                f"received {value}."
            )
        return int(value)
    value = ops.convert_to_tensor(value)
    if len(value.shape) != 0 or "int" not in str(value.dtype):
        raise TypeError(
            "`no_repeat_ngram_size` must be a Python int or a scalar integer tensor; "
            f"received {value.dtype} of shape {tuple(value.shape)}."
        )
    return ops.cast(value, "int32")


def blocks_repeats(ngram_size):
    """Whether a search needs the bookkeeping at all: a Python 0 adds no work."""
    return not (isinstance(ngram_size, int) and ngram_size == 0)


def initial_suffix_match(num_rows, max_length):
    """The carry before any token is emitted: `(N, L)` zeros."""
    return ops.zeros((num_rows, max_length), dtype="int32")


def _shift_right(suffix_match):
    """`out[:, i] = suffix_match[:, i - 1]`, `out[:, 0] = 0`."""
    return ops.pad(suffix_match[:, :-1], ((0, 0), (1, 0)))


def append_token(history, suffix_match, index, tokens):
    """The carry once `tokens (N,)` are emitted at position `index`.

    `history (N, L)`: the emitted ids; only positions `< index` are read, so the new tokens
    may or may not be written in already.
    """
    positions = ops.arange(ops.shape(history)[1], dtype="int32")[None, :]
    continues = ops.logical_and(
        ops.equal(history, ops.cast(tokens, "int32")[:, None]), positions < index
    )
    return ops.where(continues, _shift_right(suffix_match) + 1, 0)


def banned_tokens(history, suffix_match, index, ngram_size, vocab_size):
    """Bool `(N, V)`: the tokens that would repeat an n-gram if emitted at `index`.

    `history (N, L)` holds `index` emitted tokens and `suffix_match` their carry.
    """
    num_rows, length = ops.shape(history)[0], ops.shape(history)[1]
    positions = ops.arange(length, dtype="int32")[None, :]
    repeats = ops.logical_and(
        positions < index, _shift_right(suffix_match) >= ngram_size - 1
    )  # (N, L): emitting history[:, j] again would repeat an n-gram
    if not isinstance(ngram_size, int):
        repeats = ops.logical_and(repeats, ngram_size > 0)
    rows = ops.broadcast_to(ops.arange(num_rows, dtype="int32")[:, None], ops.shape(history))
    indices = ops.reshape(ops.stack([rows, ops.cast(history, "int32")], axis=-1), (-1, 2))
    counts = ops.scatter(
        indices, ops.reshape(ops.cast(repeats, "int32"), (-1,)), (num_rows, vocab_size)
    )
    return counts > 0
