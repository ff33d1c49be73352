"""Data cards: what a model was trained on, with its licence and attribution, once each.

A card travels into presets (`metadata.json`) and exports (`zoo.json`, the model card). The
corpora zoo generates itself carry their own (`embedded_corpus_card`, `corpus_card`); the
real data sets of `../shared/data` are described here.
"""

from __future__ import annotations

SST2_CITATION = (
    "Richard Socher, Alex Perelygin, Jean Wu, Jason Chuang, Christopher Manning, Andrew Ng "
    "and Christopher Potts. Recursive Deep Models for Semantic Compositionality Over a "
    "Sentiment Treebank. EMNLP 2013."
)
SST2_LICENCE = "distributed for research; cite the paper (see citation)"
SST2_CARD = {
    "name": "SST-2 (GLUE), Stanford Sentiment Treebank",
    "licence": SST2_LICENCE,
    "citation": SST2_CITATION,
    "also": "Wang et al. 2018, GLUE: A Multi-Task Benchmark and Analysis Platform for Natural "
    "Language Understanding",
}
TATOEBA_CARD = {
    "name": "Tatoeba English-French (manythings.org/anki, 2017-09-29)",
    "licence": "CC BY 2.0",
    "attribution": "Attribution: www.manythings.org/anki and tatoeba.org",
}
SHAKESPEARE_CARD = {
    "name": "tinyshakespeare (Karpathy, char-rnn)",
    "licence": "public domain (the works of Shakespeare)",
}
