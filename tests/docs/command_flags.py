"""Prints, as JSON, the command-line flags each named module or script accepts.

    echo '[["recipes.translate", ["--model", "lstm"]], ["zoo", []]]' \
        | python tests/docs/command_flags.py

Each is run as `__main__` with its given arguments and `--help` (a recipe's flags depend on
its `--model`), with `argparse.ArgumentParser.parse_known_args`
wrapped so that every parser that parses (a pre-parser of a few flags, the full parser, the
subcommands' parsers) has its option strings recorded first; the help text goes nowhere.
`zoo` is the console script (`zoo.cli`). One process reads them all, so TensorFlow is
imported once. Output: a list, in the order asked, of {"flags": [...], "subcommands":
{name: [...]}} or {"error": "..."}.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import runpy
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def _options(parser: argparse.ArgumentParser) -> tuple[set[str], dict[str, set[str]]]:
    flags = {option for option in parser._option_string_actions if option.startswith("--")}
    subcommands = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, subparser in action.choices.items():
                subcommands[name] = _options(subparser)[0]
    return flags, subcommands


def read(name: str, arguments: list[str]) -> dict:
    flags, subcommands = set(), {}
    original = argparse.ArgumentParser.parse_known_args

    def recording(self, args=None, namespace=None):
        own, subs = _options(self)
        flags.update(own)
        for key, value in subs.items():
            subcommands.setdefault(key, set()).update(value)
        return original(self, args, namespace)

    argparse.ArgumentParser.parse_known_args = recording
    argv = sys.argv
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            sys.argv = [name, *arguments, "--help"]
            try:
                if name == "zoo":
                    from zoo.cli import main

                    main([*arguments, "--help"])
                elif name.endswith(".py"):
                    runpy.run_path(name, run_name="__main__")
                else:
                    runpy.run_module(name, run_name="__main__", alter_sys=True)
            except SystemExit:
                pass
    except Exception as error:  # noqa: BLE001 - reported to the test, which names the page
        return {"error": f"{type(error).__name__}: {error}"}
    finally:
        argparse.ArgumentParser.parse_known_args = original
        sys.argv = argv
    if not flags and not subcommands:
        return {"error": "parsed no arguments with argparse when given --help"}
    return {
        "flags": sorted(flags),
        "subcommands": {key: sorted(value) for key, value in subcommands.items()},
    }


if __name__ == "__main__":
    print(json.dumps([read(name, arguments) for name, arguments in json.load(sys.stdin)]))
