"""Measurements behind the zoo's claims, used by `recipes/` and `benchmarks/`.

- `gradients`: one backend-aware `value_and_gradient` (TensorFlow, JAX, PyTorch).
- `gradient_norms`: `‖∂L/∂h_t‖` at every step of a recurrent network.
- `step_timing`: a compiled forward + backward step per backend, and its timing.
- `long_range_models`, `long_range_sweep`, `long_range_report`, `long_range_claims`,
  `long_range_plot`: the recall / adding sweep over sequence lengths, its tables, verdicts
  and figure (`recipes/long_range.py`).
- `gradient_experiment`: gradient norms before and after training, SimpleRNN vs LSTM.
- `attention_heatmap`: which source words each target word attends to.
- `plots`, `machine`: figures, and what a measurement ran on.

Nothing is imported here, so that the modules that need no TensorFlow — `gradients`,
`gradient_norms`, `step_timing`, `plots`, `machine` — run where only JAX is installed.
"""
