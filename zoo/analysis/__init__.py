"""Reusable measurements, used by `recipes/`, `benchmarks/` and `experiments/`.

- `gradients`: one backend-aware `value_and_gradient` (TensorFlow, JAX, PyTorch).
- `gradient_norms`: `‖∂L/∂h_t‖` at every step of a recurrent network.
- `step_timing`: a compiled forward + backward step per backend, and its timing.
- `attention_heatmap`: which source words each target word attends to.
- `accuracy_curves`: held-out accuracy against training time, one line per run.
- `plots`, `machine`: figures, and what a measurement ran on.

Studies that use them (the long-range sweep, its claims and tables) live in `experiments/`,
outside the library. Nothing is imported here, so that the modules that need no TensorFlow —
`gradients`, `gradient_norms`, `step_timing`, `plots`, `machine` — run where only JAX is
installed.
"""
