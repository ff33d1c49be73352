"""The models of the long-range study: four families at about 9k weights each.

Widths are chosen so that the sequence-mixing parts have about the same number of weights:
a SimpleRNN of 64 units (`2 · 64² = 8,192`: input and recurrent kernels), an LSTM of 32
(`4 · 2 · 32² = 8,192`), a GRU of 37 (`3 · 2 · 37² = 8,214`) and one Transformer block of
width 32 (`4 · 32²` attention + `2 · 32 · 64` feed-forward); 8,900–9,400 weights each on
recall with their embeddings and heads. Each reads left to right where that is a choice
(`bidirectional=False`), so the recurrent models must carry the first token to their final
state; the Transformer pools over every position with its mask.

The gated cells (`lstm`, `gru`) start from one of `GATE_INITS`, set through the zoo config's
`forget_bias` and `chrono_init` (`zoo.models.gate_bias`); a SimpleRNN has no gates:

- `"keras"`: Keras's defaults, LSTM forget bias 1 (`f ≈ σ(1) = 0.73` per step), GRU update
  bias 0 (`z = 0.5`);
- `"chrono"`: chrono initialisation with `T_max` = the cell's sequence length (Tallec &
  Ollivier 2018 recommend the longest lag expected, known here);
- `"open"`: keep-gate bias `OPEN_FORGET_BIAS` = 3 (`σ(3) ≈ 0.95`) in every unit.

The Transformer has 8 heads of 4 dimensions. The number of heads changes no weight count,
but more heads find the first token sooner at long T — each head is another chance that
some query already leans towards it. Recall at T = 1000, seed 0, fresh batches: 4 heads
reached 74 % after 400 steps, 8 heads solved it (≥ 99 %) in 140; in an earlier run 2 heads
were still at chance after 300. Each head adds a T × T score matrix to a step's cost, so 8
heads cost more per step than 4, but far less per solved task.
"""

from __future__ import annotations

import keras

import zoo
from zoo.data.long_range_tasks import ADDING_NUM_FEATURES, recall_vocab_size

MODEL_OVERRIDES = {
    "simple_rnn": dict(num_layers=1, hidden_dim=64, bidirectional=False, dropout=0.0),
    "lstm": dict(num_layers=1, hidden_dim=32, bidirectional=False, dropout=0.0),
    "gru": dict(num_layers=1, hidden_dim=37, bidirectional=False, dropout=0.0),
    "transformer": dict(
        num_layers=1,
        hidden_dim=32,
        num_heads=8,
        intermediate_dim=64,
        dropout=0.0,
        position_encoding="sinusoidal",  # any length, no table to outgrow
    ),
}
GATED_MODELS = ("lstm", "gru")  # the families `gate_init` applies to
GATE_INITS = ("keras", "chrono", "open")
OPEN_FORGET_BIAS = 3.0  # σ(3) = 0.95
# The smallest T_max `chrono_init` accepts (RecurrentConfig).
MIN_CHRONO_INIT = 3
# The zoo task each long-range task is posed as.
ZOO_TASKS = {"recall": "classify", "adding": "regress"}
STUDY_TASKS = tuple(ZOO_TASKS)


def check_choices(kind: str, received, choices) -> None:
    """A `ValueError` naming the valid choices when `received` holds an unknown one."""
    unknown = [value for value in received if value not in choices]
    if unknown:
        raise ValueError(
            f"Unknown {kind} {', '.join(map(repr, unknown))}; choose from {', '.join(choices)}."
        )


def gate_overrides(name: str, gate_init: str, length: int) -> dict:
    """The zoo config fields that set `name`'s initial gate biases for sequences of `length`
    steps: `{}` for Keras's defaults and for models without gates.

    >>> gate_overrides("lstm", "chrono", 100), gate_overrides("gru", "open", 100)
    ({'chrono_init': 100}, {'forget_bias': 3.0})
    >>> gate_overrides("simple_rnn", "chrono", 100), gate_overrides("lstm", "keras", 100)
    ({}, {})
    """
    check_choices("gate init", [gate_init], GATE_INITS)
    if name not in GATED_MODELS or gate_init == "keras":
        return {}
    if gate_init == "chrono":
        return {"chrono_init": max(int(length), MIN_CHRONO_INIT)}
    return {"forget_bias": OPEN_FORGET_BIAS}


def describe_gate_init(gate_init: str) -> str:
    """What `gate_init` means, in words, for tables and JSON."""
    check_choices("gate init", [gate_init], GATE_INITS)
    return {
        "keras": "Keras defaults (LSTM forget bias 1, GRU update bias 0)",
        "chrono": "chrono (Tallec & Ollivier 2018), T_max = the sequence length T",
        "open": f"keep-gate bias {OPEN_FORGET_BIAS:g} (LSTM forget, GRU update gate)",
    }[gate_init]


def describe_model(name: str, gate_init: str | None = None) -> str:
    """A column label with the settings that decide the result: width, heads, gate init.

    >>> describe_model("gru", "chrono"), describe_model("transformer", "chrono")
    ('gru (37 units, chrono)', 'transformer (width 32, 8 heads)')
    """
    check_choices("model", [name], tuple(MODEL_OVERRIDES))
    overrides = MODEL_OVERRIDES[name]
    if name == "transformer":
        return f"{name} (width {overrides['hidden_dim']}, {overrides['num_heads']} heads)"
    gates = f", {gate_init}" if name in GATED_MODELS and gate_init else ""
    return f"{name} ({overrides['hidden_dim']} units{gates})"


def build_long_range_model(
    name: str,
    task: str,
    length: int,
    num_symbols: int = 4,
    num_distractors: int = 8,
    gate_init: str = "keras",
) -> keras.Model:
    """`zoo.build(name, ...)` sized for the long-range study, for `"recall"` or `"adding"`
    sequences of `length` steps, its gates (lstm, gru) initialised by `gate_init`.

    Example:
    >>> model = build_long_range_model("gru", "recall", 50, gate_init="chrono")
    >>> model.output_shape, model.config.chrono_init
    ((None, 4), 50)
    """
    check_choices("model", [name], tuple(MODEL_OVERRIDES))
    check_choices("task", [task], STUDY_TASKS)
    if task == "recall":
        sizes = dict(
            vocab_size=recall_vocab_size(num_symbols, num_distractors), num_classes=num_symbols
        )
    else:
        sizes = dict(num_features=ADDING_NUM_FEATURES, num_outputs=1)
    return zoo.build(
        name,
        task=ZOO_TASKS[task],
        preset="tiny",
        **sizes,
        **MODEL_OVERRIDES[name],
        **gate_overrides(name, gate_init, length),
    )
