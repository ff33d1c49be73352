"""The docs a user copies from work: every ```python block of README.md and docs/*.md runs,
every command line names a module, script, `zoo` subcommand or make target that exists with
flags it accepts, and every relative link points at a file.

A Python block that needs what CI does not have (a trained run folder, a real export, several
machines) follows `<!-- no-run: why -->`; it must still compile, and every name it imports or
reads from an imported module (`zoo.load`, `tf.saved_model.load`) must exist. The other blocks
of a page run in order in one namespace, in a temporary working directory.
"""

from __future__ import annotations

import ast
import builtins
import importlib
import json
import re
import subprocess
import sys
import traceback
import types

import pytest

from tests.docs.markdown_blocks import ROOT, blocks, commands, pages

PAGES = pages()
PAGE_IDS = [str(path.relative_to(ROOT)) for path in PAGES]
# `zoo` subcommands that the command-line work is adding: until they exist, a page that
# names them is an expected failure (and one more page than that is a plain failure).
PENDING_ZOO_COMMANDS = {"list", "info", "export", "predict"}
PROJECT_FOLDERS = {"recipes", "benchmarks", "experiments", "zoo", "tests"}


# Python blocks ----------------------------------------------------------------------------


def _imported_names(tree: ast.AST) -> dict[str, str]:
    """{local name: dotted path} of the block's imports."""
    names = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    names[alias.asname] = alias.name
                else:
                    names[alias.name.split(".")[0]] = alias.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            for alias in node.names:
                names[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return names


def _resolve(dotted: str):
    """The object a dotted path names: modules imported as needed. Raises AttributeError or
    ImportError naming what is missing."""
    parts = dotted.split(".")
    value = importlib.import_module(parts[0])
    for index, part in enumerate(parts[1:], start=1):
        try:
            value = getattr(value, part)
        except AttributeError:
            if not isinstance(value, types.ModuleType):
                raise
            value = importlib.import_module(".".join(parts[: index + 1]))
    return value


def _attribute_chain(node: ast.Attribute) -> list[str] | None:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        return [node.id, *reversed(parts)]
    return None


def check_names(block) -> list[str]:
    """What a block that is not run names but does not exist, each with its line."""
    tree = ast.parse(block.code, filename=block.where)
    imported = _imported_names(tree)
    page = block.path.relative_to(ROOT)
    problems = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            for dotted in _imported_names(node).values():
                try:
                    _resolve(dotted)
                except (ImportError, AttributeError) as error:
                    line = block.line + node.lineno - 1
                    problems.append(f"{page}:{line}: `{dotted}` does not exist ({error})")
    for node in ast.walk(tree):
        if not isinstance(node, ast.Attribute) or isinstance(node.ctx, ast.Store):
            continue
        chain = _attribute_chain(node)
        if not chain or chain[0] not in imported:
            continue
        dotted = ".".join([imported[chain[0]], *chain[1:]])
        try:
            value = _resolve(imported[chain[0]])
            for part in chain[1:]:
                if not isinstance(value, (types.ModuleType, type)):
                    break  # a value's attributes are the value's business
                try:
                    value = getattr(value, part)
                except AttributeError:
                    if not isinstance(value, types.ModuleType):
                        raise
                    value = importlib.import_module(f"{value.__name__}.{part}")
        except (ImportError, AttributeError):
            line = block.line + node.lineno - 1
            problems.append(f"{page}:{line}: `{dotted}` does not exist")
    return sorted(set(problems))


@pytest.mark.parametrize("page", PAGES, ids=PAGE_IDS)
def test_python_blocks_run(page, tmp_path, monkeypatch):
    python_blocks = [block for block in blocks(page) if block.language in ("python", "py")]
    if not python_blocks:
        pytest.skip("no Python blocks")
    import keras

    monkeypatch.chdir(tmp_path)
    namespace = {"__name__": "__docs__", "__builtins__": builtins}
    problems = []
    try:
        for block in python_blocks:
            try:
                code = compile(block.code, block.where, "exec")
            except SyntaxError as error:
                problems.append(f"{block.where}: does not compile: {error}")
                continue
            if block.no_run:
                problems.extend(check_names(block))
                continue
            try:
                exec(code, namespace)  # noqa: S102 - the page's own example
            except Exception as error:  # noqa: BLE001 - reported with the block's place
                lines = [
                    frame.lineno
                    for frame in traceback.extract_tb(error.__traceback__)
                    if frame.filename == block.where
                ]
                line = block.line + lines[-1] - 1 if lines else block.line
                page = block.path.relative_to(ROOT)
                problems.append(f"{page}:{line}: {type(error).__name__}: {error}")
                break  # the later blocks may depend on this one
    finally:
        keras.config.set_dtype_policy("float32")
        keras.backend.clear_session()
    assert not problems, "\n".join(problems)


def test_the_no_run_marker_names_a_reason():
    for page in PAGES:
        for block in blocks(page):
            if block.no_run is not None:
                assert block.no_run.strip(), f"{block.where}: say why the block is not run"


# Command lines ----------------------------------------------------------------------------


def _model_argument(text: str) -> list[str]:
    found = re.search(r"--model[ =]([a-z_0-9]+)\b", text)
    return ["--model", found[1]] if found else []


@pytest.fixture(scope="module")
def accepted_flags():
    """{(module or script or "zoo", its --model arguments): {"flags", "subcommands"} or
    {"error"}}, read in one subprocess for every command of every page."""
    wanted = []
    for page in PAGES:
        for command in commands(page):
            if command.kind == "script" and command.target.split("/")[0] not in PROJECT_FOLDERS:
                continue
            if command.kind in ("module", "script"):
                key = (command.target, tuple(_model_argument(command.text)))
            elif command.kind == "zoo":
                key = ("zoo", ())
            else:
                continue
            if key not in wanted:
                wanted.append(key)
    if not wanted:
        return {}
    result = subprocess.run(
        [sys.executable, str(ROOT / "tests" / "docs" / "command_flags.py")],
        input=json.dumps([[name, list(arguments)] for name, arguments in wanted]),
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
        env={**__import__("os").environ, "PYTHONPATH": str(ROOT)},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return dict(zip(wanted, json.loads(result.stdout.splitlines()[-1])))


def _make_targets() -> tuple[set[str], set[str]]:
    text = (ROOT / "Makefile").read_text()
    targets = set(re.findall(r"^([A-Za-z0-9_.-]+)\s*:(?!=)", text, flags=re.MULTILINE))
    variables = set(re.findall(r"^([A-Za-z_][A-Za-z0-9_]*)\s*[?:+]?=", text, flags=re.MULTILINE))
    variables |= set(re.findall(r"^export\s+([A-Za-z_][A-Za-z0-9_]*)", text, flags=re.MULTILINE))
    return targets, variables


def command_problems(page, accepted) -> tuple[list[str], list[str]]:
    """(problems, pending): what is wrong with the page's commands; `pending` lists the uses
    of `zoo` subcommands that are announced but not there yet."""
    targets, variables = _make_targets()
    problems, pending = [], []
    for command in commands(page):
        where = f"{command.where}: `{command.text.strip()}`"
        if command.kind == "make":
            if command.target == "<default>" or command.target not in targets:
                problems.append(f"{where}: no make target {command.target!r} in the Makefile")
            for variable in command.assignments:
                if variable not in variables:
                    problems.append(f"{where}: the Makefile has no variable {variable}")
            continue
        if command.kind == "script" and command.target.split("/")[0] not in PROJECT_FOLDERS:
            continue  # a script of the user's own (`python train.py`)
        if command.kind == "script" and not (ROOT / command.target).is_file():
            problems.append(f"{where}: no script {command.target}")
            continue
        if command.kind in ("module", "script"):
            key = (command.target, tuple(_model_argument(command.text)))
        else:
            key = ("zoo", ())
        read = accepted[key]
        if "error" in read:
            problems.append(f"{where}: {command.target} cannot be run ({read['error']})")
            continue
        flags = set(read["flags"])
        if command.kind == "zoo":
            if command.target:
                if command.target not in read["subcommands"]:
                    message = f"{where}: `zoo` has no subcommand {command.target!r}"
                    (pending if command.target in PENDING_ZOO_COMMANDS else problems).append(
                        message
                    )
                    continue
                flags |= set(read["subcommands"][command.target])
        for flag in command.flags:
            if flag not in flags:
                name = "zoo " + command.target if command.kind == "zoo" else command.target
                problems.append(f"{where}: {name} has no flag {flag}")
    return problems, pending


@pytest.mark.parametrize("page", PAGES, ids=PAGE_IDS)
def test_commands_exist_with_their_flags(page, accepted_flags):
    if not commands(page):
        pytest.skip("no commands")
    problems, pending = command_problems(page, accepted_flags)
    assert not problems, "\n".join(problems + pending)
    if pending:
        pytest.xfail("announced `zoo` subcommands not there yet:\n" + "\n".join(pending))


# Links ------------------------------------------------------------------------------------

LINK = re.compile(r"\]\(([^)\s#]+)(?:#[^)]*)?\)")


@pytest.mark.parametrize("page", PAGES, ids=PAGE_IDS)
def test_relative_links_point_at_files(page):
    problems = []
    for number, line in enumerate(page.read_text(encoding="utf-8").splitlines(), start=1):
        for target in LINK.findall(line):
            if re.match(r"[a-z]+:", target):
                continue  # http:, https:, mailto:
            if not (page.parent / target).exists():
                problems.append(f"{page.relative_to(ROOT)}:{number}: no file {target}")
    assert not problems, "\n".join(problems)
