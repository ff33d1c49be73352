from __future__ import annotations

import io

import keras
import numpy as np
import pytest
import sentencepiece
import tensorflow as tf
import tensorflow_text

from zoo.data import (
    SubwordTokenizer,
    generate_en_fr_pairs,
    ids_to_ragged,
    normalize_text,
    read_sentence_pairs,
)

# Normalised sentences (single spaces, no spaces at the ends) that a French corpus holds.
TRICKY = [
    "L'homme n'a pas vu l'œuf.",
    "Où est-il ? « Ici ! » — c'est ça… Noël à Zürich.",
    "Ça coûte 3,50 € 🙂 👍🏽 😀",
    "PARIS est en France, paris est un pari.",
]


@pytest.fixture(scope="module")
def tokenizer() -> SubwordTokenizer:
    pairs = generate_en_fr_pairs(num_pairs=2000, seed=0)
    sentences = [sentence for pair in pairs for sentence in pair] + TRICKY[:2]
    return SubwordTokenizer.train(sentences, vocabulary_size=500, seed=0)


def test_special_ids(tokenizer):
    assert (tokenizer.pad_id, tokenizer.unk_id, tokenizer.start_id, tokenizer.end_id) == (
        0,
        1,
        2,
        3,
    )
    assert tokenizer.get_vocabulary()[:5] == ["<pad>", "<unk>", "<s>", "</s>", "<0x00>"]
    assert 300 < tokenizer.vocabulary_size <= 500
    assert len(tokenizer.get_vocabulary()) == tokenizer.vocabulary_size


def test_round_trip_keeps_accents_apostrophes_emoji_and_case(tokenizer):
    token_ids = tokenizer.tokenize(TRICKY)
    assert isinstance(token_ids, tf.RaggedTensor)
    assert token_ids.dtype == tf.int32
    assert token_ids.shape.as_list() == [len(TRICKY), None]
    # Byte fallback: characters never seen in training are spelt in bytes, never <unk>.
    assert tokenizer.unk_id not in token_ids.flat_values.numpy()
    assert [text.decode("utf-8") for text in tokenizer.detokenize(token_ids).numpy()] == TRICKY
    assert tokenizer.decode(tokenizer.encode(TRICKY)) == TRICKY
    assert tokenizer.encode(TRICKY) == token_ids.to_list()
    # Case-sensitive: nothing is lower-cased.
    assert tokenizer.encode(["Paris"]) != tokenizer.encode(["paris"])


def test_emoji_are_utf8_bytes(tokenizer):
    pieces = [tokenizer.get_vocabulary()[i] for i in tokenizer.encode(["🙂"])[0]]
    assert pieces[-4:] == ["<0xF0>", "<0x9F>", "<0x99>", "<0x82>"]  # "🙂".encode("utf-8")


def test_one_string_gives_a_dense_vector(tokenizer):
    token_ids = tokenizer.tokenize("la balle est rouge")
    assert isinstance(token_ids, tf.Tensor) and token_ids.shape.rank == 1
    assert token_ids.numpy().tolist() == tokenizer.encode(["la balle est rouge"])[0]
    assert tokenizer.detokenize(token_ids).numpy() == b"la balle est rouge"


def test_the_graph_path_matches_the_eager_path(tokenizer):
    # Inside tf.data keras-nlp runs tensorflow-text's op, eagerly the sentencepiece package.
    dataset = tf.data.Dataset.from_tensor_slices(TRICKY).map(tokenizer.tokenize)
    assert [ids.numpy().tolist() for ids in dataset] == tokenizer.encode(TRICKY)

    @tf.function
    def round_trip(texts):
        return tokenizer.detokenize(tokenizer.tokenize(texts))

    assert [text.decode("utf-8") for text in round_trip(tf.constant(TRICKY)).numpy()] == TRICKY


def test_setting_the_random_seed_after_building_does_not_break_the_graph_path():
    # keras.utils.set_random_seed clears TensorFlow's eager kernel cache, where
    # tensorflow-text keeps the SentencePiece model; tracing must not capture a dead one.
    sentences = [sentence for pair in generate_en_fr_pairs(200, seed=2) for sentence in pair]
    tokenizer = SubwordTokenizer.train(sentences, 300)
    expected = tokenizer.encode(["la balle"])
    keras.utils.set_random_seed(7)
    dataset = tf.data.Dataset.from_tensor_slices(["la balle"]).map(tokenizer.tokenize)
    assert [ids.numpy().tolist() for ids in dataset] == expected
    keras.utils.set_random_seed(8)
    assert tf.function(tokenizer.tokenize)(tf.constant(["la balle"])).to_list() == expected


def test_padding_start_and_end_ids_decode_to_nothing(tokenizer):
    ids = tokenizer.encode(["la balle est rouge", "le chat"])
    padded = np.zeros((2, 12), np.int32)
    for row, sequence in enumerate(ids):
        framed = [tokenizer.start_id, *sequence, tokenizer.end_id]
        padded[row, : len(framed)] = framed
    expected = [b"la balle est rouge", b"le chat"]
    assert tokenizer.detokenize(tf.constant(padded)).numpy().tolist() == expected
    assert tokenizer.decode(padded) == ["la balle est rouge", "le chat"]
    assert tokenizer.decode(ids_to_ragged(ids)) == ["la balle est rouge", "le chat"]


def test_save_and_load(tokenizer, tmp_path):
    path = tokenizer.save(tmp_path / "assets")
    assert path == tmp_path / "assets" / "sentencepiece.model"
    assert path.read_bytes() == tokenizer.proto
    assert tokenizer.proto_path == path
    for where in (path, path.parent):
        loaded = SubwordTokenizer.load(where)
        assert loaded.proto_path == path
        assert loaded.encode(TRICKY) == tokenizer.encode(TRICKY)
    # An export needs TensorFlow Text alone to read the file.
    tf_text_tokenizer = tensorflow_text.SentencepieceTokenizer(model=path.read_bytes())
    assert tf_text_tokenizer.tokenize(TRICKY).to_list() == tokenizer.encode(TRICKY)


def test_load_without_a_model_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="No SentencePiece model.*sentencepiece.model"):
        SubwordTokenizer.load(tmp_path)


@pytest.mark.parametrize("model_type", ["bpe", "unigram"])
def test_training_is_deterministic(model_type):
    sentences = [sentence for pair in generate_en_fr_pairs(300, seed=1) for sentence in pair]
    first = SubwordTokenizer.train(sentences, 350, model_type=model_type, seed=0)
    second = SubwordTokenizer.train(sentences, 350, model_type=model_type, seed=0)
    assert first.proto == second.proto
    assert first.decode(first.encode(sentences)) == sentences


def test_too_small_a_vocabulary_says_how_big_it_must_be():
    with pytest.raises(ValueError, match="leaves no room for sub-words"):
        SubwordTokenizer.train(["la balle"], vocabulary_size=100)
    many_characters = [
        "".join(chr(0x4E00 + i) for i in range(j, j + 40)) for j in range(0, 400, 40)
    ]
    with pytest.raises(ValueError, match=r"too small for this text.*Pass vocabulary_size >= \d+"):
        SubwordTokenizer.train(many_characters, vocabulary_size=300, character_coverage=1.0)


def test_unknown_model_type_lists_the_valid_ones():
    with pytest.raises(ValueError, match=r"one of \('unigram', 'bpe'\)"):
        SubwordTokenizer.train(["la balle"], model_type="wordpiece")


def test_a_model_with_other_special_ids_is_refused():
    model = io.BytesIO()
    sentencepiece.SentencePieceTrainer.train(
        sentence_iterator=iter(["la balle est rouge"] * 10),
        model_writer=model,
        vocab_size=20,
        hard_vocab_limit=False,
    )
    with pytest.raises(ValueError, match="0 is padding everywhere"):
        SubwordTokenizer(model.getvalue())


@pytest.mark.shared_data
def test_round_trip_on_tatoeba(fra_eng_path):
    pairs = read_sentence_pairs(fra_eng_path).pairs[::7]  # 20,000 pairs, all lengths.
    sentences = [sentence for pair in pairs for sentence in pair]
    tokenizer = SubwordTokenizer.train(sentences, vocabulary_size=2000)
    token_ids = tokenizer.encode(sentences)
    assert tokenizer.decode(token_ids) == sentences
    assert all(normalize_text(sentence) == sentence for sentence in sentences)
    assert not any(tokenizer.unk_id in ids for ids in token_ids)
