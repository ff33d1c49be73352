"""Labelled text for classification: `text<TAB>label` files, an honest split, a generated task.

`read_labelled_text(path)` reads a file with a header line and one `text<TAB>label` row per
line (GLUE's format; SST-2's `train.tsv` is one), with clear errors for what cannot be read
and a count, with line numbers, of the rows it skips; a file whose rows are mostly malformed
(more skipped than read) is refused with the counts by reason. Class names come from the
labels.

`split_by_sentence` makes held-out sets that do not leak. SST-2's training file holds every
phrase of its sentences, each with its own label: "the film is not good" and "good" are both
rows. Drawing rows at random puts sub-phrases of held-out sentences in the training set, which
then reads optimistic. Here the held-out sets are whole *root* rows (rows that no longer row
contains, at word boundaries: the sentences), and the training set keeps only rows that occur
in some training sentence, as GLUE's own split does (its development sentences come from other
reviews, and share with the training phrases only what two reviews share).

`generated_sentiment(n, seed)` is a task that needs no files: short reviews whose label
depends on word order ("not", "but"), so a bag of words cannot solve it.
"""

from __future__ import annotations

import dataclasses
import os
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from zoo.data.text_files import read_text_bytes

GENERATED_SENTIMENT_NAME = "zoo generated reviews"
# The shares of whole sentences `recipes/classify.py` holds out by default (and, with the
# same seed, the sentences that `recipes/fill_mask.py` keeps out of pre-training).
VALIDATION_SHARE = 0.05
TEST_SHARE = 0.1
# Longer rows are skipped (and counted): no review is 100 KB, and `split_by_sentence`'s cost
# grows with the length of the longest rows.
MAX_ROW_BYTES = 100_000


@dataclasses.dataclass(frozen=True)
class LabelledTexts:
    """Texts with integer labels; `class_names[label]` names a label."""

    texts: list[str]
    labels: np.ndarray  # (N,) int32, in range(len(class_names))
    class_names: tuple[str, ...]
    skipped_lines: tuple[int, ...] = ()  # 1-based line numbers of rows that were skipped

    def __post_init__(self):
        if len(self.texts) != len(self.labels):
            raise ValueError(f"{len(self.texts)} texts but {len(self.labels)} labels.")

    def subset(self, indices) -> LabelledTexts:
        indices = np.asarray(indices, dtype=np.int64)
        return LabelledTexts(
            [self.texts[i] for i in indices], self.labels[indices], self.class_names
        )

    def class_counts(self) -> dict[str, int]:
        counts = np.bincount(self.labels, minlength=len(self.class_names))
        return {name: int(count) for name, count in zip(self.class_names, counts)}


def read_labelled_text(
    path: str | os.PathLike, class_names: Sequence[str] | None = None
) -> LabelledTexts:
    """Read `text<TAB>label` rows after a header line.

    Args:
        path: the file (UTF-8; a byte-order mark is fine).
        class_names: optional display names, one per distinct label in sorted order
            (numeric order when every label is an integer): `("negative", "positive")` for
            SST-2's 0/1. By default the labels themselves are the names.

    Returns:
        `LabelledTexts`. Rows without exactly one tab, with an empty text or label, a NUL
        byte or more than `MAX_ROW_BYTES` bytes are skipped; their line numbers are in
        `skipped_lines` (and a warning says how many). Blank lines are not rows.

    Raises:
        FileNotFoundError, IsADirectoryError, ValueError: a missing file, a directory, an
        empty file, a file that is not UTF-8 text (binary, UTF-16, Latin-1), that has no
        header or no usable row, whose rows are mostly malformed (more than half of them:
        the counts by reason and the first line numbers are in the message), or whose
        labels do not match `class_names` — the message names the file and, where it can,
        the line.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(
            f"No labelled text at '{path}'. Pass a `text<TAB>label` file with a header line, "
            "or leave --data out for the generated task."
        )
    if path.is_dir():
        raise IsADirectoryError(
            f"'{path}' is a directory; pass the `text<TAB>label` file itself "
            "(for SST-2: ../shared/data/sst2/train.tsv)."
        )
    raw = read_text_bytes(
        path,
        expected="a `text<TAB>label` file with a header line and rows",
        converted_name="data.tsv",
    )
    try:
        content = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        raise ValueError(
            f"'{path}' is not UTF-8 (a bad byte on line {line}); convert it, e.g. "
            f"`iconv -f latin1 -t utf-8 '{path}'`."
        ) from error
    # Split on newlines only (not `splitlines`, which also splits at U+2028 and form feeds),
    # so line numbers are the ones an editor shows.
    lines = [line.removesuffix("\r") for line in content.split("\n")]
    if "\t" not in lines[0]:
        raise ValueError(
            f"'{path}' has no header line of the form `text<TAB>label` (GLUE's `sentence\\tlabel`)."
        )
    texts, label_text, skipped = [], [], []
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        reason = _row_problem(line)
        if reason:
            skipped.append((number, reason))
            continue
        text, label = line.split("\t")
        texts.append(" ".join(text.split()))
        label_text.append(label.strip())
    if not texts or len(skipped) > len(texts):
        raise ValueError(
            f"'{path}' has "
            + ("no `text<TAB>label` row after its header" if not texts else "mostly malformed rows")
            + f": {_describe_rows(len(texts), skipped)}. Each row after the header must be a "
            "text, one tab and a label."
        )
    if skipped:
        numbers = [number for number, _ in skipped]
        shown = ", ".join(map(str, numbers[:10])) + (", ..." if len(skipped) > 10 else "")
        print(
            f"Warning: skipped {len(skipped)} rows of '{path}' without exactly one tab, with "
            f"an empty side or too long (lines {shown})."
        )
    distinct = sorted(set(label_text), key=_label_order(label_text))
    if class_names is not None:
        if len(class_names) != len(distinct):
            raise ValueError(
                f"'{path}' has {len(distinct)} distinct labels {distinct}, but "
                f"{len(class_names)} class names were given: {list(class_names)}."
            )
        names = tuple(class_names)
    else:
        names = tuple(distinct)
    if len(names) < 2:
        raise ValueError(f"'{path}' has a single label {distinct}; a classifier needs two or more.")
    index = {label: i for i, label in enumerate(distinct)}
    labels = np.array([index[label] for label in label_text], dtype=np.int32)
    return LabelledTexts(texts, labels, names, tuple(number for number, _ in skipped))


def _row_problem(line: str) -> str:
    """Why a non-blank row cannot be read, or "" when it can."""
    if len(line.encode("utf-8")) > MAX_ROW_BYTES:
        return f"longer than {MAX_ROW_BYTES:,} bytes"
    if "\x00" in line:
        return "NUL byte"
    tabs = line.count("\t")
    if tabs != 1:
        return "no tab" if tabs == 0 else "more than one tab"
    text, label = line.split("\t")
    if not text.strip():
        return "empty text"
    if not label.strip():
        return "empty label"
    return ""


def _describe_rows(num_rows: int, skipped: list[tuple[int, str]]) -> str:
    """E.g. "2 rows read, 5 skipped (no tab: 4, empty label: 1); first skipped lines 3 (no
    tab), 4 (no tab), ..."."""
    text = f"{num_rows:,} rows read, {len(skipped):,} skipped"
    if not skipped:
        return text
    by_reason = Counter(reason for _, reason in skipped).most_common()
    reasons = ", ".join(f"{reason}: {count:,}" for reason, count in by_reason)
    first = ", ".join(f"{number} ({reason})" for number, reason in skipped[:5])
    return f"{text} ({reasons}); first skipped lines {first}" + (", ..." * (len(skipped) > 5))


def _label_order(labels):
    def is_int(text):
        return text.lstrip("-").isdigit()

    if all(is_int(label) for label in set(labels)):
        return int
    return str


def _spans(words: list[str], lengths: Sequence[int], rows: set[str]):
    """The runs of whole words of `words` that are rows: only runs of a row's length are
    joined, so a long row costs `len(words) * len(lengths)` runs, not `len(words) ** 2`."""
    n = len(words)
    for length in lengths:
        if length > n:
            break
        for start in range(n - length + 1):
            span = " ".join(words[start : start + length])
            if span in rows:
                yield span


@dataclasses.dataclass(frozen=True)
class SentenceSplit:
    """Row indices of an honest split, and what it took to make it."""

    train: np.ndarray
    validation: np.ndarray  # whole sentences (root rows)
    test: np.ndarray  # whole sentences (root rows)
    roots: int  # rows no other row contains: the sentences
    train_sentences: np.ndarray  # the roots that are neither validation nor test
    dropped: int  # rows only found inside held-out sentences: in no set

    def describe(self) -> str:
        return (
            f"{self.roots:,} whole sentences; held out {len(self.validation):,} for validation "
            f"and {len(self.test):,} for the test, with every phrase found only inside them "
            f"({self.dropped:,} rows); {len(self.train):,} rows to train on."
        )


def split_by_sentence(
    texts: Sequence[str], validation_share: float, test_share: float, seed: int = 0
) -> SentenceSplit:
    """Hold out whole sentences, and keep their sub-phrases out of the training rows.

    Roots are the rows that no longer row contains as a run of whole words. A random
    `validation_share` and `test_share` of the roots are held out; the training rows are
    every other row that occurs in some training root. A row found only inside held-out
    sentences is dropped (counted in `dropped`). On a file without sub-phrase rows this is
    a plain random split of the rows.
    """
    for name, share in (("validation_share", validation_share), ("test_share", test_share)):
        if not 0.0 <= share < 1.0:
            raise ValueError(f"`{name}` must be in [0, 1), received {share!r}.")
    if validation_share + test_share >= 1.0:
        raise ValueError("validation_share + test_share must leave rows to train on.")
    words = [text.split() for text in texts]
    rows = {" ".join(row_words) for row_words in words}
    lengths = sorted({len(row_words) for row_words in words})
    order = sorted(range(len(texts)), key=lambda i: -len(words[i]))
    covered: set[str] = set()
    roots = []
    for i in order:
        if " ".join(words[i]) in covered:
            continue
        roots.append(i)
        covered.update(_spans(words[i], lengths, rows))
    roots = np.array(sorted(roots), dtype=np.int64)
    shuffled = np.random.default_rng(seed).permutation(roots)
    n_validation = int(round(len(roots) * validation_share))
    n_test = int(round(len(roots) * test_share))
    validation = np.sort(shuffled[:n_validation])
    test = np.sort(shuffled[n_validation : n_validation + n_test])
    held_out = set(validation.tolist()) | set(test.tolist())
    in_training_sentences: set[str] = set()
    train_sentences = np.sort(shuffled[n_validation + n_test :])
    for i in train_sentences:
        in_training_sentences.update(_spans(words[i], lengths, rows))
    train = np.array(
        [
            i
            for i in range(len(texts))
            if i not in held_out and " ".join(words[i]) in in_training_sentences
        ],
        dtype=np.int64,
    )
    dropped = len(texts) - len(train) - len(held_out)
    return SentenceSplit(train, validation, test, len(roots), train_sentences, dropped)


# A generated review: "<subject> <verb> [adverb] [not] <adjective>", sometimes two clauses
# joined by "but" (the second decides). Negation flips a clause.
_SUBJECTS = (
    "the film",
    "this movie",
    "the plot",
    "the acting",
    "the story",
    "the script",
    "the ending",
    "the cast",
    "the music",
    "the director's work",
)
_VERBS = ("is", "was", "feels", "seems", "remains")
_ADVERBS = ("", "", "very", "really", "quite", "truly", "rather")
_POSITIVE = ("good", "great", "moving", "funny", "brilliant", "charming", "clever", "fresh")
_NEGATIVE = ("bad", "dull", "boring", "awful", "clumsy", "tedious", "flat", "predictable")


def generated_sentiment(num_texts: int = 20000, seed: int = 0) -> LabelledTexts:
    """Short generated reviews labelled `negative` / `positive`; word order decides."""
    rng = np.random.default_rng(seed)

    def clause():
        positive = bool(rng.integers(2))
        negated = rng.random() < 0.3
        adjective = rng.choice(_POSITIVE if positive else _NEGATIVE)
        words = [rng.choice(_SUBJECTS), rng.choice(_VERBS)]
        adverb = rng.choice(_ADVERBS)
        words += (["not"] if negated else []) + ([adverb] if adverb else []) + [adjective]
        return " ".join(words), positive != negated

    texts, labels = [], []
    for _ in range(num_texts):
        text, positive = clause()
        if rng.random() < 0.4:  # "A but B": B decides
            second, positive = clause()
            text = f"{text} , but {second}"
        texts.append(text)
        labels.append(int(positive))
    return LabelledTexts(texts, np.array(labels, dtype=np.int32), ("negative", "positive"))
