from __future__ import annotations

import doctest
import logging
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

import zoo.data.sentence_pairs
from zoo.data import DataSplits, normalize_text, read_sentence_pairs, split_by_source

REPO_ROOT = Path(__file__).resolve().parents[2]

MESSY_FILE = (
    b"Go.\tVa\xe2\x80\xaf!\n"  # 1: U+202F before "!"
    b"no tab on this line\n"  # 2
    b"\tBonjour.\n"  # 3
    b"Hello.\t \xc2\xa0\n"  # 4: only a space and U+00A0 on the French side
    b"Caf\xe9.\tCaf\xc3\xa9.\n"  # 5: Latin-1, not UTF-8
    b"Run!\tCours\xc2\xa0!\tCC-BY 2.0 (France) Attribution: tatoeba.org\r\n"  # 6: 3 columns
    b"\n"  # 7
    b"  I  see.  \tJe  vois. \n"  # 8
    b"\xef\xbb\xbfWho?\tQui\xe2\x80\xaf?"  # 9: a stray byte-order mark, no final newline
)


def test_reads_pairs_and_skips_malformed_lines_with_their_numbers(tmp_path, caplog):
    path = tmp_path / "pairs.txt"
    path.write_bytes(MESSY_FILE)

    with caplog.at_level(logging.WARNING, logger="zoo.data.sentence_pairs"):
        corpus = read_sentence_pairs(path)

    assert corpus.pairs == [
        ("Go.", "Va !"),
        ("Run!", "Cours !"),
        ("I see.", "Je vois."),
        ("\ufeffWho?", "Qui ?"),  # A byte-order mark only counts on line 1.
    ]
    assert corpus.skipped == [
        (2, "no tab"),
        (3, "empty English side"),
        (4, "empty French side"),
        (5, "invalid UTF-8"),
        (7, "empty line"),
    ]
    assert len(corpus) == 4
    assert corpus.path == path
    [record] = caplog.records
    assert "Skipped 5 malformed of 9 lines" in record.getMessage()
    assert "lines 2 (no tab), 3 (empty English side)" in record.getMessage()
    assert "5 (invalid UTF-8), ..." not in record.getMessage()  # Exactly 5: no "...".


def test_byte_order_mark_on_first_line_is_dropped(tmp_path, caplog):
    path = tmp_path / "bom.txt"
    path.write_bytes(b"\xef\xbb\xbfGo.\tVa !\n")
    with caplog.at_level(logging.WARNING):
        corpus = read_sentence_pairs(path)
    assert corpus.pairs == [("Go.", "Va !")]
    assert corpus.skipped == []
    assert caplog.records == []  # A clean file is read silently.


def test_warning_lists_only_the_first_line_numbers(tmp_path, caplog):
    path = tmp_path / "pairs.txt"
    lines = [f"ok {i}\td'accord {i}\n" for i in range(9)] + [f"bad {i}\n" for i in range(8)]
    path.write_text("".join(lines), "utf-8")
    with caplog.at_level(logging.WARNING):
        corpus = read_sentence_pairs(path)
    assert len(corpus) == 9
    assert [number for number, _ in corpus.skipped] == list(range(10, 18))
    message = caplog.records[0].getMessage()
    assert "Skipped 8 malformed of 17 lines" in message
    assert "14 (no tab), ..." in message
    assert "15 (no tab)" not in message


def test_missing_file_says_where_to_get_data(tmp_path):
    with pytest.raises(FileNotFoundError, match="No sentence-pair file.*manythings"):
        read_sentence_pairs(tmp_path / "absent.txt")


def test_directory_is_a_value_error(tmp_path):
    with pytest.raises(ValueError, match="is a directory"):
        read_sentence_pairs(tmp_path)


def test_file_without_any_pair_is_a_value_error(tmp_path):
    path = tmp_path / "nothing.txt"
    path.write_bytes(b"no tab\n\xff\xfe\n\n")
    with pytest.raises(ValueError) as error:
        read_sentence_pairs(path)
    assert str(error.value).startswith(
        f"'{path}' has no `English<TAB>French` pair: 3 lines, 0 pairs, 3 skipped "
        "(no tab: 1, invalid UTF-8: 1, empty line: 1); "
        "first malformed lines 1 (no tab), 2 (invalid UTF-8). Check"
    )


# Lines 1, 4 and 8 are pairs; 6 is blank; 2, 3, 5, 7 and 9 are malformed: 5 of 8 non-blank.
MOSTLY_MALFORMED = (
    b"Go.\tVa !\n"  # 1
    b"Go.,Va !\n"  # 2
    b"Run!,Cours !\n"  # 3
    b"Hi.\tSalut.\n"  # 4
    b"Caf\xe9.\tCaf\xc3\xa9.\n"  # 5
    b"\n"  # 6
    b"Stop!\t \n"  # 7
    b"Wait.\tAttends.\n"  # 8
    b"Hello.,Bonjour.\n"  # 9
)


def test_mostly_malformed_file_is_refused_with_counts_and_line_numbers(tmp_path):
    path = tmp_path / "mostly_bad.csv"
    path.write_bytes(MOSTLY_MALFORMED)
    with pytest.raises(ValueError) as error:
        read_sentence_pairs(path)
    message = str(error.value)
    assert message.startswith(f"'{path}' is mostly not pairs (5 of its 8 non-blank lines")
    assert (
        "9 lines, 3 pairs, 6 skipped "
        "(no tab: 3, invalid UTF-8: 1, empty line: 1, empty French side: 1); "
        "first malformed lines 2 (no tab), 3 (no tab), 5 (invalid UTF-8), "
        "7 (empty French side), 9 (no tab)."
    ) in message
    assert "max_malformed_share=1.0)` reads its 3 pairs anyway." in message

    corpus = read_sentence_pairs(path, max_malformed_share=1.0)
    assert corpus.pairs == [("Go.", "Va !"), ("Hi.", "Salut."), ("Wait.", "Attends.")]
    assert [number for number, _ in corpus.skipped] == [2, 3, 5, 6, 7, 9]


@pytest.mark.parametrize(
    "num_pairs, num_malformed, num_blank, refused",
    [
        (2, 2, 0, False),  # exactly half malformed: read
        (2, 3, 0, True),  # more than half: refused
        (2, 2, 10, False),  # blank lines do not count as malformed
        (1, 0, 0, False),  # a one-pair file is a file
    ],
)
def test_malformed_share_rule(tmp_path, num_pairs, num_malformed, num_blank, refused):
    path = tmp_path / "pairs.txt"
    lines = ["Go.\tVa !"] * num_pairs + ["no tab"] * num_malformed + [""] * num_blank
    path.write_text("\n".join(lines) + "\n", "utf-8")
    if refused:
        with pytest.raises(ValueError, match="is mostly not pairs"):
            read_sentence_pairs(path)
    else:
        assert len(read_sentence_pairs(path)) == num_pairs


def test_max_malformed_share_out_of_range_is_a_value_error(tmp_path):
    with pytest.raises(ValueError, match=r"max_malformed_share.*\[0, 1\]; received 1.5"):
        read_sentence_pairs(tmp_path / "pairs.txt", max_malformed_share=1.5)


@pytest.mark.parametrize(
    "content, message",
    [
        (b"", "is empty \\(0 bytes\\)"),
        (b"\x7fELF\x02\x01\x01\x00\x00\x00\tnot\ttext\n", "looks binary \\(NUL bytes"),
        ("Go.\tVa !\n".encode("utf-16"), "is UTF-16 text; convert it.*iconv"),
    ],
    ids=["empty", "binary", "utf-16"],
)
def test_empty_binary_and_utf16_files_are_refused_by_name(tmp_path, content, message):
    path = tmp_path / "data.txt"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=f"^'{path}' {message}"):
        read_sentence_pairs(path)


@pytest.mark.parametrize("device", ["/bin/ls", "/dev/zero"])
def test_a_program_and_an_endless_device_are_refused_as_binary(device):
    # The report: `--data /bin/ls` read 1 "pair" and died in SentencePiece.
    # `/dev/zero` never ends: refusing it shows the check reads only the start.
    if not Path(device).exists():
        pytest.skip(f"{device} is absent here")
    with pytest.raises(ValueError, match=f"^'{device}' looks binary"):
        read_sentence_pairs(device)


def test_nul_byte_after_the_probed_start_costs_only_its_line(tmp_path):
    path = tmp_path / "pairs.txt"
    good = b"".join(b"Go %d.\tVa %d !\n" % (i, i) for i in range(5000))  # > 64 KiB
    path.write_bytes(good + b"Run!\tCo\x00urs !\n" + b"Hi.\tSalut.\n")
    corpus = read_sentence_pairs(path)
    assert len(good) > 65_536
    assert len(corpus) == 5001
    assert corpus.skipped == [(5001, "NUL byte")]


def test_a_line_of_10_megabytes_is_skipped_not_read(tmp_path):
    longest = zoo.data.sentence_pairs.MAX_LINE_BYTES
    path = tmp_path / "pairs.txt"
    path.write_bytes(
        b"Go.\tVa !\n"
        + b"a" * (longest - 2)
        + b"\tb\n"  # 2: exactly the limit, read
        + b"a" * (longest - 1)
        + b"\tb\n"  # 3: one byte over, skipped
        + b"word " * 2_000_000
        + b"\tmot\n"  # 4: 10 MB
        + b"Hi.\tSalut.\n"
    )
    corpus = read_sentence_pairs(path)
    assert [len(english) for english, _ in corpus.pairs] == [3, longest - 2, 3]
    assert corpus.skipped == [(3, "longer than 10,000 bytes"), (4, "longer than 10,000 bytes")]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Va\u202f!", "Va !"),
        ("\u00abBonjour\u00a0\u00bb", "\u00abBonjour \u00bb"),
        ("  deux   espaces\t", "deux espaces"),
        ("L'Été — déjà !", "L'Été — déjà !"),  # Case, accents and dashes are kept.
    ],
)
def test_normalize_text(text, expected):
    assert normalize_text(text) == expected


def _pairs_with_repeated_sources() -> list[tuple[str, str]]:
    # Source i has i % 4 + 1 translations, interleaved so that groups are not contiguous.
    pairs = [
        (f"sentence {i}", f"traduction {i}.{k}") for k in range(4) for i in range(200) if k <= i % 4
    ]
    return pairs


def test_split_keeps_every_translation_of_a_source_together():
    pairs = _pairs_with_repeated_sources()
    splits = split_by_source(pairs, validation_fraction=0.1, test_fraction=0.2, seed=3)

    assert isinstance(splits, DataSplits)
    sources = [{english for english, _ in split} for split in splits]
    assert not sources[0] & sources[1]
    assert not sources[0] & sources[2]
    assert not sources[1] & sources[2]
    # Nothing lost, nothing duplicated.
    assert Counter(splits.train + splits.validation + splits.test) == Counter(pairs)
    # Sizes reach their fraction, overshooting by less than one group (at most 4 pairs).
    assert 0.2 * len(pairs) <= len(splits.test) < 0.2 * len(pairs) + 4
    assert 0.1 * len(pairs) <= len(splits.validation) < 0.1 * len(pairs) + 4
    # Each split keeps the input order.
    for split in splits:
        positions = [pairs.index(pair) for pair in split]
        assert positions == sorted(positions)


def test_split_is_deterministic_by_seed():
    pairs = _pairs_with_repeated_sources()
    assert split_by_source(pairs, 0.1, 0.1, seed=0) == split_by_source(pairs, 0.1, 0.1, seed=0)
    assert (
        split_by_source(pairs, 0.1, 0.1, seed=0).test
        != split_by_source(pairs, 0.1, 0.1, seed=1).test
    )


def test_split_with_zero_fractions_keeps_everything_for_training():
    pairs = _pairs_with_repeated_sources()
    train, validation, test = split_by_source(pairs, 0.0, 0.0)
    assert (train, validation, test) == (pairs, [], [])


@pytest.mark.parametrize(
    "validation_fraction, test_fraction, message",
    [(-0.1, 0.1, "validation_fraction"), (0.1, 1.0, "test_fraction"), (0.5, 0.5, "below 1")],
)
def test_split_rejects_bad_fractions(validation_fraction, test_fraction, message):
    with pytest.raises(ValueError, match=message):
        split_by_source([("a", "b")], validation_fraction, test_fraction)


def test_docstring_examples_run():
    assert doctest.testmod(zoo.data.sentence_pairs).failed == 0


@pytest.mark.shared_data
def test_reads_the_shared_tatoeba_file(fra_eng_path):
    corpus = read_sentence_pairs(fra_eng_path)
    assert len(corpus.pairs) == 142_787
    assert corpus.skipped == []
    assert corpus.pairs[:2] == [("Go.", "Va !"), ("Run!", "Cours !")]
    assert not any("\u202f" in french or "\u00a0" in french for _, french in corpus.pairs)

    splits = split_by_source(corpus.pairs, 0.05, 0.05, seed=0)
    train_sources = {english for english, _ in splits.train}
    assert not train_sources & {english for english, _ in splits.test}
    assert not train_sources & {english for english, _ in splits.validation}
    # "Run!" has two translations ("Cours !", "Courez !"); both land in the same split.
    [run_split] = [split for split in splits if ("Run!", "Cours !") in split]
    assert ("Run!", "Courez !") in run_split


def test_corpus_readers_import_without_tensorflow():
    # The JAX test machine has no TensorFlow; `zoo.data`'s TensorFlow-free modules must
    # import there. `zoo.data` loads the TensorFlow modules only when they are used.
    code = (
        "import sys; sys.modules['tensorflow'] = None; "
        "from zoo.data import generate_en_fr_pairs, read_sentence_pairs, split_by_source; "
        "import zoo.data.en_fr_lexicon"
    )
    env = {**os.environ, "KERAS_BACKEND": "jax"}
    subprocess.run([sys.executable, "-c", code], check=True, env=env, cwd=REPO_ROOT)
