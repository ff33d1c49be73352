"""The code of the project's Markdown pages: fenced blocks and command lines, with line numbers.

A fenced block is run or checked by `test_docs.py` according to its language: ```python blocks
run (or, after `<!-- no-run: why -->`, compile and have their imported names checked);
```bash, ```sh and ```console blocks have their command lines checked (in ```console, only the
lines after a `$ ` prompt are commands). Inline code spans that start like a command
(`python -m ...`, `zoo ...`, `make ...`) are checked the same way.
"""

from __future__ import annotations

import dataclasses
import re
import shlex
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
NO_RUN = re.compile(r"<!--\s*no-run:\s*(?P<why>.+?)\s*-->")
FENCE = re.compile(r"^(?P<indent>\s*)(?P<fence>```+|~~~+)\s*(?P<info>[^`\s]*)")
SHELL_LANGUAGES = {"bash", "sh", "shell", "console"}
INLINE_CODE = re.compile(r"(?<!`)`([^`\n]+(?:\n[^`\n]+)?)`(?!`)")
INLINE_COMMAND = re.compile(r"^(?:[A-Z_]+=\S+\s+)*(?:python3?\s+(?:-m\s+)?\S|zoo\s+[a-z]|make\s)")


def pages() -> list[Path]:
    """README.md and every page of docs/ (the generated results pages left out)."""
    found = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    return [path for path in found if path.exists()]


@dataclasses.dataclass(frozen=True)
class Block:
    path: Path
    line: int  # of the first line of code, 1-based
    language: str
    code: str
    no_run: str | None  # why the block is not run, from `<!-- no-run: ... -->`

    @property
    def where(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"


def blocks(path: Path) -> list[Block]:
    lines = path.read_text(encoding="utf-8").splitlines()
    found, index = [], 0
    while index < len(lines):
        opening = FENCE.match(lines[index])
        if not opening:
            index += 1
            continue
        fence, indent, fence_line = opening["fence"], len(opening["indent"]), index
        previous = next((line for line in reversed(lines[:index]) if line.strip()), "")
        marker = NO_RUN.search(previous)
        body, index = [], index + 1
        while index < len(lines) and not lines[index].strip().startswith(fence):
            body.append(lines[index][indent:] if lines[index][:indent].isspace() else lines[index])
            index += 1
        found.append(
            Block(
                path,
                fence_line + 2,  # 1-based: the line after the fence
                opening["info"].lower(),
                "\n".join(body) + "\n",
                marker["why"] if marker else None,
            )
        )
        index += 1
    return found


@dataclasses.dataclass(frozen=True)
class Command:
    """One command line: `python -m MODULE ...`, `python SCRIPT.py ...`, `zoo SUB ...`,
    `make TARGET ...`."""

    where: str
    text: str
    kind: str  # "module", "script", "zoo" or "make"
    target: str  # the module, the script's path, the zoo subcommand, the make target
    flags: tuple[str, ...]  # --long-flags as written (without "=value")
    assignments: tuple[str, ...] = ()  # make's VARIABLE=value names


def _logical_lines(code: str, first_line: int, prompts_only: bool):
    """(line number, text) of each command line: continuations joined; in a console block,
    only the lines after a `$ ` prompt."""
    pending, start = "", None
    for offset, raw in enumerate(code.splitlines()):
        line = raw.rstrip()
        if not pending:
            if prompts_only:
                if not line.lstrip().startswith("$ "):
                    continue
                line = line.lstrip()[2:]
            start = first_line + offset
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        yield start, pending + line
        pending = ""
    if pending:
        yield start, pending


def _words(text: str) -> list[str] | None:
    try:
        lexer = shlex.shlex(text, posix=True, punctuation_chars=";&|")
        lexer.whitespace_split = True
        lexer.commenters = "#"
        return list(lexer)
    except ValueError:  # unbalanced quotes: not a command line this checker reads
        return None


def _is_python(word: str) -> bool:
    return re.fullmatch(r"(?:\S*/)?python(?:3(?:\.\d+)?)?", word) is not None


def parse_command(where: str, text: str) -> list[Command]:
    words = _words(text)
    if words is None:
        return []
    commands, simple = [], []
    for word in [*words, ";"]:
        if word and set(word) <= set(";&|"):
            if simple:
                commands.extend(_parse_simple(where, text, simple))
            simple = []
        else:
            simple.append(word)
    return commands


def _parse_simple(where: str, text: str, words: list[str]) -> list[Command]:
    # Leading VARIABLE=value assignments and wrappers (`taskset -c 0`, `time`, `nohup`).
    while words and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*=.*", words[0]):
        words = words[1:]
    while words and words[0] in {"time", "nohup", "exec"}:
        words = words[1:]
    if words and words[0] == "taskset":
        words = words[1:]
        while words and words[0].startswith("-"):
            words = words[2:] if words[0] == "-c" else words[1:]
        if words and words[0][0].isdigit():  # the CPU list
            words = words[1:]
    if not words:
        return []

    def long_flags(rest):
        flags = []
        for word in rest:
            if word == "--":
                break
            if word.startswith("--") and len(word) > 2:
                flags.append(word.split("=", 1)[0])
        return tuple(flags)

    head = words[0]
    if _is_python(head):
        rest = words[1:]
        if rest[:1] == ["-m"] and len(rest) > 1:
            return [Command(where, text, "module", rest[1], long_flags(rest[2:]))]
        if rest and rest[0].endswith(".py"):
            return [Command(where, text, "script", rest[0], long_flags(rest[1:]))]
        return []
    if head == "zoo" and len(words) > 1:
        top = [word for word in words[1:] if word.startswith("-")]
        positional = [word for word in words[1:] if not word.startswith("-")]
        if not positional:
            return [Command(where, text, "zoo", "", long_flags(top))]
        return [Command(where, text, "zoo", positional[0], long_flags(words[1:]))]
    if head == "make":
        targets = [word for word in words[1:] if not word.startswith("-") and "=" not in word]
        assignments = tuple(word.split("=", 1)[0] for word in words[1:] if "=" in word)
        return [
            Command(where, text, "make", target, (), assignments)
            for target in targets or ["<default>"]
        ]
    return []


def commands(path: Path) -> list[Command]:
    """Every command line of the page's shell blocks and inline code spans."""
    found = []
    for block in blocks(path):
        if block.language not in SHELL_LANGUAGES:
            continue
        for line, text in _logical_lines(block.code, block.line, block.language == "console"):
            found.extend(parse_command(f"{path.relative_to(ROOT)}:{line}", text))
    # Inline code outside the fences (fenced lines blanked, so offsets keep their line numbers);
    # a span may wrap onto the next line of its paragraph.
    prose, in_fence = [], False
    for line in path.read_text(encoding="utf-8").splitlines():
        if FENCE.match(line):
            in_fence = not in_fence
            prose.append("")
        else:
            prose.append("" if in_fence else line)
    text = "\n".join(prose)
    for span in INLINE_CODE.finditer(text):
        code = " ".join(span[1].split())
        if INLINE_COMMAND.match(code) and "..." not in code.split()[0]:
            number = text.count("\n", 0, span.start()) + 1
            found.extend(parse_command(f"{path.relative_to(ROOT)}:{number}", code))
    return found
