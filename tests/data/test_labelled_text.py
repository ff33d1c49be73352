"""Labelled text: reading `text<TAB>label` files with clear errors, and a split that leaks
no held-out sentence into training."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.data.conftest import SHARED_DATA
from zoo.data.labelled_text import (
    generated_sentiment,
    read_labelled_text,
    split_by_sentence,
)

SST2_PATH = SHARED_DATA / "sst2" / "train.tsv"


def write(tmp_path, content, name="data.tsv", mode="w"):
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def test_reads_rows_and_names_classes_in_numeric_order(tmp_path):
    path = write(tmp_path, "sentence\tlabel\nfine film \t10\nbad\t2\nok\t2\n")
    data = read_labelled_text(path)
    assert data.texts == ["fine film", "bad", "ok"]
    assert data.class_names == ("2", "10")  # numeric, not string, order
    assert data.labels.tolist() == [1, 0, 0]
    named = read_labelled_text(path, class_names=("low", "high"))
    assert named.class_names == ("low", "high") and named.labels.tolist() == [1, 0, 0]


def test_skipped_rows_are_counted_with_their_line_numbers(tmp_path, capsys):
    path = write(
        tmp_path, "text\tlabel\ngood\t1\nno tab here\n\t0\na\tb\tc\nbad\t0\nfine\t1\nok\t0\n\n"
    )
    data = read_labelled_text(path)
    assert data.texts == ["good", "bad", "fine", "ok"]
    assert data.skipped_lines == (3, 4, 5)  # the empty last line is not a row
    assert "skipped 3 rows" in capsys.readouterr().out


def test_mostly_malformed_rows_are_refused_with_counts_and_line_numbers(tmp_path):
    # Rows on lines 2, 4 and 7 are good; 3, 5, 6 and 8 are not; line 9 is blank.
    content = "text,label\tx\ngood\t1\nbad,0\nfine\t0\nok,1\na\tb\tc\nnice\t1\n \t1\n\n"
    path = write(tmp_path, content)
    with pytest.raises(ValueError) as error:
        read_labelled_text(path)
    assert str(error.value) == (
        f"'{path}' has mostly malformed rows: 3 rows read, 4 skipped (no tab: 2, more than "
        "one tab: 1, empty text: 1); first skipped lines 3 (no tab), 5 (no tab), 6 (more than "
        "one tab), 8 (empty text). Each row after the header must be a text, one tab and a "
        "label."
    )
    # As many good rows as bad ones is not "mostly malformed".
    data = read_labelled_text(write(tmp_path, content + "fun\t0\n"))
    assert data.skipped_lines == (3, 5, 6, 8)


def test_a_row_of_10_megabytes_is_skipped_and_a_long_row_still_splits(tmp_path, capsys):
    from zoo.data.labelled_text import MAX_ROW_BYTES

    exactly = ("word " * (MAX_ROW_BYTES // 5))[: MAX_ROW_BYTES - 2]  # + "\t1": the limit
    rows = ["good\t1", "bad\t0", exactly + "\t1", exactly + "s\t0", "long " * 2_000_000 + "\t1"]
    data = read_labelled_text(write(tmp_path, "text\tlabel\n" + "\n".join(rows) + "\n"))
    assert [len(text) for text in data.texts] == [4, 3, MAX_ROW_BYTES - 2]
    assert data.skipped_lines == (5, 6)
    assert "skipped 2 rows" in capsys.readouterr().out
    # A 20,000-word row costs 20,000 runs per row length, not 20,000 ** 2 / 2 runs.
    split = split_by_sentence(data.texts + ["word word", "word"], 0.0, 0.0)
    assert split.roots == 3  # "good", "bad" and the long row, which holds the other two


@pytest.mark.parametrize(
    "content, message",
    [
        ("", "is empty"),
        (" \n\r\n", "is empty"),
        ("just text\nmore\n", "no header"),
        ("text\tlabel\nno tab\n", "no `text<TAB>label` row"),
        ("text\tlabel\na\t1\nb\t1\n", "single label"),
        (b"text\tlabel\n\x00\x01\x02", "binary"),
        (b"text\tlabel\nok\t1\ncaf\xe9\t0\n", "line 3"),
        ("text\tlabel\na\t1\n".encode("utf-16"), "is UTF-16 text; convert it"),
    ],
)
def test_unreadable_files_say_what_is_wrong(tmp_path, content, message):
    path = write(tmp_path, content)
    with pytest.raises(ValueError, match=message) as error:
        read_labelled_text(path)
    assert str(error.value).startswith(f"'{path}'")


def test_a_nul_byte_after_the_probed_start_costs_only_its_row(tmp_path):
    path = write(tmp_path, "text\tlabel\n" + "good\t1\nbad\t0\n" * 10_000 + "b\x00d\t0\n")
    assert path.stat().st_size > 65_536
    data = read_labelled_text(path)
    assert len(data.texts) == 20_000
    assert data.skipped_lines == (20_002,)


def test_an_endless_device_is_refused_as_binary():
    # `/dev/zero` never ends: refusing it shows the check reads only the start.
    if not Path("/dev/zero").exists():
        pytest.skip("/dev/zero is absent here")
    with pytest.raises(ValueError, match="^'/dev/zero' looks binary"):
        read_labelled_text("/dev/zero")


def test_missing_files_directories_and_wrong_class_names(tmp_path):
    with pytest.raises(FileNotFoundError, match="generated task"):
        read_labelled_text(tmp_path / "absent.tsv")
    with pytest.raises(IsADirectoryError, match="directory"):
        read_labelled_text(tmp_path)
    path = write(tmp_path, "t\tl\na\t0\nb\t1\n")
    with pytest.raises(ValueError, match="2 distinct labels"):
        read_labelled_text(path, class_names=("one", "two", "three"))


TEXTS = [
    "the film is not good",  # 0: a sentence
    "not good",  # 1: only inside sentence 0
    "good",  # 2: inside sentences 0 and 3
    "the plot is good and fun",  # 3: a sentence
    "fun",  # 4: only inside sentence 3
    "the film",  # 5: only inside sentence 0
    "a dull , dull story",  # 6: a sentence
    "dull",  # 7: only inside sentence 6
]


def spans(text):
    words = text.split()
    return {" ".join(words[a:b]) for a in range(len(words)) for b in range(a + 1, len(words) + 1)}


def test_held_out_sets_are_whole_sentences_and_leak_nothing():
    for seed in range(6):
        split = split_by_sentence(TEXTS, 1 / 3, 1 / 3, seed=seed)
        assert split.roots == 3  # sentences 0, 3 and 6
        held_out = set(split.validation) | set(split.test)
        assert held_out <= {0, 3, 6} and len(split.validation) == len(split.test) == 1
        (training_sentence,) = {0, 3, 6} - held_out
        assert split.train_sentences.tolist() == [training_sentence]
        # Training keeps exactly the rows found in the training sentence.
        expected = {i for i, text in enumerate(TEXTS) if text in spans(TEXTS[training_sentence])}
        assert set(split.train) == expected
        assert split.dropped == len(TEXTS) - len(expected) - 2
        # "good" is in both sentence 0 and 3: it trains whenever either trains.
        if training_sentence in (0, 3):
            assert 2 in split.train


def test_split_is_a_random_row_split_without_sub_phrases_and_deterministic():
    texts = [f"review number {i}" for i in range(100)]
    split = split_by_sentence(texts, 0.1, 0.2, seed=3)
    assert (split.roots, len(split.validation), len(split.test)) == (100, 10, 20)
    assert split.dropped == 0 and len(split.train) == 70
    again = split_by_sentence(texts, 0.1, 0.2, seed=3)
    assert again.validation.tolist() == split.validation.tolist()
    assert (
        split_by_sentence(texts, 0.1, 0.2, seed=4).validation.tolist() != split.validation.tolist()
    )
    with pytest.raises(ValueError, match="validation_share"):
        split_by_sentence(texts, 1.5, 0.1)
    with pytest.raises(ValueError, match="leave rows"):
        split_by_sentence(texts, 0.5, 0.5)


def test_generated_reviews_need_word_order():
    data = generated_sentiment(400, seed=1)
    assert data.class_names == ("negative", "positive")
    assert 0.35 < data.labels.mean() < 0.65
    for text, label in zip(data.texts, data.labels):
        last = text.split(" , but ")[-1].split()
        positive = last[-1] in (
            "good",
            "great",
            "moving",
            "funny",
            "brilliant",
            "charming",
            "clever",
            "fresh",
        )
        assert label == int(positive != ("not" in last))
    assert any(" , but " in text for text in data.texts)


@pytest.mark.slow
@pytest.mark.shared_data
def test_sst2_split_holds_out_sentences_whose_phrases_do_not_train():
    if not SST2_PATH.is_file():
        pytest.skip(f"{SST2_PATH.resolve()} is absent: this test needs ../shared/data/sst2.")
    data = read_labelled_text(SST2_PATH, class_names=("negative", "positive"))
    assert len(data.texts) == 67349 and data.class_counts() == {
        "negative": 29780,
        "positive": 37569,
    }
    split = split_by_sentence(data.texts, 0.05, 0.1, seed=0)
    assert 6000 < split.roots < 8000 and split.dropped > 1000
    held_out = [data.texts[i] for i in (*split.validation, *split.test)]
    held_out_spans = set().union(*(spans(text) for text in held_out))
    training = [data.texts[i] for i in split.train]
    outside_held_out = [f" {row} " for row in training if row not in held_out_spans]
    training_set = set(training)
    rows = [f" {row} " for row in data.texts]
    rng = np.random.default_rng(0)
    for i in rng.choice(split.test, 15, replace=False):
        sentence = data.texts[i]
        assert sentence not in training_set
        # A whole sentence: no other row contains it.
        assert sum(f" {sentence} " in row for row in rows) == 1
        # Its phrases train only when a row outside every held-out sentence has them.
        for phrase in spans(sentence) & training_set:
            assert any(f" {phrase} " in row for row in outside_held_out), phrase
