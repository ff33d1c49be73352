"""What a task supplies, and the table of tasks by the model task they serve.

A task is where zoo's services meet for one kind of model: how its text becomes `fit()`
batches, how it is compiled, how a trained model answers text in process, and which
signatures its SavedModel offers. Recipes and `zoo.export_model` look a task up by the model's
`config.task`; nothing outside `zoo/tasks` branches on task names.
"""

from __future__ import annotations

import difflib
import importlib
import os
from pathlib import Path

from zoo.export.archive import Endpoint, require_tensorflow_backend, write_version

_TASKS: dict[str, Task] = {}
# Imported (so registered) on the first look-up: most need TensorFlow.
BUILT_IN_BY_MODEL_TASK = {
    "classify": "zoo.tasks.classify",
    "mlm": "zoo.tasks.fill_mask",
    "lm": "zoo.tasks.generate",
    "seq2seq": "zoo.tasks.translate",
}
BUILT_IN = tuple(sorted(BUILT_IN_BY_MODEL_TASK.values()))


class Task:
    """One product: subclasses set `name` (the product, e.g. "translate") and `model_task`
    (the registry task its models are built for, e.g. "seq2seq"), and implement
    `compile`, the text-level prediction and `endpoints`."""

    name: str = ""
    model_task: str = ""
    # Its `zoo.tasks.preprocessor.Preprocessor` subclass: tokenizer + settings, the text
    # methods in process and on an export. None: a task without text (`regress`).
    preprocessor_class: type | None = None

    def compile(self, model, **options):
        """Compile `model` with this task's defaults (loss, metrics, optimiser)."""
        raise NotImplementedError

    def endpoints(self, model, text_graph, **options) -> list[Endpoint]:
        """The export's signatures; the first, with its `defaults` fixed, is also
        `serving_default` (`zoo.export.archive.serving_default`)."""
        raise NotImplementedError

    def decoding_card(self, **options) -> dict:
        """The decoding settings an export records in its model card."""
        return {}

    def export(
        self,
        model,
        tokenizer,
        directory: str | os.PathLike,
        *,
        family: str,
        data: dict | None = None,
        metrics: dict | None = None,
        version: int | None = None,
        verbose: bool = False,
        **options,
    ) -> Path:
        """Write `directory/<version>/` with this task's endpoints; see `export_model`."""
        require_tensorflow_backend()
        from zoo.export.text_graph import graph_text_tokenizer

        text_graph = graph_text_tokenizer(tokenizer)
        return write_version(
            model,
            directory,
            endpoints=self.endpoints(model, text_graph, **options),
            family=family,
            tracked=(text_graph,),
            assets=text_graph.assets,
            data=data,
            metrics=metrics,
            decoding=self.decoding_card(**options),
            tokenizer=text_graph.card,
            version=version,
            verbose=verbose,
        )


def export_model(model, tokenizer, directory, **options) -> Path:
    """Export `model` with the signatures of its task, `directory/<version>/`, atomically.

    Args:
        model: a zoo model; its `config.task` picks the task (`get_task`).
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
            `no_repeat_ngram_size`; fill-mask: `top_k=5`). A model's preprocessor holds the
            same options (`zoo.load`).

    Returns:
        The path of the new version.
    """
    return get_task(model).export(model, tokenizer, directory, **options)


def register_task(task: Task) -> Task:
    if task.model_task in _TASKS:
        raise ValueError(f"A task for {task.model_task!r} models is already registered.")
    _TASKS[task.model_task] = task
    return task


def get_task(model_or_task) -> Task:
    """The task of a zoo model (by its `config.task`), or of a registry task name."""
    _import_built_in()
    if isinstance(model_or_task, str):
        model_task = model_or_task
    else:
        model_task = getattr(getattr(model_or_task, "config", None), "task", None)
        if model_task is None:
            raise TypeError(
                f"{type(model_or_task).__name__} is not a zoo model (it has no `config.task`); "
                "build one with `zoo.build(name, task=...)`."
            )
    if model_task not in _TASKS:
        by_product = {task.name: task for task in _TASKS.values()}
        if model_task in by_product:
            return by_product[model_task]
        valid = sorted(_TASKS)
        close = difflib.get_close_matches(str(model_task), valid, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ValueError(
            f"zoo has no text product for {model_task!r} models yet; tasks with one: "
            f"{', '.join(valid)}.{hint}"
        )
    return _TASKS[model_task]


def preprocessor_class(model_task: str) -> type:
    """The preprocessor class of a registry task (`"seq2seq"` -> `TranslatePreprocessor`),
    importing that task's module alone (translation's needs no TensorFlow)."""
    if model_task in BUILT_IN_BY_MODEL_TASK and model_task not in _TASKS:
        importlib.import_module(BUILT_IN_BY_MODEL_TASK[model_task])
    task = _TASKS.get(model_task) or get_task(model_task)
    if task.preprocessor_class is None:
        raise ValueError(f"{model_task!r} models take no text, so they have no preprocessor.")
    return task.preprocessor_class


def list_task_products() -> dict[str, str]:
    """`{model task: product name}` of every registered task."""
    _import_built_in()
    return {model_task: task.name for model_task, task in sorted(_TASKS.items())}


def _import_built_in() -> None:
    for module in BUILT_IN:
        importlib.import_module(module)
