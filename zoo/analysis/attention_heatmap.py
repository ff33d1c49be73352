"""The picture the seed describes: which source words each target word attends to."""

from __future__ import annotations

import os

import numpy as np


def attention_matrix(model, tokenizer, source: str, target: str):
    """Encoder-decoder attention of `model` for one sentence pair, averaged over heads.

    Returns `(weights (T, S), source_pieces, target_pieces)`, where target pieces are the
    decoder inputs shifted: row `t` is the attention while predicting target piece `t`. The
    last decoder layer is used (the one closest to the output).
    """
    source_ids = tokenizer.encode([source])[0]
    target_ids = tokenizer.encode([target])[0]
    decoder_ids = [tokenizer.start_id] + target_ids
    layers = model.cross_attention_weights(
        np.array([source_ids], "int32"), np.array([decoder_ids], "int32")
    )
    if not layers:
        raise ValueError(
            f"{type(model).__name__} has no encoder-decoder attention to draw; build it "
            "with use_attention=True (RNN families) or use the transformer."
        )
    weights = np.asarray(layers[-1], dtype="float32")[0].mean(axis=0)  # (T + 1, S)
    vocabulary = tokenizer.get_vocabulary()
    source_pieces = [vocabulary[i] for i in source_ids]
    target_pieces = [vocabulary[i] for i in target_ids] + ["</s>"]
    return weights[: len(target_pieces)], source_pieces, target_pieces


def save_attention_heatmap(model, tokenizer, source: str, target: str, path) -> str:
    """Draw `attention_matrix` as a heatmap PNG at `path`; returns the path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    weights, source_pieces, target_pieces = attention_matrix(model, tokenizer, source, target)
    figure, axis = plt.subplots(
        figsize=(max(5.0, 1.5 + 0.7 * len(source_pieces)), 1.5 + 0.5 * len(target_pieces))
    )
    image = axis.imshow(weights, cmap="viridis", vmin=0.0, vmax=max(1e-6, weights.max()))
    axis.set_xticks(range(len(source_pieces)), source_pieces, rotation=45, ha="right")
    axis.set_yticks(range(len(target_pieces)), target_pieces)
    axis.set_xlabel("source (English)")
    axis.set_ylabel("target (French), predicting")
    axis.set_title(f"encoder-decoder attention\n{source} -> {target}", fontsize=9)
    figure.colorbar(image, ax=axis, fraction=0.046)
    figure.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return str(path)
