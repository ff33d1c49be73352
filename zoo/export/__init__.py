"""SavedModel export: `zoo.export(model, tokenizer, "saved_models/name", family=...)`.

Writes `saved_models/<name>/<version>/` (the TensorFlow Serving layout) atomically, with
text-in/text-out signatures, the tokenizer as an asset and a `zoo.json` model card. Which
signatures depends on the model's task (`zoo.tasks`): `translate` for `seq2seq`, `generate`
for `lm`, ...; `serving_default` is the first of them with its settings at the export's
defaults (text alone in), and `assets.extra/tf_serving_warmup_requests` holds a request for
each signature, which TensorFlow Serving runs at load (`zoo.export.warmup`). The module
itself is callable: `zoo.export(...)` is `export_model(...)`.
"""

import sys
import types

from zoo.export.archive import Endpoint, write_version
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
    "export_model",
    "library_versions",
    "model_card",
    "next_version",
    "write_version",
]


def export_model(model, tokenizer, directory, **options):
    """Export `model` with the signatures of its task, `directory/<version>/`, atomically.

    Args:
        model: a zoo model; its `config.task` picks the task (`zoo.tasks.get_task`).
        tokenizer: the tokenizer it was trained with (`zoo.data.SubwordTokenizer` or
            `zoo.data.ByteTokenizer`); it becomes graph ops and an asset.
        directory: the model's folder; versions `1, 2, ...` are created inside it.
        family: the registry name (`"transformer"`, `"lstm"`, ...), for the model card.
        version: an explicit version; default: one more than the largest present.
        data: the training data's description, with its licence and attribution.
        metrics: evaluation figures for the model card.
        **options: the task's export options (translation: `max_source_length`,
            `length_penalty`; generation: `context_length`), among them the settings
            `serving_default` uses (translation: `beam_width=4`, `max_length=64`;
            generation: `max_new_tokens=200`, `temperature=1.0`, `top_k`, `top_p`, `seed`,
            `no_repeat_ngram_size`; fill-mask: `top_k=5`).

    Returns:
        The path of the new version.
    """
    # The task room sits above this one; it is looked up when an export is asked for.
    from zoo.tasks import get_task

    return get_task(model).export(model, tokenizer, directory, **options)


class _CallableModule(types.ModuleType):
    def __call__(self, *args, **kwargs):
        return export_model(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
