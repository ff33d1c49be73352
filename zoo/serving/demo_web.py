"""`zoo demo-web`: a browser demo (Gradio) over exports, one tab per export.

Each export is loaded with TensorFlow (`zoo.serving.versions.LoadedVersion`, warm-up
replayed) and gets the tab its signatures call for: `translate` (text, beam width; with the
attention heatmap of the sentence when a run folder is given), `generate` (temperature,
top-k, top-p, seed, length), `fill_mask` (the top fills with their probabilities) and
`classify` (each class's probability). An export answers text only: its signatures return
no attention weights, so the heatmap needs the trained model itself — `--attention RUN_DIR`
(a translation recipe's run folder: checkpoint and tokenizer, as `export.json` names them)
draws the last decoder layer's cross-attention for the sentence and the export's
translation (`zoo.analysis.attention_heatmap`). Without it the translate tab says so.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from zoo.export.versioned_directory import existing_versions
from zoo.serving.versions import LoadedVersion

NO_HEATMAP = (
    "No attention heatmap: an export's signatures return no attention weights. Start the "
    "demo with --attention RUN_DIR (the run folder that trained this model) to draw it."
)


def load_export(path: str | Path) -> LoadedVersion:
    path = Path(path)
    versions = existing_versions(path) if path.is_dir() else []
    if not versions:
        raise ValueError(f"{path} holds no version folder (1/, 2/, ...); give an export folder.")
    loaded = LoadedVersion(path / str(versions[-1]), versions[-1])
    loaded.warm_up()
    return loaded


def _texts(values) -> list[str]:
    return [value.decode("utf-8", "replace") for value in np.asarray(values).ravel().tolist()]


class AttentionSource:
    """A translation run folder's model and tokenizer, for the heatmap."""

    def __init__(self, run_dir: str | Path):
        import keras

        import zoo.models  # noqa: F401  (registers the classes the checkpoint names)
        from zoo.data import SubwordTokenizer

        run_dir = Path(run_dir)
        request_path = run_dir / "export.json"
        if not request_path.exists():
            raise ValueError(
                f"{run_dir} has no export.json; give the run folder of a translation recipe."
            )
        request = json.loads(request_path.read_text("utf-8"))
        self.model = keras.saving.load_model(run_dir / request["checkpoint"], compile=False)
        self.tokenizer = SubwordTokenizer.load(run_dir / request["tokenizer"])
        self.folder = Path(tempfile.mkdtemp(prefix="zoo-demo-web-"))
        self.count = 0

    def heatmap(self, source: str, translation: str) -> str:
        from zoo.analysis.attention_heatmap import save_attention_heatmap

        self.count += 1
        path = self.folder / f"attention_{self.count}.png"
        return save_attention_heatmap(self.model, self.tokenizer, source, translation, path)


def translate_answer(loaded: LoadedVersion, attention: AttentionSource | None):
    def answer(text: str, beam_width: int):
        settings = loaded.card.get("serving_default", {}).get("defaults", {})
        outputs = loaded.run(
            "translate",
            {
                "text": np.array([text.encode("utf-8")], dtype=object),
                "beam_width": np.array(int(beam_width), "int32"),
                "max_length": np.array(int(settings.get("max_length", 64)), "int32"),
            },
        )
        translation = _texts(outputs["translation"])[0]
        if attention is None or not text.strip() or not translation:
            return translation, None
        return translation, attention.heatmap(text.strip(), translation)

    return answer


def generate_answer(loaded: LoadedVersion):
    def answer(prompt, max_new_tokens, temperature, top_k, top_p, seed):
        outputs = loaded.run(
            "generate",
            {
                "prompt": np.array([prompt.encode("utf-8")], dtype=object),
                "max_new_tokens": np.array(int(max_new_tokens), "int32"),
                "temperature": np.array(float(temperature), "float32"),
                "top_k": np.array(int(top_k), "int32"),
                "top_p": np.array(float(top_p), "float32"),
                "seed": np.array(int(seed), "int32"),
                "no_repeat_ngram_size": np.array(0, "int32"),
            },
        )
        return prompt + _texts(outputs["text"])[0]

    return answer


def fill_mask_answer(loaded: LoadedVersion):
    def answer(text: str, top_k: int):
        outputs = loaded.run(
            "fill_mask",
            {
                "text": np.array([text.encode("utf-8")], dtype=object),
                "top_k": np.array(int(top_k), "int32"),
            },
        )
        tokens = _texts(outputs["tokens"][0])
        probabilities = outputs["probabilities"][0].tolist()
        return {token: p for token, p in zip(tokens, probabilities) if token}

    return answer


def classify_answer(loaded: LoadedVersion):
    def answer(text: str):
        outputs = loaded.run("classify", {"text": np.array([text.encode("utf-8")], dtype=object)})
        names = loaded.card.get("decoding", {}).get("class_names") or [
            str(i) for i in range(outputs["probabilities"].shape[-1])
        ]
        return dict(zip(names, outputs["probabilities"][0].tolist()))

    return answer


def build_app(exports: dict[str, LoadedVersion], attention: AttentionSource | None = None):
    """The Gradio `Blocks` app: a tab per export, by the signatures it offers."""
    import os

    # Nothing leaves the machine: no usage statistics, no version check.
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    import gradio as gr

    with gr.Blocks(title="zoo") as app:
        gr.Markdown("# zoo: exported models")
        for name, loaded in exports.items():
            signatures = set(loaded.signatures)
            with gr.Tab(name):
                if "translate" in signatures:
                    text = gr.Textbox(label="English", value="the ball is red", elem_id="source")
                    beam = gr.Slider(1, 8, value=4, step=1, label="beam width")
                    button = gr.Button("Translate", elem_id="translate")
                    output = gr.Textbox(label="Translation", elem_id="translation")
                    image = gr.Image(label="Attention", type="filepath", elem_id="heatmap")
                    if attention is None:
                        gr.Markdown(NO_HEATMAP)
                    button.click(translate_answer(loaded, attention), [text, beam], [output, image])
                elif "generate" in signatures:
                    prompt = gr.Textbox(label="Prompt", value="the ", elem_id="prompt")
                    length = gr.Slider(1, 200, value=60, step=1, label="new tokens")
                    temperature = gr.Slider(0.0, 2.0, value=0.8, label="temperature")
                    top_k = gr.Slider(0, 100, value=0, step=1, label="top-k (0 = off)")
                    top_p = gr.Slider(0.05, 1.0, value=1.0, label="top-p")
                    seed = gr.Number(value=0, precision=0, label="seed")
                    button = gr.Button("Generate", elem_id="generate")
                    output = gr.Textbox(label="Text", elem_id="generated")
                    button.click(
                        generate_answer(loaded),
                        [prompt, length, temperature, top_k, top_p, seed],
                        output,
                    )
                elif "fill_mask" in signatures:
                    text = gr.Textbox(label="Text with [MASK]", value="the ball [MASK] red")
                    top_k = gr.Slider(1, 20, value=5, step=1, label="fills")
                    button = gr.Button("Fill in", elem_id="fill")
                    output = gr.Label(label="Fills", elem_id="fills")
                    button.click(fill_mask_answer(loaded), [text, top_k], output)
                elif "classify" in signatures:
                    text = gr.Textbox(label="Text", value="a good film")
                    button = gr.Button("Classify", elem_id="classify")
                    output = gr.Label(label="Classes", elem_id="classes")
                    button.click(classify_answer(loaded), text, output)
                else:
                    gr.Markdown(f"No demo for the signatures {sorted(signatures)}.")
    return app


def demo_web(
    paths: Sequence[str | Path],
    *,
    port: int = 7860,
    attention: str | Path | None = None,
) -> None:
    """Load the exports and serve the demo on `port` until interrupted (blocks)."""
    exports = {}
    for path in paths:
        name = Path(path).resolve().name
        if name in exports:
            raise ValueError(f"Two exports are named {name!r}; give folders with distinct names.")
        exports[name] = load_export(path)
    source = AttentionSource(attention) if attention else None
    app = build_app(exports, source)
    app.queue().launch(
        server_name="127.0.0.1",
        server_port=port,
        share=False,
        prevent_thread_lock=False,
        show_error=True,
        allowed_paths=[str(source.folder)] if source else None,
    )
