"""Checks of a signature's scalar inputs, inside the graph.

A request whose setting is out of range (`beam_width=0`, `max_length=100000`) must fail
with a message that names the input, the range it accepts and the value received — not
with a bare "Graph execution error" from deep inside a search, nor run without bound.
`require` and `require_in_range` return the input behind an assertion, so every op that
reads the returned value runs after the check; a failed check is a
`tf.errors.InvalidArgumentError` (`INVALID_ARGUMENT` from TensorFlow Serving) whose message
reads, e.g., `beam_width must be between 1 and 16; received 0.`

The export options that set upper bounds (`beam_width_limit`, ...) are checked in Python by
`check_limit`, and those that set the defaults `serving_default` sends (`beam_width`, ...)
by `check_default`.
"""

from __future__ import annotations

import tensorflow as tf


def describe_range(minimum=None, maximum=None) -> str:
    """`"between 1 and 16"`, `"at least 0"` or `"at most 8"`."""
    if minimum is not None and maximum is not None:
        return f"between {minimum} and {maximum}"
    if minimum is not None:
        return f"at least {minimum}"
    if maximum is not None:
        return f"at most {maximum}"
    raise ValueError("Give a `minimum`, a `maximum` or both.")


# Said after a request above an export's limit (`beam_width_limit`, ...).
LIMIT_NOTE = "(The upper bound is the export's; a new export can set another.)"


def check_limit(name: str, value) -> int:
    """An export option that bounds a request (`beam_width_limit`, ...): an int >= 1."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"`{name}` must be an int >= 1; received {value!r}.")
    return value


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


def check_default(name: str, value, fallback: int, minimum: int, maximum: int | None = None):
    """An export option that sets a request setting's default (what `serving_default`
    sends, e.g. `beam_width`): an int in `[minimum, maximum]`. None gives `fallback`, cut
    to `maximum` (an export whose limit is below the usual default serves at its limit)."""
    if value is None:
        return fallback if maximum is None else min(fallback, maximum)
    if (
        isinstance(value, bool)
        or not isinstance(value, int)
        or value < minimum
        or (maximum is not None and value > maximum)
    ):
        note = f" {LIMIT_NOTE}" if maximum is not None else ""
        raise ValueError(
            f"`{name}` (the setting serving_default uses) must be an int "
            f"{describe_range(minimum, maximum)}; received {value!r}.{note}"
        )
    return value
