"""SavedModel export: `zoo.export(model, tokenizer, "saved_models/name", family=...)`.

Writes `saved_models/<name>/<version>/` (the TensorFlow Serving layout) atomically, with
text-in/text-out signatures, the tokenizer as an asset and a `zoo.json` model card. The
module itself is callable, so `zoo.export(...)` is `zoo.export.export_translator(...)`.
"""

import sys
import types

from zoo.export.model_card import library_versions, model_card
from zoo.export.translator import export_translator
from zoo.export.versioned_directory import (
    atomic_version_directory,
    existing_versions,
    next_version,
)

__all__ = [
    "atomic_version_directory",
    "existing_versions",
    "export_translator",
    "library_versions",
    "model_card",
    "next_version",
]


class _CallableModule(types.ModuleType):
    def __call__(self, *args, **kwargs):
        return export_translator(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
