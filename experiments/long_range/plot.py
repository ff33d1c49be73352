"""The long-range sweep as a figure: recall accuracy and adding MSE against T."""

from __future__ import annotations

from matplotlib.figure import Figure

from experiments.long_range.models import describe_model
from experiments.long_range.report import summarize
from zoo.analysis.plots import MODEL_COLORS, save_figure
from zoo.data.long_range_tasks import ADDING_BASELINE_MSE, recall_chance


def plot_long_range(results, config, path) -> str:
    """Recall accuracy and adding MSE against T (log axis), one line per model, with the
    range over seeds shaded, chance and the baseline dashed."""
    summaries = summarize(results)
    tasks = list(dict.fromkeys(s.task for s in summaries))
    figure = Figure(figsize=(6 * len(tasks), 4.2))
    for index, task in enumerate(tasks):
        axes = figure.add_subplot(1, len(tasks), index + 1)
        for model in dict.fromkeys(s.model for s in summaries):
            cells = sorted(
                (s for s in summaries if s.model == model and s.task == task),
                key=lambda s: s.length,
            )
            if not cells:
                continue
            lengths = [c.length for c in cells]
            color = MODEL_COLORS.get(model)
            label = describe_model(model, config.gate_init)
            axes.plot(lengths, [c.mean for c in cells], "o-", color=color, label=label)
            axes.fill_between(
                lengths, [c.low for c in cells], [c.high for c in cells], color=color, alpha=0.2
            )
        axes.set_xscale("log")
        axes.set_xlabel("sequence length T (log scale)")
        if task == "recall":
            axes.axhline(recall_chance(config.num_symbols), color="gray", ls="--", label="chance")
            axes.set_ylim(0, 1.05)
            axes.set_ylabel("test accuracy")
            axes.set_title("Recall the first of T tokens")
        else:
            axes.axhline(ADDING_BASELINE_MSE, color="gray", ls="--", label="always 1.0")
            axes.set_yscale("log")
            axes.set_ylabel("test MSE (log scale)")
            axes.set_title("Adding problem")
        axes.grid(True, which="both", alpha=0.3)
        axes.legend()
    figure.suptitle(
        f"Same budget per cell: ≤ {config.max_steps} steps × {config.batch_size} sequences, "
        f"Adam {config.learning_rate:g}; {len(config.seeds)} seed(s), range shaded; "
        f"gate init {config.gate_init}"
    )
    return save_figure(figure, path)
