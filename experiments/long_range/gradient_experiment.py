"""Vanishing gradients, shown: `‖∂L/∂h_t‖` against distance for SimpleRNN, LSTM and GRU, at
initialisation and after training on recall (`python -m experiments.long_range --gradients`).

Each model is a sweep cell's model (`sweep.build_cell_model`); its norms are measured on
held-out recall sequences with `zoo.analysis.gradient_norms.recurrent_model_gradient_norms`,
then it is trained exactly as that cell of the sweep would be, and measured again. For the
LSTM the cell state's gradient `‖∂L/∂c_t‖` is measured too: that is the path the additive
update keeps open. The gated models are measured with each of `GATE_VARIANTS`: Keras's
default gate biases (LSTM forget bias 1, `σ(1) = 0.73`; GRU update bias 0, `z = 0.5`) and the
chrono initialisation with `T_max` = the sequence length.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np

from experiments.long_range.models import GATED_MODELS
from experiments.long_range.sweep import (
    TEST_STREAM,
    CellResult,
    SweepConfig,
    build_cell_model,
    task_batch,
    train_cell,
)
from zoo.analysis.gradient_norms import recurrent_model_gradient_norms

RECURRENT_MODELS = ("simple_rnn", "lstm", "gru")
# The gate initialisations each gated model is measured with; the first is labelled by the
# model's name alone ("lstm h"), the others "<model>, <gate init>" ("lstm, chrono h").
GATE_VARIANTS = ("keras", "chrono")


@dataclass
class GradientNormCurves:
    length: int
    # {"at initialisation" | "after training": {"<label> h" | "<label> cell c": (T,) norms}}
    curves: dict = field(default_factory=dict)
    trained: dict[str, CellResult] = field(default_factory=dict)  # after training, by label
    gate_inits: dict[str, str] = field(default_factory=dict)  # label -> gate init measured

    def as_dict(self) -> dict:
        return {
            "length": self.length,
            "curves": {
                stage: {label: np.asarray(norms).tolist() for label, norms in lines.items()}
                for stage, lines in self.curves.items()
            },
            "trained": {label: result.as_dict() for label, result in self.trained.items()},
            "gate_inits": dict(self.gate_inits),
        }


def decay_per_step(norms) -> float:
    """The geometric mean factor by which the norm changes per step back in time, over the
    whole sequence: `(‖g_0‖ / ‖g_(T-1)‖)^(1 / (T - 1))` (< 1: vanishing, > 1: exploding)."""
    norms = np.asarray(norms, dtype="float64")
    return float((max(norms[0], 1e-300) / norms[-1]) ** (1.0 / (len(norms) - 1)))


def variants(models, gate_variants=GATE_VARIANTS) -> list[tuple[str, str, str]]:
    """`(label, model, gate init)` for each recurrent model of `models`; a gated model once
    per gate initialisation of `gate_variants`.

    >>> for variant in variants(("simple_rnn", "gru", "transformer")):
    ...     print(variant)
    ('simple_rnn', 'simple_rnn', 'keras')
    ('gru', 'gru', 'keras')
    ('gru, chrono', 'gru', 'chrono')
    """
    result = []
    for name in models:
        if name not in RECURRENT_MODELS:
            continue
        if name not in GATED_MODELS:
            result.append((name, name, "keras"))
            continue
        for index, gate_init in enumerate(gate_variants):
            label = name if index == 0 else f"{name}, {gate_init}"
            result.append((label, name, gate_init))
    return result


def measure_gradient_norm_curves(
    config: SweepConfig,
    length: int = 100,
    seed: int = 0,
    num_sequences: int = 64,
    gate_variants=GATE_VARIANTS,
) -> GradientNormCurves:
    """Norm curves for each recurrent model of `config.models` (each gated one with every
    gate initialisation of `gate_variants`), before and after training on recall sequences
    of `length` tokens. `config.gate_init` is not used: the variants set it."""
    inputs, labels = task_batch(
        config, "recall", length, num_sequences, (seed, length, TEST_STREAM)
    )
    result = GradientNormCurves(length=length)
    before, after = {}, {}
    for label, model_name, gate_init in variants(config.models, gate_variants):
        variant_config = dataclasses.replace(config, gate_init=gate_init)
        result.gate_inits[label] = gate_init
        model = build_cell_model(variant_config, model_name, "recall", length, seed)
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
