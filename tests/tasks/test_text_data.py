"""Bytes as tokens and running-text windows, against values written out by hand."""

import keras
import numpy as np
import pytest

if keras.config.backend() != "tensorflow":
    pytest.skip("the text pipelines are tf.data", allow_module_level=True)

import tensorflow as tf  # noqa: E402

from zoo.data import ByteTokenizer, read_text, split_text  # noqa: E402
from zoo.data.text_stream import training_dataset, validation_dataset  # noqa: E402
from zoo.export.text_graph import graph_text_tokenizer  # noqa: E402

TEXTS = ["hi", "", "été 😀", "a\tb\nc"]


def test_bytes_after_the_special_ids():
    tokenizer = ByteTokenizer()
    assert tokenizer.encode(["hi"]) == [[ord("h") + 4, ord("i") + 4]]
    assert tokenizer.encode(["é"]) == [[0xC3 + 4, 0xA9 + 4]]
    assert tokenizer.decode(tokenizer.encode(TEXTS)) == TEXTS
    # Special ids vanish; a cut UTF-8 sequence becomes U+FFFD, never an error.
    assert tokenizer.decode([[2, 108, 109, 3, 0, 0]]) == ["hi"]
    assert tokenizer.decode([[0xC3 + 4]]) == ["\ufffd"]


def test_graph_tokenizer_matches_python():
    tokenizer = ByteTokenizer()
    graph = graph_text_tokenizer(tokenizer)
    ids = graph.tokenize(tf.constant(TEXTS))
    assert ids.to_list() == tokenizer.encode(TEXTS)
    assert tokenizer.tokenize(TEXTS).to_list() == tokenizer.encode(TEXTS)
    padded = [[2, *row, 3, 0, 0] for row in tokenizer.encode(TEXTS)] + [[0xC3 + 4, 0, 0]]
    width = max(len(row) for row in padded)
    dense = tf.constant([row + [0] * (width - len(row)) for row in padded])
    texts = [t.decode("utf-8") for t in graph.detokenize(dense).numpy()]
    assert texts == tokenizer.decode(padded)


def test_windows_start_with_the_start_id_and_predict_the_next_byte():
    ids = np.arange(10, 40, dtype="int32")
    (inputs, labels), *_ = validation_dataset(ids, 4, 2, score_first=True).as_numpy_iterator()
    np.testing.assert_array_equal(inputs, [[2, 10, 11, 12, 13], [2, 14, 15, 16, 17]])
    np.testing.assert_array_equal(labels, [[10, 11, 12, 13, 14], [14, 15, 16, 17, 18]])
    (_, masked), *_ = validation_dataset(ids, 4, 2).as_numpy_iterator()
    np.testing.assert_array_equal(masked[:, 0], [0, 0])  # the start position is not scored
    windows = len(list(validation_dataset(ids, 4, 1).as_numpy_iterator()))
    assert windows == (len(ids) - 1) // 4
    batches = training_dataset(ids, 4, 3, seed=1).take(20)
    for inputs, labels in batches.as_numpy_iterator():
        assert (inputs[:, 0] == 2).all()
        np.testing.assert_array_equal(inputs[:, 2:], labels[:, 1:-1])
        np.testing.assert_array_equal(labels[:, 1:] - labels[:, :-1], 1)  # consecutive
    first = [x[0].tolist() for x in training_dataset(ids, 4, 3, seed=1).take(3).as_numpy_iterator()]
    again = training_dataset(ids, 4, 3, seed=1).take(3).as_numpy_iterator()
    assert first == [x[0].tolist() for x in again]


def test_bad_text_files_are_clear_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="No text file"):
        read_text(tmp_path / "missing.txt")
    with pytest.raises(ValueError, match="directory"):
        read_text(tmp_path)
    (tmp_path / "empty.txt").write_text("  \n")
    with pytest.raises(ValueError, match="empty"):
        read_text(tmp_path / "empty.txt")
    (tmp_path / "latin1.txt").write_bytes("ligne 1\ncafé".encode("latin-1"))
    with pytest.raises(ValueError, match="not UTF-8: byte 11 \\(line 2\\)"):
        read_text(tmp_path / "latin1.txt")
    (tmp_path / "binary.bin").write_bytes(b"\x00\x01\x02")
    with pytest.raises(ValueError, match="binary"):
        read_text(tmp_path / "binary.bin")
    with pytest.raises(ValueError, match="looks binary"):  # its first 64 KiB, not forever
        read_text("/dev/zero")
    (tmp_path / "bom.txt").write_bytes("\ufeffhello".encode())
    assert read_text(tmp_path / "bom.txt") == "hello"
    assert split_text("abcdefghij", 0.1) == ("abcdefghi", "j")
    with pytest.raises(ValueError, match="fewer than one window"):
        validation_dataset(np.arange(4, 8), 8, 2)
