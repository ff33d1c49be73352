"""Vanishing gradients, shown: `‖∂L/∂h_t‖` against distance for SimpleRNN and LSTM, at
initialisation and after training on recall (`recipes/long_range.py --gradients`).

Each model is a sweep cell's model (`long_range_sweep.build_cell_model`); its norms are
measured on held-out recall sequences with `gradient_norms.recurrent_model_gradient_norms`,
then it is trained exactly as that cell of the sweep would be, and measured again. For the
LSTM the cell state's gradient `‖∂L/∂c_t‖` is measured too: that is the path the additive
update keeps open. An LSTM whose forget gates start open (`OPEN_FORGET_BIAS`) is measured
alongside Keras's default (forget bias 1.0, `σ(1) = 0.73`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np

from zoo.analysis.gradient_norms import recurrent_model_gradient_norms
from zoo.analysis.long_range_sweep import (
    TEST_STREAM,
    CellResult,
    SweepConfig,
    build_cell_model,
    task_batch,
    train_cell,
)

RECURRENT_MODELS = ("simple_rnn", "lstm")
# σ(3) = 0.95: the LSTM variant whose cell state starts nearly additive.
OPEN_FORGET_BIAS = 3.0


@dataclass
class GradientNormCurves:
    length: int
    # {"at initialisation" | "after training": {"<model> h" | "<model> cell c": (T,) norms}}
    curves: dict = field(default_factory=dict)
    trained: dict[str, CellResult] = field(default_factory=dict)  # after training, by label

    def as_dict(self) -> dict:
        return {
            "length": self.length,
            "curves": {
                stage: {label: np.asarray(norms).tolist() for label, norms in lines.items()}
                for stage, lines in self.curves.items()
            },
            "trained": {label: result.as_dict() for label, result in self.trained.items()},
        }


def decay_per_step(norms) -> float:
    """The geometric mean factor by which the norm changes per step back in time, over the
    whole sequence: `(‖g_0‖ / ‖g_(T-1)‖)^(1 / (T - 1))` (< 1: vanishing, > 1: exploding)."""
    norms = np.asarray(norms, dtype="float64")
    return float((max(norms[0], 1e-300) / norms[-1]) ** (1.0 / (len(norms) - 1)))


def measure_gradient_norm_curves(
    config: SweepConfig,
    length: int = 100,
    seed: int = 0,
    num_sequences: int = 64,
    open_forget_bias: float | None = OPEN_FORGET_BIAS,
) -> GradientNormCurves:
    """Norm curves for each recurrent model of `config.models`, before and after training
    on recall sequences of `length` tokens.

    With `open_forget_bias` (and an LSTM in `config.models`), an LSTM whose forget gates
    start at that bias is measured too, labelled `"lstm, forget bias <value>"`.
    """
    inputs, labels = task_batch(
        config, "recall", length, num_sequences, (seed, length, TEST_STREAM)
    )
    variants = [(name, name, config) for name in config.models if name in RECURRENT_MODELS]
    if open_forget_bias is not None and "lstm" in config.models:
        opened = dataclasses.replace(config, lstm_forget_bias=open_forget_bias)
        variants.append((f"lstm, forget bias {open_forget_bias:g}", "lstm", opened))
    result = GradientNormCurves(length=length)
    before, after = {}, {}
    for label, model_name, variant_config in variants:
        model = build_cell_model(variant_config, model_name, "recall", seed)
        for stage in (before, after):
            if stage is after:
                cell_result, model = train_cell(
                    variant_config, model_name, "recall", length, seed, model
                )
                result.trained[label] = cell_result
            stage[f"{label} h"] = recurrent_model_gradient_norms(model, inputs, labels)
            if model_name == "lstm":
                stage[f"{label} cell c"] = recurrent_model_gradient_norms(
                    model, inputs, labels, state_index=1
                )
    result.curves = {"at initialisation": before, "after training": after}
    return result
