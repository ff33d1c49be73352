"""Long-range memory tasks of Hochreiter & Schmidhuber 1997, generated deterministically.

*Recall* (the paper's experiment 2, "no local regularities"): the first token of a length-`T`
sequence is one of `num_symbols` signal symbols, the `T - 1` tokens after it are distractors
drawn at random from a separate alphabet; the label is the first symbol. A model that reads
left to right and answers at the end must carry one token across `T - 1` steps. Chance is
`1 / num_symbols`.

```
token id   0      1 ... num_symbols     num_symbols + 1 ... num_symbols + num_distractors
meaning    pad    signal symbols        distractors
label      -      id - 1                -
```

*Adding* (the paper's experiment 4): `T` steps of `(value, marker)`; values are uniform in
(0, 1], exactly two steps carry marker 1.0, the target is the sum of their values. Always
answering 1.0 (the mean of the target) scores the target's variance, 2/12 = 0.167: the
baseline a model must beat. The markers sit one in each half of the sequence (the common
form of Le, Jaitly & Hinton 2015), so at least `T / 2` steps separate the first marker from
the end. Values are never 0.0, so no real step is all zeros (zoo's padding convention for
features).

Each generator draws its random pieces from `numpy.random.default_rng(seed)` and assembles
them with a pure function (`recall_sequences`, `adding_sequences`) that the tests check on
hand-made inputs.

Example:
>>> token_ids, labels = recall_task(num_examples=2, length=5, num_symbols=4, seed=0)
>>> token_ids.shape, labels.shape
((2, 5), (2,))
>>> bool(((token_ids[:, 0] - 1) == labels).all())
True
>>> features, targets = adding_task(num_examples=3, length=10, seed=0)
>>> features.shape, targets.shape
((3, 10, 2), (3, 1))
"""

from __future__ import annotations

import numpy as np

PAD = 0
ADDING_NUM_FEATURES = 2  # (value, marker)
# Always answering E[sum] = 1.0 scores Var[U1 + U2] = 2 / 12.
ADDING_BASELINE_MSE = 1.0 / 6.0


def recall_vocab_size(num_symbols: int, num_distractors: int) -> int:
    """Token ids used by `recall_task`: padding, the signal symbols, the distractors."""
    return 1 + num_symbols + num_distractors


def recall_chance(num_symbols: int) -> float:
    """The accuracy of guessing: `1 / num_symbols`."""
    return 1.0 / num_symbols


def _check_int(name, value, minimum):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"`{name}` must be an integer >= {minimum}, received {value!r}.")


def recall_sequences(
    first_symbols: np.ndarray, distractors: np.ndarray, num_symbols: int
) -> tuple[np.ndarray, np.ndarray]:
    """Assemble recall sequences from their pieces.

    Args:
        first_symbols: `(N,)` ints in `[0, num_symbols)`: which signal symbol opens each row.
        distractors: `(N, T - 1)` ints in `[0, num_distractors)`: the distractors after it.
        num_symbols: the number of signal symbols.

    Returns:
        `token_ids (N, T)` int32 (`1 + first_symbol`, then `1 + num_symbols + distractor`)
        and `labels (N,)` int32 (the first symbol).

    >>> ids, labels = recall_sequences(np.array([2]), np.array([[0, 1, 0]]), num_symbols=3)
    >>> ids.tolist(), labels.tolist()
    ([[3, 4, 5, 4]], [2])
    """
    first_symbols = np.asarray(first_symbols)
    distractors = np.asarray(distractors)
    if distractors.ndim != 2 or first_symbols.shape != distractors.shape[:1]:
        raise ValueError(
            "Expected first_symbols (N,) and distractors (N, T - 1), received shapes "
            f"{first_symbols.shape} and {distractors.shape}."
        )
    if first_symbols.size and not (0 <= first_symbols.min() <= first_symbols.max() < num_symbols):
        raise ValueError(f"first_symbols must lie in [0, {num_symbols}).")
    first_ids = 1 + first_symbols[:, None]
    distractor_ids = 1 + num_symbols + distractors
    token_ids = np.concatenate([first_ids, distractor_ids], axis=1).astype("int32")
    return token_ids, first_symbols.astype("int32")


def recall_task(
    num_examples: int,
    length: int,
    num_symbols: int = 4,
    num_distractors: int = 8,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """`num_examples` recall sequences of `length` tokens: `(token_ids, labels)`.

    The same arguments always give the same arrays. Feed `token_ids` to a `classify` model
    with `vocab_size=recall_vocab_size(num_symbols, num_distractors)` and
    `num_classes=num_symbols`.
    """
    _check_int("num_examples", num_examples, 1)
    _check_int("length", length, 2)
    _check_int("num_symbols", num_symbols, 2)
    _check_int("num_distractors", num_distractors, 1)
    rng = np.random.default_rng(seed)
    first_symbols = rng.integers(0, num_symbols, size=num_examples)
    distractors = rng.integers(0, num_distractors, size=(num_examples, length - 1))
    return recall_sequences(first_symbols, distractors, num_symbols)


def adding_sequences(
    values: np.ndarray, first_positions: np.ndarray, second_positions: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Assemble adding-problem sequences from their pieces.

    Args:
        values: `(N, T)` floats, none of them 0.0.
        first_positions, second_positions: `(N,)` distinct step indices of the two markers.

    Returns:
        `features (N, T, 2)` float32 (`[..., 0]` the values, `[..., 1]` the markers) and
        `targets (N, 1)` float32, the sum of the two marked values.

    >>> features, targets = adding_sequences(
    ...     np.array([[0.5, 0.25, 0.125, 1.0]]), np.array([1]), np.array([3]))
    >>> features[0, :, 1].tolist(), targets.tolist()
    ([0.0, 1.0, 0.0, 1.0], [[1.25]])
    """
    values = np.asarray(values, dtype="float64")
    first_positions = np.asarray(first_positions)
    second_positions = np.asarray(second_positions)
    num_examples, length = values.shape
    if first_positions.shape != (num_examples,) or second_positions.shape != (num_examples,):
        raise ValueError(
            f"Expected one first and one second marker position per row ({num_examples},), "
            f"received shapes {first_positions.shape} and {second_positions.shape}."
        )
    if np.any(first_positions == second_positions):
        raise ValueError("The two markers of a row must sit at different steps.")
    if np.any(values == 0.0):
        raise ValueError("Values must be non-zero: an all-zero step reads as padding.")
    rows = np.arange(num_examples)
    markers = np.zeros((num_examples, length))
    markers[rows, first_positions] = 1.0
    markers[rows, second_positions] = 1.0
    features = np.stack([values, markers], axis=-1).astype("float32")
    # Sum the float32 values the model sees, so targets match its inputs exactly.
    marked = features[rows, first_positions, 0] + features[rows, second_positions, 0]
    return features, marked[:, None].astype("float32")


def adding_task(num_examples: int, length: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """`num_examples` adding-problem sequences of `length` steps: `(features, targets)`.

    One marker is uniform over the first `length // 2` steps, the other over the rest. Feed
    `features` to a `regress` model with `num_features=2` and `num_outputs=1`.
    """
    _check_int("num_examples", num_examples, 1)
    _check_int("length", length, 2)
    rng = np.random.default_rng(seed)
    values = 1.0 - rng.random((num_examples, length))  # (0, 1]: never the padding value 0.0
    half = length // 2
    first_positions = rng.integers(0, half, size=num_examples)
    second_positions = rng.integers(half, length, size=num_examples)
    return adding_sequences(values, first_positions, second_positions)
