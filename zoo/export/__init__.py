"""SavedModel writing, for every task: `zoo.export_model(model, tokenizer, "saved_models/name",
family=...)` (`zoo.tasks.export_model`) looks up the model's task, which calls in here.

Writes `saved_models/<name>/<version>/` (the TensorFlow Serving layout) atomically, with
text-in/text-out signatures, the tokenizer as an asset and a `zoo.json` model card. Which
signatures depends on the model's task (`zoo.tasks`): `translate` for `seq2seq`, `generate`
for `lm`, ...; `serving_default` is the first of them with its settings at the export's
defaults (text alone in), and `assets.extra/tf_serving_warmup_requests` holds a request for
each signature, which TensorFlow Serving runs at load (`zoo.export.warmup`).

`Endpoint` and `write_version` (`zoo.export.archive`) import TensorFlow on first use, so that
reading an export's folders (`zoo info`) does not.
"""

from zoo.export.model_card import MODEL_CARD, library_versions, model_card
from zoo.export.versioned_directory import (
    atomic_version_directory,
    existing_versions,
    next_version,
)

__all__ = [
    "MODEL_CARD",
    "Endpoint",
    "atomic_version_directory",
    "existing_versions",
    "library_versions",
    "model_card",
    "next_version",
    "write_version",
]


def __getattr__(name):
    if name in ("Endpoint", "write_version"):
        from zoo.export import archive

        return getattr(archive, name)
    raise AttributeError(f"module 'zoo.export' has no attribute {name!r}")
