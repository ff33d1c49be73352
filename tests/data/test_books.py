"""Paragraph corpora: Gutenberg stripping and paragraph rebuilding, TSV columns, folders,
errors that name the file, seeded splits, the data card; the real books when present."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from zoo.data.books import (
    GUTENBERG_LICENCE,
    SST2_CITATION,
    corpus_card,
    generated_paragraphs,
    read_book,
    read_paragraph_corpus,
    read_tsv_column,
    rebuild_paragraphs,
    split_corpus,
    strip_gutenberg,
)

SHARED_DATA = Path(__file__).resolve().parents[2] / "../shared/data"

# A Gutenberg file as they come: BOM, CRLF, header, hard-wrapped prose, the old "End of"
# line, an indented END line, the licence.
BOOK = (
    "\ufeffThe Project Gutenberg eBook of A Tiny Tale\r\n"
    "\r\n"
    "This eBook is for the use of anyone anywhere in the United States.\r\n"
    "\r\n"
    "*** START OF THE PROJECT GUTENBERG EBOOK A TINY TALE ***\r\n"
    "\r\n"
    "\r\n"
    "CHAPTER I.\r\n"
    "\r\n"
    "It was a  dark and stormy\r\n"
    "night; the rain fell in\r\n"
    "torrents.\r\n"
    "   \r\n"
    "\r\n"
    "\r\n"
    "“Who is there?” she asked.\r\n"
    "\r\n"
    "End of the Project Gutenberg EBook of A Tiny Tale\r\n"
    "\r\n"
    "            *** END OF THE PROJECT GUTENBERG EBOOK A TINY TALE ***\r\n"
    "\r\n"
    "Updated editions will replace the previous one. Project Gutenberg License ...\r\n"
)
BOOK_PARAGRAPHS = [
    "CHAPTER I.",
    "It was a dark and stormy night; the rain fell in torrents.",
    "“Who is there?” she asked.",
]


def write(path: Path, text: str, encoding="utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def test_book_loses_header_licence_and_end_line_and_rebuilds_paragraphs(tmp_path):
    document = read_book(write(tmp_path / "tiny.txt", BOOK))
    assert list(document.paragraphs) == BOOK_PARAGRAPHS
    assert (document.name, document.kind) == ("tiny.txt", "gutenberg")


def test_rebuild_paragraphs_by_hand():
    text = "a\r\nb  c\r\n\r\n\r\n \t \r\nd\n\ne\rf\n\n\n"
    assert rebuild_paragraphs(text) == ["a b c", "d", "e f"]
    assert rebuild_paragraphs("\r\n \r\n") == []


def test_text_without_markers_is_kept_whole_with_a_warning(tmp_path):
    path = write(tmp_path / "notes.txt", "First line\r\nwrapped.\r\n\r\nSecond.\r\n")
    with pytest.warns(UserWarning, match="notes.txt.*START"):
        document = read_book(path)
    assert list(document.paragraphs) == ["First line wrapped.", "Second."]
    assert document.kind == "text"
    with pytest.warns(UserWarning, match="END"):
        body, found = strip_gutenberg("*** START OF THE PROJECT GUTENBERG EBOOK X ***\nbody")
    assert not found and "body" in body


def test_tsv_first_column_after_the_header(tmp_path):
    path = write(
        tmp_path / "train.tsv",
        "sentence\tlabel\r\nit 's a charming  journey \t1\r\n\r\nno wit , only gags \t0\r\n",
    )
    assert read_tsv_column(path).paragraphs == ("it 's a charming journey", "no wit , only gags")
    with pytest.raises(ValueError, match="header line but no rows"):
        read_tsv_column(write(tmp_path / "empty.tsv", "sentence\tlabel\n"))


def test_folder_and_comma_separated_paths(tmp_path):
    books = tmp_path / "books"
    books.mkdir()
    write(books / "b.txt", BOOK)
    write(books / "a.txt", BOOK.replace("dark and stormy", "bright"))
    write(books / "SOURCE.txt", "where these came from\n")
    tsv = write(tmp_path / "sst2.tsv", "sentence\tlabel\nfine film\t1\n")
    with pytest.warns(UserWarning, match="Skipping .*SOURCE.txt"):
        documents = read_paragraph_corpus(f"{books},{tsv}")
    assert [d.name for d in documents] == ["a.txt", "b.txt", "sst2.tsv"]
    assert documents[0].paragraphs[1] == "It was a bright night; the rain fell in torrents."
    assert documents[2].paragraphs == ("fine film",)
    assert [d.name for d in read_paragraph_corpus([books / "b.txt", tsv])] == ["b.txt", "sst2.tsv"]


def test_clear_errors_name_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.txt"):
        read_paragraph_corpus(tmp_path / "missing.txt")
    (tmp_path / "nothing").mkdir()
    with pytest.raises(ValueError, match="nothing' is a directory with no .txt"):
        read_paragraph_corpus(tmp_path / "nothing")
    with pytest.raises(ValueError, match="empty.txt' is empty"):
        read_paragraph_corpus(write(tmp_path / "empty.txt", "\ufeff \r\n"))
    with pytest.raises(ValueError, match="latin.txt' is not UTF-8"):
        read_paragraph_corpus(write(tmp_path / "latin.txt", "caf\u00e9 au lait", "latin-1"))
    hollow = BOOK.split("CHAPTER")[0] + "*** END OF THE PROJECT GUTENBERG EBOOK X ***\r\n"
    with pytest.raises(ValueError, match="hollow.txt' has no text between"):
        read_book(write(tmp_path / "hollow.txt", hollow))
    only_notes = tmp_path / "notes"
    only_notes.mkdir()
    write(only_notes / "README.txt", "not a book")
    with (
        pytest.raises(ValueError, match="No book with Project Gutenberg"),
        pytest.warns(UserWarning),
    ):
        read_paragraph_corpus(only_notes)


def test_binary_files_are_refused_by_name(tmp_path):
    binary = tmp_path / "program.txt"
    binary.write_bytes(b"\x7fELF\x02\x01\x01\x00\x00\x00 text")
    with pytest.raises(ValueError, match="program.txt' looks binary"):
        read_paragraph_corpus(binary)
    with pytest.raises(ValueError, match="program.tsv' looks binary"):
        read_paragraph_corpus(write(tmp_path / "program.tsv", "sentence\tlabel\n\x00\t1\n"))


def test_a_line_of_a_megabyte_is_one_paragraph_in_a_book_and_a_tsv(tmp_path):
    # Read, not skipped: a paragraph may be long, and fill-in-the-blank examples take the
    # first tokens of each. (`csv.reader` used to refuse a TSV field over 128 KiB.)
    long_line = "word " * 200_000  # 1 MB; the cost is linear (10 MB: ten times as long)
    tsv = write(tmp_path / "long.tsv", f"sentence\tlabel\nshort one\t1\n{long_line}\t0\n")
    assert [len(p) for p in read_tsv_column(tsv).paragraphs] == [9, len(long_line) - 1]
    text = write(tmp_path / "long.txt", f"First.\n\n{long_line}\n")
    with pytest.warns(UserWarning, match="no Project Gutenberg"):
        [document] = read_paragraph_corpus(text)
    assert [len(p) for p in document.paragraphs] == [6, len(long_line) - 1]


def test_split_by_paragraph_and_by_document_are_seeded_and_disjoint():
    documents = generated_paragraphs(400, seed=1) + generated_paragraphs(200, seed=2)
    everything = [p for d in documents for p in d.paragraphs]
    train, validation = split_corpus(documents, 0.2, seed=3)
    assert (train, validation) == split_corpus(documents, 0.2, seed=3)
    assert split_corpus(documents, 0.2, seed=4) != (train, validation)
    assert len(validation) == round(0.2 * len(everything))
    assert sorted(train + validation) == sorted(everything)
    train, validation = split_corpus(documents, 0.2, by="document", seed=0)
    assert sorted(validation) in (sorted(d.paragraphs) for d in documents)  # one whole document
    assert sorted(train + validation) == sorted(everything)
    with pytest.raises(ValueError, match="two documents"):
        split_corpus(documents[:1], 0.1, by="document")
    with pytest.raises(ValueError, match="validation_share"):
        split_corpus(documents, 1.0)


def test_generated_paragraphs_need_no_files_and_are_seeded():
    (document,) = generated_paragraphs(40, seed=0, sentences_per_paragraph=4)
    assert len(document.paragraphs) == 10 and document.kind == "generated"
    assert document == generated_paragraphs(40, seed=0, sentences_per_paragraph=4)[0]
    assert all(paragraph.count(". ") == 3 for paragraph in document.paragraphs)
    assert all(paragraph[0].isupper() and paragraph[-1] == "." for paragraph in document.paragraphs)


def test_card_names_licence_and_cites_sst2(tmp_path):
    book = read_book(write(tmp_path / "tiny.txt", BOOK))
    sst_dir = tmp_path / "sst2"
    sst_dir.mkdir()
    sst = read_tsv_column(write(sst_dir / "train.tsv", "sentence\tlabel\ngood\t1\n"))
    card = corpus_card([book, sst])
    assert GUTENBERG_LICENCE in card["licence"]
    assert card["citation"] == SST2_CITATION
    assert card["paragraphs"] == len(BOOK_PARAGRAPHS) + 1
    assert "citation" not in corpus_card([book])


@pytest.mark.shared_data
def test_the_real_books_have_no_licence_text_left():
    folder = SHARED_DATA / "gutenberg"
    if not folder.is_dir():
        pytest.skip(f"{folder.resolve()} is absent: needs ../shared/data (Project Gutenberg).")
    with pytest.warns(UserWarning, match="SOURCE.txt"):
        documents = read_paragraph_corpus(folder)
    assert len(documents) == 6 and {d.kind for d in documents} == {"gutenberg"}
    boilerplate = re.compile(
        r"Project Gutenberg(-tm| License| Literary Archive)|\*\*\* ?(START|END) OF|"
        r"End of (the )?Project Gutenberg|www\.gutenberg\.org",
        re.IGNORECASE,
    )
    for document in documents:
        assert 800 <= len(document.paragraphs) <= 13000, document.name
        assert not [p for p in document.paragraphs if boilerplate.search(p)], document.name
        assert all(p == p.strip() and "\n" not in p and "  " not in p for p in document.paragraphs)
    alice = {d.name: d for d in documents}["11-0.txt"]
    assert alice.paragraphs[0] == "ALICE’S ADVENTURES IN WONDERLAND"
    assert alice.paragraphs[-1] == "THE END"
    assert 20000 <= sum(len(d.paragraphs) for d in documents) <= 30000  # 24,112


@pytest.mark.shared_data
def test_the_real_sst2_sentences():
    path = SHARED_DATA / "sst2" / "train.tsv"
    if not path.is_file():
        pytest.skip(f"{path.resolve()} is absent: needs ../shared/data (SST-2).")
    document = read_tsv_column(path)
    assert len(document.paragraphs) == 67349
    assert document.paragraphs[0] == "hide new secretions from the parental units"
