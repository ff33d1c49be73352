"""The models of the long-range experiments: the three families at about 9k weights each.

Widths are chosen so that the sequence-mixing parts have about the same number of weights:
a SimpleRNN of 64 units (`2 · 64²`), an LSTM of 32 (`4 · 2 · 32²`) and one Transformer block
of width 32 (`4 · 32²` attention + `2 · 32 · 64` feed-forward); about 9,000 weights each with
their embeddings and heads. Each reads left to right where that is a choice
(`bidirectional=False`), so the recurrent models must carry the first token to their final
state; the Transformer pools over every position with its mask.

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
    "transformer": dict(
        num_layers=1,
        hidden_dim=32,
        num_heads=8,
        intermediate_dim=64,
        dropout=0.0,
        position_encoding="sinusoidal",  # any length, no table to outgrow
    ),
}
# The zoo task each long-range task is posed as.
ZOO_TASKS = {"recall": "classify", "adding": "regress"}
TASKS = tuple(ZOO_TASKS)


def check_choices(kind: str, received, choices) -> None:
    """A `ValueError` naming the valid choices when `received` holds an unknown one."""
    unknown = [value for value in received if value not in choices]
    if unknown:
        raise ValueError(
            f"Unknown {kind} {', '.join(map(repr, unknown))}; choose from {', '.join(choices)}."
        )


def build_long_range_model(
    name: str,
    task: str,
    num_symbols: int = 4,
    num_distractors: int = 8,
    lstm_forget_bias: float | None = None,
) -> keras.Model:
    """`zoo.build(name, ...)` sized for the long-range sweep, for `"recall"` or `"adding"`.

    `lstm_forget_bias`: for `"lstm"`, the initial forget-gate bias (`None`: Keras's 1.0);
    see `set_forget_gate_bias`.

    Example:
    >>> model = build_long_range_model("lstm", "recall")
    >>> model.output_shape
    (None, 4)
    """
    check_choices("model", [name], tuple(MODEL_OVERRIDES))
    check_choices("task", [task], TASKS)
    if task == "recall":
        sizes = dict(
            vocab_size=recall_vocab_size(num_symbols, num_distractors), num_classes=num_symbols
        )
    else:
        sizes = dict(num_features=ADDING_NUM_FEATURES, num_outputs=1)
    model = zoo.build(name, task=ZOO_TASKS[task], preset="tiny", **sizes, **MODEL_OVERRIDES[name])
    if name == "lstm" and lstm_forget_bias is not None:
        set_forget_gate_bias(model, lstm_forget_bias)
    return model


def set_forget_gate_bias(model: keras.Model, value: float) -> None:
    """Start every LSTM layer of a zoo model with forget-gate bias `value`.

    The cell state keeps a fraction `f_t = σ(W_f x_t + U_f h_(t-1) + b_f)` of itself per
    step; Keras starts `b_f` at 1.0 (Jozefowicz et al. 2015), so `f ≈ σ(1) = 0.73` and the
    state — and its gradient — shrinks as `0.73^T` until training raises it. A larger bias
    starts the gates open, closer to the 1997 LSTM, which had no forget gate (`f = 1`, the
    "constant error carousel"); Tallec & Ollivier 2018 set it from the lags expected.

    >>> model = build_long_range_model("lstm", "recall")
    >>> set_forget_gate_bias(model, 3.0)
    >>> cell = model.encoder_layers[0].cell
    >>> float(cell.bias.numpy()[cell.units : 2 * cell.units].mean())
    3.0
    """
    for layer in model.encoder_layers:
        cell = layer.cell
        if not isinstance(cell, keras.layers.LSTMCell):
            raise ValueError(
                f"set_forget_gate_bias needs LSTM layers, found {type(cell).__name__}."
            )
        bias = keras.ops.convert_to_numpy(cell.bias).copy()
        bias[cell.units : 2 * cell.units] = value  # Keras orders the gates i, f, c, o.
        cell.bias.assign(bias)
