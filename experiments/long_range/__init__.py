"""How far back can each model remember? SimpleRNN, LSTM, GRU and Transformer on the recall
and adding tasks of Hochreiter & Schmidhuber 1997, T = 5 ... 1000, and the gradient that
reaches each step. The command is `python -m experiments.long_range`.

- `models`: the four families at about 9k weights each, and the gate initialisations
  (`GATE_INITS`: Keras's defaults, chrono, open) of the gated ones.
- `sweep`: `SweepConfig`, one trained and scored cell per (model, task, T, seed).
- `report`: summaries over seeds, the settings and the markdown tables, JSON in and out.
- `claims`: the zoo's claims as verdicts on a sweep's results.
- `plot`: the sweep as a figure.
- `gradient_experiment`: `‖∂L/∂h_t‖` before and after training, per model and gate init.

The generic pieces live in the library: the tasks in `zoo.data.long_range_tasks`, the
gradient measurement in `zoo.analysis.gradient_norms`, the figures' helpers in
`zoo.analysis.plots`.
"""
