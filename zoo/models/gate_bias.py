"""The initial gate biases of LSTM and GRU cells: how long they remember before training.

An LSTM keeps a fraction `f_t = σ(W_f x_t + U_f h_(t-1) + b_f)` of its cell state per step,
a GRU a fraction `z_t` of its hidden state; at initialisation the weights are small, so the
bias sets the fraction, and the state (and the gradient along it) shrinks as `σ(b)^T` over T
steps until training opens the gates. Keras starts an LSTM at `b_f = 1` (`f ≈ 0.73`,
Jozefowicz et al. 2015) and a GRU at `b_z = 0` (`z = 0.5`): a memory of a few steps.

- `forget_bias=b`: that gate's bias is `b` in every unit (3 gives `σ(3) ≈ 0.95`).
- `chrono_init=T_max` (Tallec & Ollivier 2018, "Can recurrent neural networks warp
  time?"): `b ~ log(U(1, T_max - 1))` per unit, so units keep their state for
  characteristic times spread between 1 and `T_max` steps; an LSTM's input gate gets
  `b_i = -b_f` (a unit that keeps long writes little).
"""

from __future__ import annotations

import keras
from keras import ops

# Where each gate's bias sits in Keras's fused bias vector, in units of `units`.
LSTM_GATES = ("input", "forget", "cell", "output")  # keras.layers.LSTMCell
GRU_GATES = ("update", "reset", "candidate")  # keras.layers.GRUCell; h = z h + (1 - z) h~


@keras.saving.register_keras_serializable(package="zoo")
class GateBias(keras.initializers.Initializer):
    """The bias initializer of an LSTM or GRU cell that keeps its state longer.

    Args:
        cell_type: `"lstm"` or `"gru"`.
        forget_bias: the keep gate's bias in every unit (LSTM forget gate, GRU update gate);
            ignored when `chrono_init` is set.
        chrono_init: the longest memory `T_max` (≥ 3) of the chrono initialisation.
        seed: seed of the chrono draw (`None`: Keras's global seed generator).

    Example:
    >>> bias = GateBias("lstm", forget_bias=3.0)((8,))  # 2 units: i, f, c, o
    >>> [float(v) for v in bias]
    [0.0, 0.0, 3.0, 3.0, 0.0, 0.0, 0.0, 0.0]
    """

    def __init__(self, cell_type, forget_bias=None, chrono_init=None, seed=None):
        if cell_type not in ("lstm", "gru"):
            raise ValueError(
                f"GateBias is for the gated cells 'lstm' and 'gru'; received {cell_type!r}."
            )
        if forget_bias is None and chrono_init is None:
            raise ValueError("GateBias needs `forget_bias` or `chrono_init`.")
        self.cell_type = cell_type
        self.forget_bias = None if forget_bias is None else float(forget_bias)
        self.chrono_init = None if chrono_init is None else int(chrono_init)
        self.seed = seed

    def __call__(self, shape, dtype=None):
        dtype = dtype or "float32"
        gates = LSTM_GATES if self.cell_type == "lstm" else GRU_GATES
        units = shape[-1] // len(gates)
        if self.chrono_init is not None:
            keep = ops.log(
                keras.random.uniform(
                    (units,), 1.0, float(self.chrono_init - 1), dtype=dtype, seed=self.seed
                )
            )
        else:
            keep = ops.full((units,), self.forget_bias, dtype=dtype)
        zeros = ops.zeros((units,), dtype=dtype)
        if self.cell_type == "lstm":
            write = -keep if self.chrono_init is not None else zeros
            row = ops.concatenate([write, keep, zeros, zeros])
        else:
            row = ops.concatenate([keep, zeros, zeros])
        if len(shape) == 2:  # GRU with reset_after: (input bias, recurrent bias); set one
            row = ops.stack([row, ops.zeros_like(row)])
        return ops.cast(row, dtype)

    def get_config(self):
        return {
            "cell_type": self.cell_type,
            "forget_bias": self.forget_bias,
            "chrono_init": self.chrono_init,
            "seed": self.seed,
        }
