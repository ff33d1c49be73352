"""Held-out accuracy against training time, one line per run: where a person would rather
look than read a table of families and budgets."""

from __future__ import annotations

from matplotlib.figure import Figure

from zoo.analysis.plots import MODEL_COLORS, OTHER_COLORS, save_figure


def plot_accuracy_curves(curves: dict, path, *, title: str = "", goal: float | None = None) -> str:
    """`curves`: `{label: [(seconds, accuracy), ...]}` in time order; a label that starts
    with a family name (`"lstm, pre-trained"`) takes that family's colour, and labels with
    "pre-trained" are dashed. `goal` draws a dotted horizontal line."""
    figure = Figure(figsize=(7, 4.5))
    axes = figure.add_subplot(1, 1, 1)
    spare = iter(OTHER_COLORS)
    for label, points in curves.items():
        if not points:
            continue
        family = label.split(",")[0].split(" ")[0]
        color = MODEL_COLORS.get(family) or next(spare, None)
        style = "o--" if "pre-trained" in label else "o-"
        seconds, accuracy = zip(*points)
        axes.plot([s / 60 for s in seconds], accuracy, style, color=color, label=label)
    if goal is not None:
        axes.axhline(goal, color="gray", ls=":", label=f"goal {goal:.0%}")
    axes.set_xlabel("training time (minutes, this machine)")
    axes.set_ylabel("accuracy on held-out sentences")
    axes.grid(alpha=0.3)
    axes.legend(loc="lower right", fontsize=9)
    if title:
        axes.set_title(title)
    return save_figure(figure, path)
