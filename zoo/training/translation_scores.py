"""Corpus BLEU and chrF with sacreBLEU, the field's standard implementation."""

from __future__ import annotations

from collections.abc import Sequence


def translation_scores(
    hypotheses: Sequence[str], references: Sequence[str], lowercase: bool = False
) -> dict[str, float]:
    """Case-sensitive (by default) corpus BLEU and chrF of `hypotheses` against one reference
    each, with sacreBLEU's default `13a` tokenisation.

    Example:
    >>> translation_scores(["la balle est rouge"], ["la balle est rouge"])["bleu"]
    100.0
    """
    import sacrebleu

    if len(hypotheses) != len(references):
        raise ValueError(
            f"{len(hypotheses)} hypotheses for {len(references)} references; pass one "
            "hypothesis per reference."
        )
    if not hypotheses:
        raise ValueError("No sentences to score; pass at least one hypothesis.")
    bleu = sacrebleu.corpus_bleu(list(hypotheses), [list(references)], lowercase=lowercase)
    chrf = sacrebleu.corpus_chrf(list(hypotheses), [list(references)])
    return {
        "bleu": round(bleu.score, 2),
        "chrf": round(chrf.score, 2),
        "sentences": len(hypotheses),
        "bleu_signature": str(bleu.format(signature=True)),
    }
