"""Tab-separated English→French sentence pairs (the Tatoeba / manythings.org format).

Each line of such a file is `English<TAB>French`, optionally followed by more columns (an
attribution, in newer releases) that are ignored. Real files carry a few surprises —
narrow no-break spaces before French punctuation, the odd malformed line — so the reader
normalises whitespace and skips malformed lines, reporting each one, instead of crashing.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import random
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

logger = logging.getLogger(__name__)

# How many skipped line numbers the warning names before it says "...".
_NUM_REPORTED_LINES = 5

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
    try:
        line = raw_line.decode("utf-8")
    except UnicodeDecodeError:
        return "invalid UTF-8"
    if not line.strip():
        return "empty line"
    fields = line.split("\t")
    if len(fields) < 2:
        return "no tab"
    english, french = normalize_text(fields[0]), normalize_text(fields[1])
    if not english:
        return "empty English side"
    if not french:
        return "empty French side"
    return english, french


def read_sentence_pairs(path: str | os.PathLike) -> SentencePairs:
    """Reads tab-separated English→French sentence pairs.

    The file is read as bytes and decoded line by line, so invalid UTF-8 costs only the
    line it is on. Columns after the second are ignored. Lines with no tab, an empty side
    or invalid UTF-8 are skipped, listed in `SentencePairs.skipped` and summarised in one
    `logging` warning.

    Args:
        path: the file, e.g. `fra.txt` from https://www.manythings.org/anki/.

    Returns:
        A `SentencePairs`.

    Raises:
        FileNotFoundError: when there is no file at `path`.
        ValueError: when `path` is a directory, or no line of the file holds a pair.

    Example:

    ```python
    corpus = read_sentence_pairs("../shared/data/fra-eng/fra.txt")
    corpus.pairs[0]  # ('Go.', 'Va !')
    ```
    """
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

    pairs: list[tuple[str, str]] = []
    skipped: list[tuple[int, str]] = []
    raw_lines = path.read_bytes().split(b"\n")
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
    if not pairs:
        raise ValueError(
            f"No `English<TAB>French` pair in '{path}' ({len(raw_lines)} lines, "
            f"first problems: {skipped[:_NUM_REPORTED_LINES]}). Check that it is a "
            "tab-separated UTF-8 file with English in the first column and French in the second."
        )
    return SentencePairs(pairs=pairs, skipped=skipped, path=path)


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
