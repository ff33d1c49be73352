"""Presets: a trained model saved as one folder, and back in one call.

Two things carry the word "preset", as in keras-hub:

- a registry *configuration*, looked up by name: `zoo.build("transformer", preset="small")`
  builds an untrained model of that size (`zoo.list_presets("transformer")`);
- a preset *folder*, a trained model on disk, loaded by path: `zoo.save_to_preset(model,
  "my_model")` writes it and `zoo.from_preset("my_model")` gives the model back with its
  preprocessor (tokenizer and settings), ready to `translate`, `generate`, `score`,
  `fill_mask` or `classify` text.

A preset folder holds:

| file | what |
|---|---|
| `config.json` | format, registry family, model config (the dataclass's fields) |
| `model.weights.h5` | the weights (Keras's `save_weights`) |
| `preprocessor.json` | the task's preprocessor settings and its tokenizer's description |
| `tokenizer/` | the tokenizer's files (a SentencePiece model; none for bytes) |
| `metadata.json` | family, task, library versions, the data card with its licence, metrics |

Nothing in it is code: the model is rebuilt from the registry by its family name and
config fields (so loading is safe in the sense of Keras's `safe_mode`: no lambda, no class
named by the file). Writing is atomic: the folder is written beside its destination and
renamed into place, so a crash leaves the previous preset (or none), never half of one.

`zoo.load(path)` takes a preset folder, a recipe's run folder or an exported SavedModel
and returns an object with the task's text methods, which answer the same for the same
model whichever form it was loaded from.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import os
import shutil
import uuid
from collections.abc import Mapping
from pathlib import Path

from zoo import registry
from zoo.export.versioned_directory import newest_version_folder

FORMAT = "zoo-preset"
FORMAT_VERSION = 1
CONFIG = "config.json"
WEIGHTS = "model.weights.h5"
PREPROCESSOR = "preprocessor.json"
METADATA = "metadata.json"
FILES = (CONFIG, WEIGHTS, PREPROCESSOR, METADATA)
RUN_PRESET = "preset"  # the preset folder inside a recipe's run folder


# --- Saving ---------------------------------------------------------------------------------


def save_to_preset(
    model,
    path: str | os.PathLike,
    *,
    family: str | None = None,
    data: Mapping | None = None,
    metrics: Mapping | None = None,
) -> Path:
    """Write `model`, its preprocessor and metadata to the folder `path`, atomically.

    Args:
        model: a zoo model (`zoo.build`); with a preprocessor attached (`zoo.attach`) for
            the text methods to work after loading. A `regress` model has none.
        path: the preset folder; replaced whole if it exists.
        family: the registry name (`"transformer"`, `"lstm"`, ...); default: found from the
            model (`family_of`).
        data: the training data's card (name, licence, attribution, sizes).
        metrics: the run's figures (BLEU, accuracy, loss, ...).

    Returns:
        The folder's path.

    Example:
    >>> import tempfile, zoo
    >>> model = zoo.build("lstm", task="regress", preset="tiny")
    >>> folder = zoo.save_to_preset(model, tempfile.mkdtemp() + "/regressor")
    >>> zoo.from_preset(folder).count_params() == model.count_params()
    True
    """
    from zoo.export.model_card import library_versions
    from zoo.tasks.preprocessor import save_tokenizer

    family = family or family_of(model)
    registry.get_family(family)  # an unknown name is an error before anything is written
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.parent / f".{path.name}.tmp-{uuid.uuid4().hex[:8]}"
    temporary.mkdir()
    try:
        config = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "family": family,
            "task": model.config.task,
            "config": dataclasses.asdict(model.config),
        }
        _write_json(temporary / CONFIG, config)
        model.save_weights(temporary / WEIGHTS)
        preprocessor = getattr(model, "preprocessor", None)
        if preprocessor is not None:
            description = {
                **preprocessor.get_config(),
                "tokenizer": save_tokenizer(preprocessor.tokenizer, temporary),
            }
        else:
            description = None
        _write_json(temporary / PREPROCESSOR, description)
        _write_json(
            temporary / METADATA,
            {
                "family": family,
                "task": model.config.task,
                "parameters": int(model.count_params()),
                "dtype_policy": model.dtype_policy.name,
                "libraries": library_versions(),
                "created": datetime.datetime.now(datetime.timezone.utc).isoformat(
                    timespec="seconds"
                ),
                "data": dict(data or {}),
                "metrics": dict(metrics or {}),
            },
        )
        _sync_folder(temporary)
        _replace(temporary, path)
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise
    return path


def family_of(model) -> str:
    """The registry family a zoo model was built from."""
    cell_type = getattr(model, "cell_type", None)
    if cell_type is not None and cell_type in registry.list_models():
        return cell_type
    config = getattr(model, "config", None)
    matches = [
        name
        for name in registry.list_models()
        if isinstance(config, registry.get_family(name).config_class)
    ]
    if len(matches) == 1:
        return matches[0]
    raise ValueError(
        f"Cannot tell which registered family {type(model).__name__} is "
        f"(candidates: {matches or registry.list_models()}); pass family=..."
    )


def _replace(temporary: Path, path: Path) -> None:
    """`temporary` becomes `path`; an existing `path` is moved aside first and removed after,
    so that at every moment one complete folder is at `path` or beside it."""
    old = None
    if path.exists():
        if not (path / CONFIG).is_file() and any(path.iterdir()):
            raise FileExistsError(
                f"{path} exists and is not a preset folder; choose another path (a preset "
                "replaces only a preset)."
            )
        old = path.parent / f".{path.name}.old-{uuid.uuid4().hex[:8]}"
        os.replace(path, old)
    os.replace(temporary, path)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _write_json(path: Path, value) -> None:
    path.write_text(json.dumps(value, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _sync_folder(folder: Path) -> None:
    for file in folder.rglob("*"):
        if file.is_file():
            with open(file, "rb") as handle:
                os.fsync(handle.fileno())


# --- Loading --------------------------------------------------------------------------------


def from_preset(path: str | os.PathLike):
    """The task model saved in the preset folder `path`, with its preprocessor attached.

    Raises:
        FileNotFoundError: no such folder, or a file of the preset is missing (named).
        ValueError: the folder is not a zoo preset, or a file is damaged (named).
    """
    path = _preset_folder(path)
    config = _read_json(path / CONFIG)
    if not isinstance(config, dict) or config.get("format") != FORMAT:
        raise ValueError(
            f'{path / CONFIG} is not a zoo preset\'s config (no "format": "{FORMAT}"); '
            "a preset folder is written by zoo.save_to_preset."
        )
    if config.get("format_version", 0) > FORMAT_VERSION:
        raise ValueError(
            f"{path} was written by a newer zoo (preset format {config['format_version']}; "
            f"this zoo reads up to {FORMAT_VERSION}); upgrade zoo to load it."
        )
    family = registry.get_family(config.get("family"))
    try:
        model_config = family.config_class(**config["config"])
    except (TypeError, ValueError, KeyError) as error:
        raise ValueError(
            f"{path / CONFIG} holds an invalid {family.name} config: {error}"
        ) from None
    model = family.builder(model_config)
    weights = path / WEIGHTS
    try:
        model.load_weights(weights)
    except Exception as error:  # h5py and Keras raise many kinds on a damaged file
        raise ValueError(
            f"Cannot load the weights in {weights} ({type(error).__name__}: "
            f"{str(error)[:300]}); the file is damaged or from another model."
        ) from None
    description = _read_json(path / PREPROCESSOR)
    if description is not None:
        model.preprocessor = _preprocessor(path, description, model_config.task)
    return model


def read_metadata(path: str | os.PathLike) -> dict:
    """The preset's `metadata.json` (family, task, versions, data card, metrics)."""
    return _read_json(_preset_folder(path) / METADATA)


def attach(model, tokenizer, *, strict: bool = True, **options):
    """Attach a preprocessor to `model` (its task's, from `tokenizer` and the task's options)
    so that it answers text; returns the model. `strict=False` takes an export's options and
    keeps the preprocessor's among them (the others shape only the export).

    Example: `zoo.attach(model, tokenizer, class_names=["negative", "positive"])`."""
    from zoo.tasks.base import preprocessor_class

    cls = preprocessor_class(model.config.task)
    if not strict:
        options = {key: value for key, value in options.items() if key in cls.option_names}
    model.preprocessor = cls(tokenizer, **options)
    return model


def _preprocessor(folder: Path, description: Mapping, model_task: str):
    from zoo.tasks.base import preprocessor_class
    from zoo.tasks.preprocessor import load_tokenizer

    file = folder / PREPROCESSOR
    if not isinstance(description, dict) or "tokenizer" not in description:
        raise ValueError(f"{file} lacks the tokenizer's description; write it with save_to_preset.")
    try:
        tokenizer = load_tokenizer(folder, description["tokenizer"])
    except (ValueError, KeyError) as error:
        raise ValueError(f"{file}: {error}") from None
    return preprocessor_class(model_task)(tokenizer, **description.get("options", {}))


def _preset_folder(path) -> Path:
    folder = Path(path)
    if not folder.exists():
        hint = ""
        if "/" not in str(path) and os.sep not in str(path):
            hint = (
                f" {str(path)!r} may be a registry configuration: those are built untrained "
                f"with zoo.build(name, preset={str(path)!r}) (see zoo.list_presets(name)); "
                "from_preset takes a folder written by zoo.save_to_preset."
            )
        raise FileNotFoundError(f"No preset folder at {folder}.{hint}")
    if not folder.is_dir():
        raise ValueError(f"{folder} is a file; a preset is a folder (zoo.save_to_preset).")
    missing = [name for name in FILES if not (folder / name).is_file()]
    if missing:
        raise FileNotFoundError(
            f"{folder} is not a complete preset folder: {', '.join(missing)} "
            f"{'is' if len(missing) == 1 else 'are'} missing (a preset holds {', '.join(FILES)}"
            "). For a run folder or an export, use zoo.load(path)."
        )
    return folder


def _read_json(path: Path):
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FileNotFoundError(f"{path} is missing.") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ValueError(f"{path} is damaged: not JSON ({error}).") from None


# --- One call from a path to an answer -----------------------------------------------------


def load(path: str | os.PathLike):
    """A trained model that answers text, from a preset folder, a recipe's run folder or an
    exported SavedModel (a version folder, or the model folder: its newest version).

    Returns the task model with its preprocessor (preset, run folder) or an `ExportedModel`
    (export); both have the task's text methods with the same settings and answers:
    `translate(texts, beam_width=, max_length=)`, `generate(prompts, max_new_tokens=,
    temperature=, top_k=, top_p=, seed=)`, `score(texts)`, `fill_mask(texts, top_k=)`,
    `classify(texts)`.

    Example:

    ```python
    translator = zoo.load("runs/translate")           # or its preset, or saved_models/...
    translator.translate(["the ball is red"])          # ['La balle est rouge.']
    ```
    """
    folder = Path(path)
    if not folder.exists():
        raise FileNotFoundError(
            f"Nothing at {folder}; zoo.load takes a preset folder (zoo.save_to_preset), a "
            "recipe's run folder or an exported SavedModel folder."
        )
    if (folder / CONFIG).is_file():
        return from_preset(folder)
    if (folder / RUN_PRESET / CONFIG).is_file():
        return from_preset(folder / RUN_PRESET)
    version = newest_version_folder(folder)
    if version is not None:
        return ExportedModel(version)
    if (folder / "export.json").is_file():
        return from_run_request(folder)
    raise ValueError(
        f"{folder} is neither a preset folder ({CONFIG}), a run folder ({RUN_PRESET}/ or "
        "export.json) nor an export (saved_model.pb, or version folders holding one)."
    )


def from_run_request(run_dir: str | os.PathLike):
    """The model a run folder's `export.json` names (checkpoint, tokenizer, export options),
    with its preprocessor: what `write_preset` saves, and how `load` reads a run written
    before presets existed."""
    import keras

    import zoo.models  # noqa: F401  (registers the classes the checkpoint names)
    from zoo.tasks.preprocessor import BYTES, SENTENCEPIECE, load_tokenizer

    run_dir = Path(run_dir)
    request = _read_json(run_dir / "export.json")
    checkpoint = run_dir / request["checkpoint"]
    if not checkpoint.is_file():
        raise FileNotFoundError(f"{checkpoint}, named by {run_dir / 'export.json'}, is missing.")
    model = keras.saving.load_model(checkpoint, compile=False, safe_mode=True)
    if request["tokenizer"] == BYTES:
        description = {"type": BYTES}
    else:
        description = {"type": SENTENCEPIECE, "file": f"{request['tokenizer']}/sentencepiece.model"}
    return attach(
        model, load_tokenizer(run_dir, description), **request.get("options", {}), strict=False
    )


class ExportedModel:
    """An exported SavedModel with the text methods of its task, on TensorFlow alone.

    `zoo.load(export_folder)` returns one; it answers as the model it was exported from
    (`from_preset`) does, through the export's signatures.
    """

    def __init__(self, version_folder: str | os.PathLike):
        import tensorflow as tf
        import tensorflow_text  # noqa: F401  (the SentencePiece ops of the graph)

        from zoo.export.model_card import MODEL_CARD

        self.path = Path(version_folder)
        card_path = self.path / "assets" / MODEL_CARD
        self.card = _read_json(card_path)
        self.task = self.card.get("task")
        self.family = self.card.get("family")
        self._loaded = tf.saved_model.load(str(self.path))
        self.signatures = self._loaded.signatures

    @property
    def text_methods(self) -> tuple[str, ...]:
        from zoo.tasks.base import preprocessor_class

        return preprocessor_class(self.task).text_methods

    def _call(self, method: str, *args, **settings):
        from zoo.tasks.base import preprocessor_class

        if method not in self.text_methods:
            raise ValueError(
                f"This export ({self.task}) cannot `{method}`; it can "
                f"{', '.join(f'`{name}`' for name in self.text_methods)}."
            )
        implementation = getattr(preprocessor_class(self.task), f"{method}_exported")
        return implementation(self.signatures, self.card, *args, **settings)

    def translate(self, texts, **settings):
        return self._call("translate", texts, **settings)

    def generate(self, prompts, **settings):
        return self._call("generate", prompts, **settings)

    def score(self, texts):
        return self._call("score", texts)

    def fill_mask(self, texts, **settings):
        return self._call("fill_mask", texts, **settings)

    def classify(self, texts):
        return self._call("classify", texts)

    def __repr__(self) -> str:
        return f"ExportedModel({str(self.path)!r}, task={self.task!r}, family={self.family!r})"
