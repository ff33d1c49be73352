from __future__ import annotations

import doctest

import pytest

import zoo.data.synthetic_en_fr
from zoo.data import (
    EMBEDDED_CORPUS_LICENCE,
    embedded_corpus_card,
    generate_en_fr_pairs,
)
from zoo.data.en_fr_lexicon import ADJECTIVES, NOUNS, PREPOSITIONS, VERBS
from zoo.data.synthetic_en_fr import (
    NounPhrase,
    action_sentence,
    attribute_sentence,
    location_sentence,
)

NOUN = {noun.english: noun for noun in NOUNS}
ENGLISH_NOUN = {form: noun for noun in NOUNS for form in (noun.english, noun.english_plural)}
ADJECTIVE = {adjective.english: adjective for adjective in ADJECTIVES}
VERB = {verb.english_singular: verb for verb in VERBS}
PREPOSITION = {preposition.english: preposition for preposition in PREPOSITIONS}


@pytest.fixture(scope="module")
def pairs() -> list[tuple[str, str]]:
    return generate_en_fr_pairs(num_pairs=3000, seed=0)


def test_the_grammar_produces_the_briefs_examples():
    ball = NounPhrase(NOUN["ball"])
    assert attribute_sentence(ball, ADJECTIVE["red"]) == ("the ball is red", "la balle est rouge")

    red_balls = NounPhrase(NOUN["ball"], plural=True, adjective=ADJECTIVE["red"])
    assert location_sentence(red_balls, PREPOSITION["on"], NounPhrase(NOUN["table"])) == (
        "the red balls are on the table",
        "les balles rouges sont sur la table",
    )


@pytest.mark.parametrize(
    "phrase, english, french",
    [
        (NounPhrase(NOUN["cat"], definite=False), "a cat", "un chat"),
        (NounPhrase(NOUN["apple"], definite=False), "an apple", "une pomme"),
        (NounPhrase(NOUN["tree"]), "the tree", "l'arbre"),  # Elision.
        (NounPhrase(NOUN["man"]), "the man", "l'homme"),  # Mute h.
        (NounPhrase(NOUN["egg"], adjective=ADJECTIVE["white"]), "the white egg", "l'œuf blanc"),
        # A size adjective goes first, so there is nothing to elide before.
        (NounPhrase(NOUN["tree"], adjective=ADJECTIVE["big"]), "the big tree", "le grand arbre"),
        (
            NounPhrase(NOUN["house"], plural=True, adjective=ADJECTIVE["white"]),
            "the white houses",
            "les maisons blanches",
        ),
        (
            NounPhrase(NOUN["mouse"], plural=True, definite=False, adjective=ADJECTIVE["grey"]),
            "grey mice",
            "des souris grises",
        ),
        # `des` becomes `de` before a plural adjective.
        (
            NounPhrase(NOUN["ball"], plural=True, definite=False, adjective=ADJECTIVE["small"]),
            "small balls",
            "de petites balles",
        ),
        (NounPhrase(NOUN["horse"], plural=True), "the horses", "les chevaux"),
    ],
)
def test_noun_phrases(phrase, english, french):
    assert (phrase.english(), phrase.french()) == (english, french)


def test_verbs_agree_and_prepositions_contract():
    children = NounPhrase(NOUN["child"], plural=True)
    cake = NounPhrase(NOUN["cake"], definite=False)
    beds = NounPhrase(NOUN["bed"], plural=True)
    assert action_sentence(children, VERB["eats"], cake, (PREPOSITION["near"], beds)) == (
        "the children eat a cake near the beds",
        "les enfants mangent un gâteau près des lits",
    )
    girl = NounPhrase(NOUN["girl"], adjective=ADJECTIVE["small"])
    bed = NounPhrase(NOUN["bed"])
    assert action_sentence(girl, VERB["has"], cake, (PREPOSITION["next to"], bed)) == (
        "the small girl has a cake next to the bed",
        "la petite fille a un gâteau à côté du lit",
    )
    assert location_sentence(girl, PREPOSITION["far from"], NounPhrase(NOUN["tree"])) == (
        "the small girl is far from the tree",
        "la petite fille est loin de l'arbre",
    )


# French words by what they say about gender and number; "souris" and "gris" are both.
_ARTICLE_FEATURES = {
    "le": {("m", False)},
    "un": {("m", False)},
    "du": {("m", False)},
    "la": {("f", False)},
    "une": {("f", False)},
    "les": {("m", True), ("f", True)},
    "des": {("m", True), ("f", True)},
    "de": {("m", True), ("f", True)},
}


def _features(words_by_features) -> dict[str, set[tuple[str, bool]]]:
    features: dict[str, set[tuple[str, bool]]] = {}
    for word, feature in words_by_features:
        features.setdefault(word, set()).add(feature)
    return features


_NOUN_FEATURES = _features(
    (form, (noun.gender, plural))
    for noun in NOUNS
    for form, plural in ((noun.french, False), (noun.french_plural, True))
)
_ADJECTIVE_FEATURES = _features(
    (adjective.french(gender, plural), (gender, plural))
    for adjective in ADJECTIVES
    for gender in "mf"
    for plural in (False, True)
)
_VERB_NUMBER = {"est": False, "sont": True}
_ENGLISH_VERB_NUMBER = {"is": False, "are": True}
for _verb in VERBS:
    _VERB_NUMBER.update({_verb.french_singular: False, _verb.french_plural: True})
    _ENGLISH_VERB_NUMBER.update({_verb.english_singular: False, _verb.english_plural: True})


def _noun_phrases(words: list[str]) -> list[tuple[int, set[tuple[str, bool]]]]:
    """(index of the noun, gender and number its article, adjectives and noun allow)."""
    phrases = []
    for index, word in enumerate(words):
        noun = word.removeprefix("l'")
        if noun not in _NOUN_FEATURES:
            continue
        allowed = set(_NOUN_FEATURES[noun])
        if word.startswith("l'"):
            allowed &= {("m", False), ("f", False)}
        before = index - 1
        if before >= 0 and words[before] in _ADJECTIVE_FEATURES:
            allowed &= _ADJECTIVE_FEATURES[words[before]]
            before -= 1
        if not word.startswith("l'") and before >= 0 and words[before] in _ARTICLE_FEATURES:
            allowed &= _ARTICLE_FEATURES[words[before]]
        after = index + 1
        if after < len(words) and words[after] in _ADJECTIVE_FEATURES:
            allowed &= _ADJECTIVE_FEATURES[words[after]]
        phrases.append((index, allowed))
    return phrases


def test_every_french_noun_phrase_agrees_in_gender_and_number(pairs):
    for _, french in pairs:
        words = french.split()
        phrases = _noun_phrases(words)
        assert phrases, french
        for _, allowed in phrases:
            assert allowed, f"disagreement in {french!r}"


def test_plural_subjects_take_plural_verbs_and_adjectives(pairs):
    num_plural = num_predicates = 0
    for english, french in pairs:
        words = french.split()
        verb_index = next(i for i, word in enumerate(words) if word in _VERB_NUMBER)
        subject_index, subject_features = _noun_phrases(words)[0]
        assert subject_index < verb_index, french
        plural = words[0] in ("les", "des", "de")
        num_plural += plural
        assert {is_plural for _, is_plural in subject_features} == {plural}, french
        assert _VERB_NUMBER[words[verb_index]] == plural, french
        english_verb = next(word for word in english.split() if word in _ENGLISH_VERB_NUMBER)
        assert _ENGLISH_VERB_NUMBER[english_verb] == plural, english
        if verb_index == len(words) - 2 and words[-1] in _ADJECTIVE_FEATURES:
            # "les balles sont rouges": the predicate agrees with the subject too.
            assert subject_features & _ADJECTIVE_FEATURES[words[-1]], french
            num_predicates += 1
    assert 0.3 < num_plural / len(pairs) < 0.5  # Plural subjects are sampled 40% of the time.
    assert 0.2 < num_predicates / len(pairs) < 0.3  # "X is ADJ" is a quarter of the corpus.


def test_colours_follow_the_noun_and_sizes_precede_it(pairs):
    num_checked = 0
    for english, french in pairs:
        english_words = english.split()
        for adjective_word, noun_word in zip(english_words[:-1], english_words[1:], strict=True):
            adjective = ADJECTIVE.get(adjective_word)
            noun = ENGLISH_NOUN.get(noun_word)
            if adjective is None or noun is None:
                continue
            plural = noun_word == noun.english_plural
            noun_fr = noun.french_plural if plural else noun.french
            adjective_fr = adjective.french(noun.gender, plural)
            if adjective.before_noun:
                expected = f"{adjective_fr} {noun_fr}"
            else:
                expected = f"{noun_fr} {adjective_fr}"
            assert expected in french, (english, french)
            num_checked += 1
    assert num_checked > 1000


def test_the_corpus_uses_the_whole_lexicon(pairs):
    english_words = {word for english, _ in pairs for word in english.split()}
    french_words = {word.removeprefix("l'") for _, french in pairs for word in french.split()}
    for noun in NOUNS:
        assert {noun.english, noun.english_plural} & english_words, noun
        assert {noun.french, noun.french_plural} & french_words, noun
    for adjective in ADJECTIVES:
        assert adjective.english in english_words, adjective
    for verb in VERBS:
        assert {verb.english_singular, verb.english_plural} & english_words, verb
        assert {verb.french_singular, verb.french_plural} & french_words, verb
    for preposition in PREPOSITIONS:
        stem = preposition.french.removesuffix(" de")
        assert any(f" {preposition.english} the " in english for english, _ in pairs)
        assert any(f" {stem} " in french for _, french in pairs), preposition


def test_same_seed_same_pairs_other_seed_other_pairs(pairs):
    assert generate_en_fr_pairs(num_pairs=3000, seed=0) == pairs
    other = generate_en_fr_pairs(num_pairs=3000, seed=1)
    assert other != pairs
    assert len(set(other) & set(pairs)) < 300  # Mostly different sentences, not a reshuffle.


def test_pairs_are_unique_and_each_source_has_one_translation(pairs):
    assert len(set(pairs)) == len(pairs)
    assert len({english for english, _ in pairs}) == len(pairs)


def test_sentences_are_lower_case_single_spaced_without_final_punctuation(pairs):
    for english, french in pairs:
        for sentence in (english, french):
            assert sentence == sentence.lower() == " ".join(sentence.split())
            assert sentence[-1].isalpha()
    assert max(len(english.split()) for english, _ in pairs) <= 14


@pytest.mark.parametrize("num_pairs", [0, -5, 2.5, True])
def test_bad_num_pairs_is_a_value_error(num_pairs):
    with pytest.raises(ValueError, match="positive int"):
        generate_en_fr_pairs(num_pairs=num_pairs)


def test_corpus_card():
    assert embedded_corpus_card(num_pairs=100, seed=7) == {
        "name": "zoo-synthetic-en-fr",
        "licence": EMBEDDED_CORPUS_LICENCE,
        "generator": "zoo.data.generate_en_fr_pairs",
        "num_pairs": 100,
        "seed": 7,
    }


def test_docstring_examples_run():
    assert doctest.testmod(zoo.data.synthetic_en_fr).failed == 0
