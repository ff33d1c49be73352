"""`zoo.load` answers the same from a preset, a run folder and an export, for every task;
each task's preprocessor makes the same inputs in numpy and in the export's graph ops."""

import json

import numpy as np
import pytest

import zoo
from tests.export.conftest import (
    CLASS_NAMES,
    CLASSIFY_MAX_LENGTH,
    FILL_MASK_MAX_LENGTH,
    GENERATE_CONTEXT,
    LIMITS,
    TRANSLATE_MAX_SOURCE_LENGTH,
)

OPTIONS = {
    "translate": dict(max_source_length=TRANSLATE_MAX_SOURCE_LENGTH, **LIMITS["translate"]),
    "generate": dict(context_length=GENERATE_CONTEXT, **LIMITS["generate"]),
    "fill_mask": dict(max_length=FILL_MASK_MAX_LENGTH),
    "classify": dict(class_names=list(CLASS_NAMES), max_length=CLASSIFY_MAX_LENGTH),
}
TEXTS = {
    "translate": ["the ball is red", "The small cat sees the black dog.", "   ", ""],
    "generate": ["Once upon", "", "é🙂 x"],
    "fill_mask": ["the [MASK] sat", "[MASK] and [MASK] again"],
    "classify": ["A quiet film, but I liked it.", "", "awful, awful, awful"],
}
# The calls compared, with settings a request would send.
CALLS = {
    "translate": [("translate", {}), ("translate", {"beam_width": 2, "max_length": 6})],
    "generate": [
        ("generate", {"max_new_tokens": 8, "temperature": 0.0}),
        ("generate", {"max_new_tokens": 8, "temperature": 0.9, "top_k": 5, "seed": 3}),
        ("generate", {"max_new_tokens": 8, "top_p": 0.8, "seed": 11}),
        ("score", {}),
    ],
    "fill_mask": [("fill_mask", {}), ("fill_mask", {"top_k": 2})],
    "classify": [("classify", {})],
}


def assert_same_answers(got, expected, where):
    """Strings and ids exactly; probabilities and log-likelihoods within float32 rounding."""
    if isinstance(expected, dict):
        assert got.keys() == expected.keys(), where
        for key in expected:
            assert_same_answers(got[key], expected[key], f"{where}[{key!r}]")
    elif isinstance(expected, list):
        assert len(got) == len(expected), where
        for index, (a, b) in enumerate(zip(got, expected)):
            assert_same_answers(a, b, f"{where}[{index}]")
    elif isinstance(expected, float):
        assert got == pytest.approx(expected, abs=1e-4, rel=1e-4), where
    else:
        assert got == expected, where


@pytest.mark.slow
@pytest.mark.parametrize("task", ["translate", "generate", "fill_mask", "classify"])
def test_load_answers_the_same_from_preset_run_folder_and_export(task, tiny_exports, tmp_path):
    export = tiny_exports[task]
    model = zoo.attach(export.model, export.tokenizer, **OPTIONS[task])
    preset = zoo.save_to_preset(model, tmp_path / "preset", family="transformer")
    run_dir = tmp_path / "run"
    zoo.save_to_preset(model, run_dir / "preset", family="transformer")

    forms = {
        "model in code": model,
        "preset": zoo.load(preset),
        "run folder": zoo.load(run_dir),
        "export": zoo.load(export.path),
        "export's model folder": zoo.load(export.path.parent),
    }
    assert type(forms["export"]).__name__ == "ExportedModel"
    for method, settings in CALLS[task]:
        expected = getattr(model, method)(TEXTS[task], **settings)
        for form, loaded in forms.items():
            got = getattr(loaded, method)(TEXTS[task], **settings)
            assert_same_answers(got, expected, f"{form}.{method}({settings})")


@pytest.mark.slow
def test_empty_texts_translate_to_empty_text(tiny_exports):
    export = tiny_exports["translate"]
    model = zoo.attach(export.model, export.tokenizer, **OPTIONS["translate"])
    assert model.translate(["", "  ", "the ball"])[:2] == ["", ""]


@pytest.mark.parametrize("task", ["translate", "generate", "fill_mask", "classify"])
def test_numpy_and_graph_preprocessing_make_the_same_inputs(task, tiny_exports):
    """The in-process route (numpy, no TensorFlow) and the export's graph ops, on the same
    texts: the same ids, padding included."""
    import tensorflow as tf

    from zoo.export.text_graph import graph_text_tokenizer
    from zoo.tasks.base import preprocessor_class

    export = tiny_exports[task]
    model_task = export.model.config.task
    preprocessor = preprocessor_class(model_task)(export.tokenizer, **OPTIONS[task])
    text_graph = graph_text_tokenizer(export.tokenizer)
    texts = [*TEXTS[task], "a much longer text " * 6]
    if task == "fill_mask":
        texts = [t for t in texts if "[MASK]" in t] + ["no blank here", "x " * 20 + "[MASK]"]
    if task == "generate":
        ids, steps = preprocessor.inputs(texts, 5, limit=None)
        graph_ids, graph_steps = preprocessor.graph_inputs(text_graph, tf.constant(texts), 5)
        assert int(graph_steps) == steps
    else:
        ids = preprocessor.inputs(texts)
        graph_ids = preprocessor.graph_inputs(text_graph, tf.constant(texts))
    np.testing.assert_array_equal(np.asarray(graph_ids), np.asarray(ids))


def test_loading_a_folder_that_is_nothing_says_what_it_takes(tmp_path):
    with pytest.raises(FileNotFoundError, match="preset folder"):
        zoo.load(tmp_path / "missing")
    (tmp_path / "notes").mkdir()
    with pytest.raises(ValueError, match="neither a preset folder"):
        zoo.load(tmp_path / "notes")
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "export.json").write_text(json.dumps({"checkpoint": "x.keras"}))
    with pytest.raises((FileNotFoundError, KeyError)):
        zoo.load(tmp_path / "run")
