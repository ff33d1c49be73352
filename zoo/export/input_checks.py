"""Checks of a signature's scalar inputs, inside the graph.

A request whose setting is out of range (`beam_width=0`, `max_length=100000`) must fail
with a message that names the input, the range it accepts and the value received — not
with a bare "Graph execution error" from deep inside a search, nor by running for hours.
`require_in_range` returns the input behind an assertion, so every op that reads the
returned value runs after the check; a failed check is a `tf.errors.InvalidArgumentError`
(HTTP 400 / `INVALID_ARGUMENT` from TensorFlow Serving) whose message reads, e.g.,
`beam_width must be between 1 and 64; received 0.`

The same words describe each range in the model card (`describe_range`).
"""

from __future__ import annotations

import tensorflow as tf


def describe_range(minimum=None, maximum=None) -> str:
    """`"between 1 and 64"`, `"at least 0"` or `"at most 8"`."""
    if minimum is not None and maximum is not None:
        return f"between {minimum} and {maximum}"
    if minimum is not None:
        return f"at least {minimum}"
    if maximum is not None:
        return f"at most {maximum}"
    raise ValueError("Give a `minimum`, a `maximum` or both.")


def require(value, condition, message: str):
    """`value`, once `condition` has been checked: else an `InvalidArgumentError` whose
    message is `message` with `{}` replaced by `value`."""
    value = tf.convert_to_tensor(value)
    check = tf.debugging.Assert(condition, [tf.strings.format(message, value)])
    with tf.control_dependencies([check]):
        return tf.identity(value)


def require_in_range(value, name: str, minimum=None, maximum=None, *, note: str = ""):
    """`value` (a scalar tensor), once `minimum <= value <= maximum` has been checked.

    Either bound may be None (no bound), not both. A NaN is out of every range. `note` is
    appended to the message (say what the limit protects, or how to get past it).
    """
    value = tf.convert_to_tensor(value)
    inside = tf.constant(True)
    if minimum is not None:
        inside = inside & (value >= tf.cast(minimum, value.dtype))
    if maximum is not None:
        inside = inside & (value <= tf.cast(maximum, value.dtype))
    message = f"{name} must be {describe_range(minimum, maximum)}; received {{}}."
    return require(value, inside, message + (f" {note}" if note else ""))
