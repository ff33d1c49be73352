"""PNG figures of gradient norms and step times, drawn with matplotlib's object API (no
pyplot state, no display needed)."""

from __future__ import annotations

import os

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, NullFormatter

# Plain numbers (0.3, 2, 100) on log axes instead of 3 × 10⁻¹.
PLAIN_NUMBERS = FuncFormatter(lambda value, _: f"{value:g}")

MODEL_COLORS = {
    "simple_rnn": "tab:red",
    "lstm": "tab:blue",
    "gru": "tab:orange",
    "transformer": "tab:green",
}
OTHER_COLORS = ("tab:purple", "tab:brown", "tab:olive", "tab:cyan", "tab:pink")


def _state_label_parts(label: str) -> tuple[str, bool]:
    """`"lstm cell c"` -> `("lstm", True)`; `"simple_rnn h"` -> `("simple_rnn", False)`."""
    if label.endswith(" cell c"):
        return label[: -len(" cell c")], True
    return label.removesuffix(" h"), False


def save_figure(figure: Figure, path) -> str:
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    FigureCanvasAgg(figure)
    figure.savefig(path, dpi=120, bbox_inches="tight")
    return str(path)


def plot_gradient_norms(curves: dict, path, title: str = "") -> str:
    """`curves`: `{panel title: {line label: (T,) norms in time order}}`; plots each norm
    against the distance from the loss, `T - 1 - t`, on a log scale."""
    figure = Figure(figsize=(6.5 * len(curves), 4.5))
    models = dict.fromkeys(
        _state_label_parts(label)[0] for lines in curves.values() for label in lines
    )
    others = iter(OTHER_COLORS)
    colors = {model: MODEL_COLORS.get(model) or next(others, None) for model in models}
    for index, (panel, lines) in enumerate(curves.items()):
        axes = figure.add_subplot(1, len(curves), index + 1)
        for label, norms in lines.items():
            norms = np.asarray(norms, dtype="float64")
            distance = np.arange(len(norms))[::-1]
            model, is_cell = _state_label_parts(label)
            if is_cell:  # its last entry is 0: the final c is handed to no later step
                norms, distance = norms[:-1], distance[:-1]
            style = "--" if is_cell else "-"
            axes.plot(distance, np.maximum(norms, 1e-30), style, color=colors[model], label=label)
        axes.set_yscale("log")
        axes.set_xlabel("distance from the loss, T − 1 − t (steps)")
        axes.set_ylabel("‖∂L/∂state_t‖ (log scale)")
        axes.set_title(panel)
        axes.grid(True, which="both", alpha=0.3)
        axes.legend()
    if title:
        # Above the panel titles, however many lines they take.
        lines = max(panel.count("\n") + 1 for panel in curves)
        figure.suptitle(title, y=0.98 + 0.06 * lines)
    return save_figure(figure, path)


def plot_step_times(lengths, seconds: dict, path, title: str = "") -> str:
    """Left: forward + backward time per family against T (log–log). Right: each recurrent
    family's time divided by the Transformer's."""
    figure = Figure(figsize=(12, 4.2))
    times = figure.add_subplot(1, 2, 1)
    ratios = figure.add_subplot(1, 2, 2)
    for model, values in seconds.items():
        color = MODEL_COLORS.get(model)
        times.plot(lengths, np.asarray(values) * 1000, "o-", color=color, label=model)
        if model != "transformer" and "transformer" in seconds:
            ratio = np.asarray(values) / np.asarray(seconds["transformer"])
            ratios.plot(lengths, ratio, "o-", color=color, label=f"{model} / transformer")
    for axes in (times, ratios):
        axes.set_xscale("log", base=2)
        axes.set_xlabel("sequence length T")
        axes.grid(True, which="both", alpha=0.3)
        axes.legend()
    times.set_yscale("log")
    times.set_ylabel("forward + backward, ms (log scale)")
    times.set_title("Step time")
    ratios.axhline(1.0, color="gray", ls="--")
    ratios.set_yscale("log")
    for axes in (times, ratios):
        axes.yaxis.set_major_formatter(PLAIN_NUMBERS)
        low, high = axes.get_ylim()
        if high / low < 20:  # label the minor ticks too, when less than ~one decade shows
            axes.yaxis.set_minor_formatter(PLAIN_NUMBERS)
            axes.tick_params(axis="y", which="minor", labelsize=7)
        else:
            axes.yaxis.set_minor_formatter(NullFormatter())
    ratios.set_ylabel("time ratio (log scale)")
    ratios.set_title("Recurrent time / Transformer time")
    if title:
        figure.suptitle(title)
    return save_figure(figure, path)
