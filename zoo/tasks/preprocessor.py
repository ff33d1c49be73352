"""A task's preprocessor: its tokenizer and the settings that turn text into model inputs.

keras-hub's Preprocessor idea: the object that travels with a task model (`model.preprocessor`)
so that the model answers text. It holds the tokenizer and the task's settings (the same
options its export takes: translation's `max_source_length` and `length_penalty`,
generation's `context_length`, classification's `class_names`, ...), gives the text methods
their answers in process (`model.translate(...)`, `model.generate(...)`, ...), and is saved
in a preset folder beside the weights (`zoo.presets`).

Each task module defines its subclass (`TranslatePreprocessor` in `zoo.tasks.translate`, ...)
with `inputs(texts)` — text to model inputs in numpy, which needs no TensorFlow (the JAX
route) — and `graph_inputs(text)` — the same in TensorFlow ops, which the export's signatures
call. Tests hold the two equal on the same texts for every task.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path

TOKENIZER_FOLDER = "tokenizer"
BYTES = "bytes"
SENTENCEPIECE = "sentencepiece"


class Preprocessor:
    """Tokenizer + settings for one task; subclasses set `task` and `text_methods`.

    Args:
        tokenizer: a `zoo.data.SubwordTokenizer` or `zoo.data.ByteTokenizer`.
        **options: the task's export options (see each subclass), kept as given so that the
            export and the in-process answers use the same ones.
    """

    task: str = ""  # the product: "translate", "generate", ...
    text_methods: tuple[str, ...] = ()
    option_names: tuple[str, ...] = ()

    def __init__(self, tokenizer, **options):
        unknown = sorted(set(options) - set(self.option_names))
        if unknown:
            raise ValueError(
                f"{type(self).__name__} takes the options {list(self.option_names)}; "
                f"received unknown {unknown}."
            )
        self.tokenizer = tokenizer
        self.options = dict(options)

    def get_config(self) -> dict:
        return {"task": self.task, "options": _plain(self.options)}

    def check_model(self, model) -> None:
        """A `ValueError` when `model` cannot use this preprocessor (override to check more)."""
        vocabulary = getattr(model.config, "vocab_size", None)
        if vocabulary is not None and self.tokenizer.vocabulary_size > vocabulary:
            raise ValueError(
                f"The tokenizer has {self.tokenizer.vocabulary_size} ids but the model's "
                f"vocab_size is {vocabulary}: they were not trained together."
            )

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.tokenizer!r}, **{self.options!r})"


def text_list(texts) -> list[str]:
    """`texts` as a list of strings; a `TypeError` for one string or a non-string item."""
    if isinstance(texts, (str, bytes)):
        raise TypeError("Pass a list of texts, e.g. `[text]`, not one string.")
    texts = list(texts)
    for index, text in enumerate(texts):
        if not isinstance(text, str):
            raise TypeError(f"Text {index} is a {type(text).__name__}, not a string.")
    return texts


# --- The tokenizer on disk ----------------------------------------------------------------


def save_tokenizer(tokenizer, folder: str | os.PathLike) -> dict:
    """Write `tokenizer`'s files into `folder/tokenizer/`; returns its description."""
    from zoo.data import ByteTokenizer

    if isinstance(tokenizer, ByteTokenizer):
        return {"type": BYTES}
    if not hasattr(tokenizer, "proto"):
        raise TypeError(
            f"Cannot save a {type(tokenizer).__name__}: zoo saves `zoo.data.SubwordTokenizer` "
            "(SentencePiece) and `zoo.data.ByteTokenizer` tokenizers."
        )
    path = tokenizer.save(Path(folder) / TOKENIZER_FOLDER)
    return {"type": SENTENCEPIECE, "file": f"{TOKENIZER_FOLDER}/{path.name}"}


def load_tokenizer(folder: str | os.PathLike, description: Mapping):
    """The tokenizer `save_tokenizer` described, from `folder`."""
    from zoo.data import ByteTokenizer, SubwordTokenizer

    kind = description.get("type")
    if kind == BYTES:
        return ByteTokenizer()
    if kind == SENTENCEPIECE:
        path = Path(folder) / description["file"]
        if not path.is_file():
            raise FileNotFoundError(f"The tokenizer file {path} is missing.")
        try:
            return SubwordTokenizer.load(path)
        except Exception as error:  # sentencepiece raises RuntimeError/OSError on junk
            raise ValueError(
                f"{path} is not a SentencePiece model ({type(error).__name__}: {error})."
            ) from None
    raise ValueError(f"Unknown tokenizer type {kind!r} (known: {BYTES!r}, {SENTENCEPIECE!r}).")


def _plain(value):
    """JSON-ready: numpy values to lists and numbers."""
    return json.loads(json.dumps(value, default=_to_json))


def _to_json(value):
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"Cannot save {value!r} ({type(value).__name__}) as a setting.")
