"""The zoo's story as checkable claims, and a verdict on each from a sweep's results.

The claims (from the primer this zoo follows): a SimpleRNN loses information beyond about
10 steps; an LSTM carries it across 100 steps and up to about 1000; a Transformer connects
any two positions in one step. They are judged on the recall task, where "remembers" has a
plain meaning — the answer is the first token — and chance is known exactly. The adding
problem is reported alongside as a second witness, and so is the GRU, of which the seed text
claims nothing (`recall_evidence`, `adding_evidence`: per model, what was solved where).
The LSTM's verdict names the gate initialisation it was measured with.
"""

from __future__ import annotations

from dataclasses import dataclass

from experiments.long_range.report import CellSummary, find_summary, summarize
from experiments.long_range.sweep import (
    ADDING_SOLVED_MSE,
    CellResult,
    SweepConfig,
    at_chance,
)
from zoo.data.long_range_tasks import ADDING_BASELINE_MSE, recall_chance

REPRODUCED, NOT_REPRODUCED, NOT_MEASURED = "reproduced", "NOT reproduced", "not measured"
SIMPLE_RNN_CHANCE_BY = 50  # "at chance by T ≈ 20–50"
LSTM_LENGTH, LSTM_STRETCH_LENGTH, LSTM_ACCURACY = 100, 1000, 0.95
TRANSFORMER_MAX_LENGTH, TRANSFORMER_ACCURACY = 1000, 0.99


@dataclass(frozen=True)
class Verdict:
    claim: str
    status: str  # REPRODUCED, NOT_REPRODUCED or NOT_MEASURED
    evidence: str

    def __str__(self):
        return f"[{self.status}] {self.claim}\n    {self.evidence}"


def _recall(summaries, model) -> list[CellSummary]:
    return sorted(
        (s for s in summaries if s.model == model and s.task == "recall"), key=lambda s: s.length
    )


def _accuracies(cells: list[CellSummary]) -> str:
    return ", ".join(f"T={s.length}: {s.mean:.2f}" for s in cells)


def _at_chance_from(cells: list[CellSummary], config: SweepConfig) -> int | None:
    """The shortest length from which every longer measured length is at chance (the mean
    over seeds, judged on all their test sequences); None if the longest is above it."""
    from_length = None
    for cell in reversed(cells):
        if not at_chance(config, cell.mean, cell.num_seeds):
            break
        from_length = cell.length
    return from_length


def judge_simple_rnn(summaries, config: SweepConfig) -> Verdict:
    claim = f"A SimpleRNN is at chance on recall by T ≈ 20–{SIMPLE_RNN_CHANCE_BY}"
    cells = _recall(summaries, "simple_rnn")
    if not cells:
        return Verdict(claim, NOT_MEASURED, "No simple_rnn recall cells in this sweep.")
    from_length = _at_chance_from(cells, config)
    evidence = f"accuracy {_accuracies(cells)} (chance {recall_chance(config.num_symbols):.2f})"
    if from_length is None:
        return Verdict(claim, NOT_REPRODUCED, f"Above chance at every T measured; {evidence}.")
    status = REPRODUCED if from_length <= SIMPLE_RNN_CHANCE_BY else NOT_REPRODUCED
    return Verdict(claim, status, f"At chance from T={from_length} on; {evidence}.")


def judge_lstm(summaries, config: SweepConfig) -> Verdict:
    claim = (
        f"An LSTM scores ≥ {LSTM_ACCURACY:.0%} on recall at T={LSTM_LENGTH} "
        f"(stretch: T={LSTM_STRETCH_LENGTH}); gate init {config.gate_init}"
    )
    cells = _recall(summaries, "lstm")
    at_length = find_summary(summaries, "lstm", "recall", LSTM_LENGTH)
    if at_length is None:
        return Verdict(claim, NOT_MEASURED, f"No lstm recall cell at T={LSTM_LENGTH}.")
    good = [cell.length for cell in cells if cell.mean >= LSTM_ACCURACY]
    longest = f"longest T at ≥ {LSTM_ACCURACY:.0%}: {max(good) if good else 'none'}"
    status = REPRODUCED if at_length.mean >= LSTM_ACCURACY else NOT_REPRODUCED
    stretch = find_summary(summaries, "lstm", "recall", LSTM_STRETCH_LENGTH)
    stretch_text = ""
    if stretch is None and cells and cells[-1].length < LSTM_STRETCH_LENGTH:
        stretch_text = f" Stretch not reached (T={LSTM_STRETCH_LENGTH} not run or not measured)."
    elif stretch is not None:
        reached = "reached" if stretch.mean >= LSTM_ACCURACY else "not reached"
        stretch_text = f" Stretch {reached} ({stretch.mean:.2f} at T={LSTM_STRETCH_LENGTH})."
    evidence = f"{at_length.mean:.2f} at T={LSTM_LENGTH}; {longest}; {_accuracies(cells)}."
    return Verdict(claim, status, evidence + stretch_text)


def judge_transformer(summaries, config: SweepConfig) -> Verdict:
    claim = (
        f"A Transformer scores ≥ {TRANSFORMER_ACCURACY:.0%} on recall at every T up to "
        f"{TRANSFORMER_MAX_LENGTH}"
    )
    cells = [c for c in _recall(summaries, "transformer") if c.length <= TRANSFORMER_MAX_LENGTH]
    if not cells:
        return Verdict(claim, NOT_MEASURED, "No transformer recall cells in this sweep.")
    failed = [cell for cell in cells if cell.low < TRANSFORMER_ACCURACY]
    evidence = f"worst seed {', '.join(f'T={c.length}: {c.low:.3f}' for c in cells)}"
    if max(c.length for c in cells) < TRANSFORMER_MAX_LENGTH:
        evidence += f" (measured only up to T={max(c.length for c in cells)})"
    if failed:
        below = ", ".join(str(c.length) for c in failed)
        return Verdict(claim, NOT_REPRODUCED, f"Below at T={below}; {evidence}.")
    return Verdict(claim, REPRODUCED, evidence + ".")


def recall_evidence(summaries, config: SweepConfig) -> list[str]:
    """Per model: the longest T solved by every seed, and the shortest T from which every
    longer measured T is at chance."""
    lines = []
    for model in dict.fromkeys(s.model for s in summaries if s.task == "recall"):
        cells = _recall(summaries, model)
        solved = [c.length for c in cells if c.num_solved == c.num_seeds]
        from_length = _at_chance_from(cells, config)
        chance = "never at chance" if from_length is None else f"at chance from T={from_length}"
        lines.append(
            f"recall, {model}: longest T solved by every seed: "
            f"{max(solved) if solved else 'none'}; {chance}; accuracy " + _accuracies(cells)
        )
    return lines


def adding_evidence(summaries) -> list[str]:
    """Per model: the longest T solved and the shortest T no better than the baseline."""
    lines = []
    for model in dict.fromkeys(s.model for s in summaries if s.task == "adding"):
        cells = sorted(
            (s for s in summaries if s.model == model and s.task == "adding"),
            key=lambda s: s.length,
        )
        solved = [c.length for c in cells if c.mean <= ADDING_SOLVED_MSE]
        # Within 10 % of always answering 1.0: the model learned nothing usable.
        baseline = [c.length for c in cells if c.mean >= 0.9 * ADDING_BASELINE_MSE]
        lines.append(
            f"adding, {model}: longest T solved (MSE ≤ {ADDING_SOLVED_MSE}): "
            f"{max(solved) if solved else 'none'}; no better than the baseline from T="
            f"{min(baseline) if baseline else 'never'}; MSE "
            + ", ".join(f"T={c.length}: {c.mean:.3f}" for c in cells)
        )
    return lines


def judge_claims(results: list[CellResult], config: SweepConfig) -> list[Verdict]:
    """A verdict on each recall claim (see the module docstring)."""
    summaries = summarize(results)
    return [
        judge_simple_rnn(summaries, config),
        judge_lstm(summaries, config),
        judge_transformer(summaries, config),
    ]
