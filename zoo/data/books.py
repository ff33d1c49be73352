"""Paragraphs of running English for fill-in-the-blank pre-training: books, TSV columns, or
zoo's own generated sentences.

- Project Gutenberg plain-text books (UTF-8, often with a byte-order mark, CRLF, hard-wrapped
  at ~70 columns): the header before the `*** START OF` line and the licence after the
  `*** END OF` line are dropped, and paragraphs are rebuilt — blank lines separate them,
  the line breaks inside one become spaces, runs of whitespace one space.
- A `.tsv` file with a header line: the first column of every row is one paragraph (the
  SST-2 sentences, `sentence<TAB>label`).
- `generated_paragraphs`: the English side of zoo's embedded grammar, a few sentences per
  paragraph, for a machine with no data.

`read_paragraph_corpus(paths)` reads a folder (its `*.txt`), files, or a comma-separated
string of either; `split_corpus` splits it by paragraph or by whole document, by seed.
Neither needs TensorFlow.
"""

from __future__ import annotations

import dataclasses
import os
import re
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from zoo.data.cards import SST2_CITATION, SST2_LICENCE
from zoo.data.text_stream import read_text

GENERATED_PARAGRAPHS_NAME = "zoo-generated English sentences (the embedded en-fr grammar)"
GUTENBERG_LICENCE = (
    "public domain in the USA (Project Gutenberg eBooks; the Project Gutenberg License "
    "inside each file, stripped here with the header)"
)

# The marker lines of Project Gutenberg files; newer files indent the END line.
_START_MARKER = re.compile(r"^[ \t]*\*\*\*[ \t]*START OF (THE|THIS) PROJECT GUTENBERG", re.M)
_END_MARKER = re.compile(r"^[ \t]*\*\*\*[ \t]*END OF (THE|THIS) PROJECT GUTENBERG", re.M)
# Older files end the body with this line, just before the END marker.
_END_LINE = re.compile(r"^End of (the )?Project Gutenberg", re.I)
_BLANK_LINES = re.compile(r"\n[ \t]*\n")
_WHITESPACE = re.compile(r"\s+")


@dataclasses.dataclass(frozen=True)
class Document:
    """One source of paragraphs: `kind` is "gutenberg", "text" (a .txt without Gutenberg
    markers, read whole), "tsv" or "generated"."""

    name: str
    kind: str
    paragraphs: tuple[str, ...]
    path: str = ""


# --- Gutenberg books --------------------------------------------------------------------


def strip_gutenberg(text: str, name: str = "text") -> tuple[str, bool]:
    """`(body, found)`: the text between the `*** START OF` and `*** END OF` lines (both
    dropped), or the whole text with `found=False` (and a warning) when a marker is missing.
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    start, end = _START_MARKER.search(text), _END_MARKER.search(text)
    if start is None or end is None or end.start() < start.end():
        missing = "START" if start is None else "END" if end is None else "START before END"
        warnings.warn(
            f"{name}: no Project Gutenberg '*** {missing} OF ...' line; keeping the whole text "
            "(a Gutenberg header or licence, if any, stays in). Remove them by hand or pass "
            "the original Gutenberg file.",
            stacklevel=2,
        )
        return text, False
    body_start = text.find("\n", start.start())  # the line after the START line
    return text[body_start + 1 if body_start >= 0 else start.end() : end.start()], True


def rebuild_paragraphs(text: str) -> list[str]:
    """Hard-wrapped text -> paragraphs: blank lines separate paragraphs, line breaks inside
    one become spaces, whitespace runs collapse to one space, empty paragraphs go.

    >>> rebuild_paragraphs("One line\\r\\nand its rest.\\r\\n\\r\\n\\r\\n  Two.  \\r\\n")
    ['One line and its rest.', 'Two.']
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    paragraphs = (_WHITESPACE.sub(" ", block).strip() for block in _BLANK_LINES.split(text))
    return [paragraph for paragraph in paragraphs if paragraph]


def read_book(path: str | os.PathLike) -> Document:
    """A plain-text book's paragraphs, without the Gutenberg header and licence (and the
    "End of the Project Gutenberg EBook of ..." line that older files put before the END
    line); a file without Gutenberg markers is read whole, with a warning."""
    path = Path(path)
    body, found = strip_gutenberg(read_text(path), name=str(path))
    paragraphs = rebuild_paragraphs(body)
    if found and paragraphs and _END_LINE.match(paragraphs[-1]):
        paragraphs.pop()
    if not paragraphs:
        raise ValueError(f"'{path}' has no text between its Gutenberg START and END lines.")
    return Document(path.name, "gutenberg" if found else "text", tuple(paragraphs), str(path))


# --- TSV columns ------------------------------------------------------------------------


def read_tsv_column(path: str | os.PathLike) -> Document:
    """The first column of a tab-separated file with a header line, one paragraph per row
    (whitespace collapsed, empty rows dropped): e.g. SST-2's `sentence<TAB>label`."""
    path = Path(path)
    lines = read_text(path).replace("\r\n", "\n").split("\n")
    # Not `csv.reader`: it refuses a field over 128 KiB with an error that names no file.
    paragraphs = [_WHITESPACE.sub(" ", line.split("\t", 1)[0]).strip() for line in lines[1:]]
    paragraphs = [paragraph for paragraph in paragraphs if paragraph]
    if not paragraphs:
        raise ValueError(
            f"'{path}' has a header line but no rows; a .tsv corpus is a header line, then "
            "one row per text with the text in the first column."
        )
    return Document(path.name, "tsv", tuple(paragraphs), str(path))


# --- Reading several sources ------------------------------------------------------------


def _expand(paths) -> list[tuple[Path, bool]]:
    """`(file, found in a folder)` for every path."""
    if isinstance(paths, (str, os.PathLike)):
        paths = [part for part in str(paths).split(",") if part.strip()]
    files = []
    for path in map(Path, (str(p).strip() for p in paths)):
        if path.is_dir():
            books = sorted(path.glob("*.txt"))
            if not books:
                raise ValueError(
                    f"'{path}' is a directory with no .txt files; pass a folder of plain-text "
                    "books, a .txt or .tsv file, or several paths separated by commas."
                )
            files.extend((book, True) for book in books)
        elif not path.exists():
            raise FileNotFoundError(
                f"No file or folder at '{path}'. Pass a folder of .txt books, a .txt or .tsv "
                "file, or several of them separated by commas."
            )
        else:
            files.append((path, False))
    if not files:
        raise ValueError("No paths given; pass a folder of books, a .txt or a .tsv file.")
    return files


def read_paragraph_corpus(
    paths: str | os.PathLike | Sequence[str | os.PathLike],
) -> list[Document]:
    """Every source's paragraphs, in path order. `paths` is one path, a list, or a
    comma-separated string of:

    - a folder: its `*.txt` Project Gutenberg books, sorted by name; a `.txt` there without
      Gutenberg markers (a `SOURCE.txt` or `README.txt`) is skipped, with a warning;
    - a `.tsv` file: its first column, one paragraph per row (after the header line);
    - any other file: its paragraphs, between the Gutenberg markers when it has them, else
      the whole file (with a warning).
    """
    documents = []
    for path, in_folder in _expand(paths):
        if path.suffix.lower() == ".tsv":
            documents.append(read_tsv_column(path))
            continue
        if in_folder and not _has_gutenberg_markers(path):
            warnings.warn(
                f"Skipping '{path}': no Project Gutenberg START/END lines, so not a book. "
                "Pass it by its own path to read it whole.",
                stacklevel=2,
            )
            continue
        documents.append(read_book(path))
    if not documents:
        raise ValueError(
            f"No book with Project Gutenberg START/END lines in {paths!r}; pass the books' "
            "folder, or the files themselves (read whole)."
        )
    return documents


def _has_gutenberg_markers(path: Path) -> bool:
    text = read_text(path)
    return bool(_START_MARKER.search(text) and _END_MARKER.search(text))


def generated_paragraphs(
    num_sentences: int = 20000, seed: int = 0, sentences_per_paragraph: int = 4
) -> list[Document]:
    """The default corpus, needing no files: English sentences of zoo's embedded grammar
    (`zoo.data.generate_en_fr_pairs`), capitalised and with a full stop,
    `sentences_per_paragraph` to a paragraph."""
    from zoo.data.synthetic_en_fr import generate_en_fr_pairs

    # The grammar's sentences are lower case without a full stop; written as prose here.
    english = [f"{s[:1].upper()}{s[1:]}." for s, _ in generate_en_fr_pairs(num_sentences, seed)]
    step = max(1, sentences_per_paragraph)
    paragraphs = [" ".join(english[i : i + step]) for i in range(0, len(english), step)]
    return [Document(GENERATED_PARAGRAPHS_NAME, "generated", tuple(paragraphs))]


# --- Splits and the data card ------------------------------------------------------------


def split_corpus(
    documents: Sequence[Document],
    validation_share: float = 0.1,
    *,
    by: str = "paragraph",
    seed: int = 0,
) -> tuple[list[str], list[str]]:
    """`(train paragraphs, validation paragraphs)`, the same for the same seed.

    `by="paragraph"`: a random `validation_share` of all paragraphs validates (each keeps
    its document order within a split). `by="document"`: whole documents, drawn in a seeded
    order until they hold at least `validation_share` of the paragraphs, validate — text the
    model never read; it needs two documents or more.
    """
    if not 0 < validation_share < 1:
        raise ValueError(f"`validation_share` must be in (0, 1), received {validation_share!r}.")
    if by not in ("paragraph", "document"):
        raise ValueError(f"`by` must be 'paragraph' or 'document', received {by!r}.")
    rng = np.random.default_rng(seed)
    if by == "document":
        if len(documents) < 2:
            raise ValueError(
                f"Splitting by document needs two documents or more; received "
                f"{len(documents)}. Split by='paragraph', or pass more files."
            )
        total = sum(len(document.paragraphs) for document in documents)
        held, count = set(), 0
        for index in rng.permutation(len(documents))[: len(documents) - 1]:
            if count >= validation_share * total:
                break
            held.add(int(index))
            count += len(documents[index].paragraphs)
        train = [p for i, d in enumerate(documents) if i not in held for p in d.paragraphs]
        validation = [p for i, d in enumerate(documents) if i in held for p in d.paragraphs]
        return train, validation
    paragraphs = [paragraph for document in documents for paragraph in document.paragraphs]
    if len(paragraphs) < 2:
        raise ValueError(f"Need two paragraphs or more to split; received {len(paragraphs)}.")
    num_validation = min(len(paragraphs) - 1, max(1, round(validation_share * len(paragraphs))))
    held = np.zeros(len(paragraphs), dtype=bool)
    held[rng.permutation(len(paragraphs))[:num_validation]] = True
    train = [paragraph for paragraph, h in zip(paragraphs, held) if not h]
    validation = [paragraph for paragraph, h in zip(paragraphs, held) if h]
    return train, validation


def corpus_card(documents: Sequence[Document]) -> dict:
    """The export's data card: what was read, how much, and its licence or citation (SST-2
    is recognised by "sst" in its path)."""
    kinds = {document.kind for document in documents}
    is_sst2 = [document.kind == "tsv" and "sst" in document.path.lower() for document in documents]
    licences = []
    if "gutenberg" in kinds:
        licences.append(GUTENBERG_LICENCE)
    if any(is_sst2):
        licences.append(f"SST-2: {SST2_LICENCE}")
    if "generated" in kinds:
        licences.append("generated by zoo (no licence needed)")
    if any(d.kind == "text" or (d.kind == "tsv" and not sst) for d, sst in zip(documents, is_sst2)):
        licences.append("other files: see their own licences")
    card = {
        "name": " + ".join(document.name for document in documents),
        "licence": "; ".join(licences),
        "sources": [
            {"name": d.name, "path": d.path, "kind": d.kind, "paragraphs": len(d.paragraphs)}
            for d in documents
        ],
        "paragraphs": sum(len(document.paragraphs) for document in documents),
    }
    if any(is_sst2):
        card["citation"] = SST2_CITATION
    return card
