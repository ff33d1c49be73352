"""A command's way with errors: one `error: ...` line and exit status 1, the traceback behind
`--debug` or `ZOO_DEBUG=1`."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence

DEBUG_ENVIRONMENT_VARIABLE = "ZOO_DEBUG"
DEBUG_FLAG = "--debug"
DEBUG_HINT = f"or set {DEBUG_ENVIRONMENT_VARIABLE}=1"
# Errors that zoo raises for a user to fix: their message is the whole story. Any other
# exception is shown with its type (`error: KeyError: 'x'`), which then says more.
_USER_ERRORS = (ValueError, TypeError, OSError)


def run_main(main: Callable[[list[str]], object], argv: Sequence[str] | None = None):
    """Runs a recipe's `main(argv)` as a command: an exception becomes an `error: ...` line on
    stderr and exit status 1, not a Python traceback.

    `--debug` anywhere in `argv` (removed before `main` sees it) or `ZOO_DEBUG` set to
    anything but "", "0", "false" or "no" lets the exception through, traceback and all.
    `KeyboardInterrupt` and `SystemExit` (argparse's usage errors, status 2) pass untouched.

    Args:
        main: the recipe's `main`, called with the arguments as a list.
        argv: the arguments; `sys.argv[1:]` by default.

    Returns:
        What `main` returns.

    Example: the last lines of a recipe,

    ```python
    if __name__ == "__main__":
        run_main(main)
    ```
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = DEBUG_FLAG in argv or debug_requested()
    argv = [argument for argument in argv if argument != DEBUG_FLAG]
    try:
        return main(argv)
    except Exception as error:
        if debug:
            raise
        sys.stdout.flush()  # What the run printed comes before the error.
        print(f"error: {describe_error(error)}", file=sys.stderr)
        print(f"(for the traceback, run again with {DEBUG_FLAG} {DEBUG_HINT})", file=sys.stderr)
        raise SystemExit(1) from None


def debug_requested() -> bool:
    """Whether `ZOO_DEBUG` asks for tracebacks."""
    value = os.environ.get(DEBUG_ENVIRONMENT_VARIABLE, "")
    return value.strip().lower() not in ("", "0", "false", "no")


def describe_error(error: BaseException) -> str:
    """The message of an error for a user: the message alone for zoo's own kinds of error
    (`ValueError`, `TypeError`, `OSError`), else prefixed with the type's name; the type's
    name alone when there is no message."""
    message = str(error).strip()
    if not message:
        return type(error).__name__
    if isinstance(error, _USER_ERRORS):
        return message
    return f"{type(error).__name__}: {message}"
