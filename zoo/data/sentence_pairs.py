"""Tab-separated English→French sentence pairs (the Tatoeba / manythings.org format).

Each line of such a file is `English<TAB>French`, optionally followed by more columns (an
attribution, in newer releases) that are ignored. Real files carry a few surprises —
narrow no-break spaces before French punctuation, the odd malformed line — so the reader
normalises whitespace and skips malformed lines, reporting each one, instead of crashing.

What is refused up front, with an error that names the file: no file, a directory, an empty
file, a binary file (NUL bytes in its first 64 KiB, or UTF-16), and a file that is mostly not
pairs — more than half of its non-blank lines malformed, which is what a wrong `--data` (a CSV,
a program, a text in another format) looks like; the error gives the counts by reason and the
first bad line numbers. A line of more than 10,000 bytes is skipped as malformed, not read: no
sentence pair is that long (Tatoeba's longest line is 647 characters), and cutting both sides
to the model's length would pair sentences that are not translations of each other.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import random
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

from zoo.data.text_files import read_text_bytes

logger = logging.getLogger(__name__)

# How many skipped line numbers the warning names before it says "...".
_NUM_REPORTED_LINES = 5

# Longer lines are skipped as malformed (see the module docstring).
MAX_LINE_BYTES = 10_000
# The default share of non-blank lines that may be malformed before a file is refused.
MAX_MALFORMED_SHARE = 0.5
_EMPTY_LINE = "empty line"

# Spaces that French typography puts before `!`, `?`, `:` and inside `« »`.
_NO_BREAK_SPACES = ("\u202f", "\u00a0")


def normalize_text(text: str) -> str:
    """Normalises the whitespace of one sentence.

    Narrow and ordinary no-break spaces (U+202F, U+00A0) become plain spaces, runs of
    whitespace become one space, and the ends are stripped. Nothing else changes: case,
    accents and punctuation are kept, so BLEU stays case-sensitive. A normalised string
    survives a round trip through `SubwordTokenizer` unchanged.

    Args:
        text: str. One sentence.

    Returns:
        The normalised sentence.

    Example:

    >>> normalize_text("Va\u202f!  ")
    'Va !'
    """
    for space in _NO_BREAK_SPACES:
        text = text.replace(space, " ")
    return " ".join(text.split())


@dataclasses.dataclass(frozen=True)
class SentencePairs:
    """The sentence pairs read from one file, and the lines that were skipped.

    Attributes:
        pairs: `(english, french)` pairs, normalised, in file order.
        skipped: `(line_number, reason)` for every malformed line; line numbers are
            1-based, as an editor shows them.
        path: the file that was read.
    """

    pairs: list[tuple[str, str]]
    skipped: list[tuple[int, str]]
    path: Path

    def __len__(self) -> int:
        return len(self.pairs)


def _parse_line(raw_line: bytes) -> tuple[str, str] | str:
    """Returns the `(english, french)` pair of one line, or why the line is malformed."""
    if len(raw_line) > MAX_LINE_BYTES:
        return f"longer than {MAX_LINE_BYTES:,} bytes"
    if b"\x00" in raw_line:
        return "NUL byte"
    try:
        line = raw_line.decode("utf-8")
    except UnicodeDecodeError:
        return "invalid UTF-8"
    if not line.strip():
        return _EMPTY_LINE
    fields = line.split("\t")
    if len(fields) < 2:
        return "no tab"
    english, french = normalize_text(fields[0]), normalize_text(fields[1])
    if not english:
        return "empty English side"
    if not french:
        return "empty French side"
    return english, french


def read_sentence_pairs(
    path: str | os.PathLike, max_malformed_share: float = MAX_MALFORMED_SHARE
) -> SentencePairs:
    """Reads tab-separated English→French sentence pairs.

    The file is read as bytes and decoded line by line, so invalid UTF-8 costs only the
    line it is on. Columns after the second are ignored. Lines with no tab, an empty side,
    invalid UTF-8, a NUL byte or more than `MAX_LINE_BYTES` bytes are skipped, listed in
    `SentencePairs.skipped` and summarised in one `logging` warning. Blank lines are listed
    too, but do not count as malformed.

    Args:
        path: the file, e.g. `fra.txt` from https://www.manythings.org/anki/.
        max_malformed_share: float in `[0, 1]`. The file is refused when more than this
            share of its non-blank lines is malformed: by default, when the malformed lines
            outnumber the pairs. `1.0` reads whatever pairs a file has.

    Returns:
        A `SentencePairs`.

    Raises:
        FileNotFoundError: when there is no file at `path`.
        ValueError: when `path` is a directory, the file is empty or binary, no line holds a
            pair, or more than `max_malformed_share` of its non-blank lines are malformed;
            the message names the file, counts the lines by reason and gives the first
            malformed line numbers.

    Example:

    ```python
    corpus = read_sentence_pairs("../shared/data/fra-eng/fra.txt")
    corpus.pairs[0]  # ('Go.', 'Va !')
    ```
    """
    if not 0.0 <= max_malformed_share <= 1.0:
        raise ValueError(
            f"`max_malformed_share` must be in [0, 1]; received {max_malformed_share}. "
            f"Pass the share of non-blank lines that may be malformed (default "
            f"{MAX_MALFORMED_SHARE})."
        )
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(
            f"No sentence-pair file at '{path}' (resolved: '{path.resolve()}'). Pass the path "
            "of a tab-separated English→French file such as `fra.txt` from "
            "https://www.manythings.org/anki/, or pass no data to use the embedded "
            "synthetic corpus (`zoo.data.generate_en_fr_pairs`)."
        )
    if path.is_dir():
        raise ValueError(
            f"'{path}' is a directory; pass the sentence-pair file inside it "
            f"(e.g. '{path / 'fra.txt'}')."
        )
    data = read_text_bytes(
        path,
        expected="a tab-separated file of `English<TAB>French` lines",
        converted_name="pairs.txt",
    )

    pairs: list[tuple[str, str]] = []
    skipped: list[tuple[int, str]] = []
    raw_lines = data.split(b"\n")
    if raw_lines and raw_lines[-1] == b"":
        raw_lines.pop()  # The newline that ends the last line starts no new line.
    for line_number, raw_line in enumerate(raw_lines, start=1):
        raw_line = raw_line.removesuffix(b"\r")
        if line_number == 1:
            raw_line = raw_line.removeprefix(b"\xef\xbb\xbf")  # A UTF-8 byte-order mark.
        parsed = _parse_line(raw_line)
        if isinstance(parsed, str):
            skipped.append((line_number, parsed))
        else:
            pairs.append(parsed)

    malformed = [(number, reason) for number, reason in skipped if reason != _EMPTY_LINE]
    if not pairs or len(malformed) > max_malformed_share * (len(pairs) + len(malformed)):
        if pairs:
            problem = (
                f"is mostly not pairs ({len(malformed):,} of its "
                f"{len(pairs) + len(malformed):,} non-blank lines are malformed, more than "
                f"max_malformed_share={max_malformed_share})"
            )
        else:
            problem = "has no `English<TAB>French` pair"
        raise ValueError(
            f"'{path}' {problem}: {_describe_counts(len(raw_lines), len(pairs), skipped)}. "
            "Check that it is a tab-separated UTF-8 file with English in the first column "
            "and French in the second"
            + (
                "; `read_sentence_pairs(path, max_malformed_share=1.0)` reads its "
                f"{_plural(len(pairs), 'pair')} anyway."
                if pairs
                else "."
            )
        )
    if skipped:
        shown = ", ".join(
            f"{number} ({reason})" for number, reason in skipped[:_NUM_REPORTED_LINES]
        )
        more = ", ..." if len(skipped) > _NUM_REPORTED_LINES else ""
        logger.warning(
            "Skipped %d malformed of %d lines in '%s'; lines %s%s. "
            "The full list is in `SentencePairs.skipped`.",
            len(skipped),
            len(raw_lines),
            path,
            shown,
            more,
        )
    return SentencePairs(pairs=pairs, skipped=skipped, path=path)


def _describe_counts(num_lines: int, num_pairs: int, skipped: list[tuple[int, str]]) -> str:
    """E.g. "12 lines, 2 pairs, 10 skipped (no tab: 8, empty line: 2); first malformed lines
    2 (no tab), 3 (no tab), 5 (no tab), 6 (no tab), 7 (no tab), ..."."""
    by_reason = Counter(reason for _, reason in skipped).most_common()
    reasons = ", ".join(f"{reason}: {count:,}" for reason, count in by_reason)
    text = f"{_plural(num_lines, 'line')}, {_plural(num_pairs, 'pair')}, {len(skipped):,} skipped"
    if not skipped:
        return text
    malformed = [(number, reason) for number, reason in skipped if reason != _EMPTY_LINE]
    if not malformed:
        return f"{text} ({reasons})"
    first = ", ".join(f"{number} ({reason})" for number, reason in malformed[:_NUM_REPORTED_LINES])
    more = ", ..." if len(malformed) > _NUM_REPORTED_LINES else ""
    return f"{text} ({reasons}); first malformed lines {first}{more}"


def _plural(count: int, noun: str) -> str:
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


class DataSplits(NamedTuple):
    """Train, validation and test sentence pairs."""

    train: list[tuple[str, str]]
    validation: list[tuple[str, str]]
    test: list[tuple[str, str]]


def split_by_source(
    pairs: Sequence[tuple[str, str]],
    validation_fraction: float = 0.1,
    test_fraction: float = 0.1,
    seed: int = 0,
) -> DataSplits:
    """Splits pairs so that all translations of one English sentence share a split.

    Tatoeba lists many French translations of the same English sentence ("Run!" →
    "Cours !", "Courez !"). Splitting pairs at random would put some of them in training
    and others in the test set, and the test score would measure memorisation. Here the
    distinct English sentences are shuffled by `seed` and dealt, whole, to the test split
    until it holds `test_fraction` of the pairs, then to validation, then to training.
    Each split keeps the input order of its pairs.

    Args:
        pairs: `(english, french)` pairs.
        validation_fraction: float in `[0, 1)`. The share of pairs for validation.
        test_fraction: float in `[0, 1)`. The share of pairs for testing.
        seed: int. The same seed always gives the same split.

    Returns:
        `DataSplits(train, validation, test)`, which unpacks as a tuple.

    Example:

    >>> pairs = [("Run!", "Cours !"), ("Run!", "Courez !"), ("Go.", "Va !")]
    >>> train, validation, test = split_by_source(pairs, 0.0, 0.3, seed=0)
    >>> sorted(len(split) for split in (train, test))
    [1, 2]
    """
    for name, fraction in (
        ("validation_fraction", validation_fraction),
        ("test_fraction", test_fraction),
    ):
        if not 0.0 <= fraction < 1.0:
            raise ValueError(
                f"`{name}` must be in [0, 1); received {name}={fraction}. "
                "Pass the share of pairs for that split, e.g. 0.1."
            )
    if validation_fraction + test_fraction >= 1.0:
        raise ValueError(
            "`validation_fraction + test_fraction` must be below 1 so that some pairs are left "
            f"for training; received {validation_fraction} + {test_fraction}."
        )

    counts: dict[str, int] = {}
    for english, _ in pairs:
        counts[english] = counts.get(english, 0) + 1
    sources = list(counts)  # First-appearance order, so the shuffle depends on `seed` only.
    random.Random(seed).shuffle(sources)

    split_of: dict[str, str] = {}
    test_target = test_fraction * len(pairs)
    validation_target = validation_fraction * len(pairs)
    num_test = num_validation = 0
    for english in sources:
        if num_test < test_target:
            split_of[english] = "test"
            num_test += counts[english]
        elif num_validation < validation_target:
            split_of[english] = "validation"
            num_validation += counts[english]
        else:
            split_of[english] = "train"

    splits: dict[str, list[tuple[str, str]]] = {"train": [], "validation": [], "test": []}
    for pair in pairs:
        splits[split_of[pair[0]]].append(tuple(pair))
    return DataSplits(**splits)
