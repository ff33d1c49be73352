"""Sources as people type them: the `informal` edit, the training share, and the score on
lower-cased sources without final punctuation (against sacreBLEU computed here)."""

import sacrebleu

from zoo.tasks import translate as translation


def test_informal_lowers_and_drops_final_punctuation_only():
    assert translation.informal("The Ball is red.") == "the ball is red"
    assert translation.informal("Where is it?! ") == "where is it"
    assert translation.informal("Mr. Smith, hi") == "mr. smith, hi"
    assert translation.informal("...") == ""


def test_the_share_edits_sources_only():
    pairs = [(f"Sentence {i}.", f"Phrase {i}.") for i in range(200)]
    assert translation.with_informal_sources(pairs, 0.0) == pairs
    everything = translation.with_informal_sources(pairs, 1.0)
    assert everything == [(f"sentence {i}", f"Phrase {i}.") for i in range(200)]
    half = translation.with_informal_sources(pairs, 0.5, seed=3)
    edited = sum(source != original[0] for (source, _), original in zip(half, pairs))
    assert 70 < edited < 130 and [t for _, t in half] == [t for _, t in pairs]


def test_evaluate_as_typed_scores_both_forms_against_the_same_references(monkeypatch):
    seen = []

    def echo(model, tokenizer, sources, **decoding):  # a "model" that copies its input
        seen.append(list(sources))
        return list(sources)

    monkeypatch.setattr(translation, "translate_texts", echo)
    sources = ["The ball is red.", "Where are the children?", "I see the cat."]
    result = translation.evaluate_as_typed(None, None, sources, sources)
    typed = ["the ball is red", "where are the children", "i see the cat"]
    assert seen[-1] == typed
    assert result["bleu"] == 100.0
    expected = sacrebleu.corpus_bleu(typed, [sources]).score
    assert abs(result["informal"]["bleu"] - expected) < 0.05
    assert abs(result["informal_gap"] - (100.0 - expected)) < 0.05 and expected < 60
