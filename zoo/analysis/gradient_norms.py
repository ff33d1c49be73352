"""How much gradient reaches step `t` of a recurrent network from a loss at the end.

Backpropagation through time multiplies the gradient by one Jacobian `∂h_(t+1)/∂h_t` per
step; for a SimpleRNN that is `diag(tanh') Uᵀ`, so `‖∂L/∂h_t‖` shrinks or grows roughly
geometrically with the distance `T - 1 - t` (Pascanu, Mikolov & Bengio 2013). An LSTM's cell
state is updated additively, `c_t = f_t ⊙ c_(t-1) + i_t ⊙ g_t`, so along the cell the factor
per step is the forget gate `f_t`: the gradient survives as long as the forget gates stay
near 1.

How it is measured: the cell is run one step at a time and a perturbation `δ_t` is added to
the state it hands to the next step, `h_t ← h_t + δ_t`. At `δ = 0` the run is the model's own
forward pass, and `∂L/∂δ_t = ∂L/∂h_t`, the *total* derivative of the loss with respect to the
state at step `t`, through every later step — exactly the quantity BPTT carries backwards.
(The gradient with respect to the inputs `x_t` would mix in the input weights; this does not.)
The gradient comes from `zoo.analysis.gradients.value_and_gradient`: `tf.GradientTape` on
TensorFlow, `jax.grad` on JAX, autograd on PyTorch.

Example, a linear one-unit RNN, where `∂L/∂h_t = w^(T-1-t) ∂L/∂h_(T-1)`:
>>> import keras
>>> cell = keras.layers.SimpleRNNCell(1, activation=None, use_bias=False)
>>> cell.build((None, 1))
>>> cell.set_weights([np.ones((1, 1)), np.full((1, 1), 0.5)])
>>> norms = hidden_state_gradient_norms(
...     cell, np.ones((1, 4, 1), "float32"), lambda h: keras.ops.sum(h))
>>> norms.round(4).tolist()
[0.125, 0.25, 0.5, 1.0]
"""

from __future__ import annotations

from collections.abc import Callable

import keras
import numpy as np
from keras import ops

from zoo.analysis.gradients import value_and_gradient


def _state_sizes(cell) -> list[int]:
    sizes = cell.state_size
    return list(sizes) if isinstance(sizes, (list, tuple)) else [sizes]


def hidden_state_gradient_norms(
    cell: keras.layers.Layer,
    inputs,
    loss_from_final_hidden: Callable,
    state_index: int = 0,
) -> np.ndarray:
    """`‖∂L/∂s_t‖₂` for every step `t`, averaged over the batch.

    Args:
        cell: a built Keras RNN cell (`keras.layers.SimpleRNNCell`, `LSTMCell`, `GRUCell`,
            or `layer.cell` of a recurrent layer), started from zero states.
        inputs: `(B, T, input_dim)` float32, the sequence the cell reads (already embedded
            or projected); no padding.
        loss_from_final_hidden: maps the final hidden state `(B, units)` to a scalar loss,
            summed (not averaged) over the batch so that each example's gradient keeps its
            own scale.
        state_index: which state `s` to differentiate: `0` the hidden state `h` (every
            cell), `1` the LSTM's cell state `c`. The perturbation is added to the state the
            cell hands on, so for `c` this is the gradient flowing back along the cell state
            itself (`c_t → c_(t+1)`), without the same-step path `c_t → h_t = o_t tanh(c_t)`;
            it is 0 at the last step, whose `c` the prediction does not read.

    Returns:
        `(T,)` float64: entry `t` is the batch mean of `‖∂L/∂s_t‖₂`; the distance from the
        loss is `T - 1 - t`. For the hidden state, whose every use comes after step `t`,
        this is the total derivative.
    """
    inputs = np.asarray(keras.ops.convert_to_numpy(inputs), dtype="float32")
    if inputs.ndim != 3:
        raise ValueError(f"`inputs` must be (batch, steps, features), received {inputs.shape}.")
    sizes = _state_sizes(cell)
    if not 0 <= state_index < len(sizes):
        raise ValueError(
            f"`state_index` must be in [0, {len(sizes)}) for {type(cell).__name__}, whose "
            f"states have sizes {sizes} (0 is the hidden state h; an LSTM's 1 is the cell c)."
        )
    batch, steps, _ = inputs.shape

    def loss(perturbation):  # (B, T, units) -> scalar
        states = [ops.zeros((batch, size)) for size in sizes]
        for step in range(steps):
            _, states = cell(inputs[:, step], states)
            states = list(states) if isinstance(states, (list, tuple)) else [states]
            states[state_index] = states[state_index] + perturbation[:, step]
        return loss_from_final_hidden(states[0])

    zeros = np.zeros((batch, steps, sizes[state_index]), dtype="float32")
    _, gradient = value_and_gradient(loss, zeros)
    return np.linalg.norm(gradient.astype("float64"), axis=-1).mean(axis=0)


def recurrent_model_gradient_norms(
    model: keras.Model, inputs, targets, state_index: int = 0
) -> np.ndarray:
    """`hidden_state_gradient_norms` for a zoo `simple_rnn`/`lstm`/`gru` `classify` or
    `regress` model, from its own loss (cross-entropy, squared error) on `(inputs, targets)`.

    The model must have one unidirectional recurrent layer (`num_layers=1`,
    `bidirectional=False`), so that its final state is the one prediction reads; `inputs`
    are `token_ids (B, T)` for `classify` and `features (B, T, num_features)` for `regress`,
    without padding.

    Example:
    >>> import zoo
    >>> model = zoo.build("lstm", task="classify", preset="tiny", num_layers=1,
    ...                   bidirectional=False, vocab_size=10, num_classes=3)
    >>> ids = np.random.default_rng(0).integers(1, 10, size=(2, 6)).astype("int32")
    >>> recurrent_model_gradient_norms(model, ids, np.array([0, 2])).shape
    (6,)
    """
    config = getattr(model, "config", None)
    layers = getattr(model, "encoder_layers", None)
    task = getattr(config, "task", None)
    if task not in ("classify", "regress") or not layers or not hasattr(config, "is_bidirectional"):
        raise ValueError(
            "recurrent_model_gradient_norms takes a zoo 'simple_rnn', 'lstm' or 'gru' model "
            "built with task='classify' or 'regress'; for another recurrent network call "
            "hidden_state_gradient_norms(cell, embedded_inputs, loss) directly."
        )
    if len(layers) != 1 or config.is_bidirectional:
        raise ValueError(
            "The model must read left to right with one recurrent layer, so that the state "
            f"at each step feeds the prediction; it has num_layers={config.num_layers}, "
            f"bidirectional={config.is_bidirectional}. Build it with num_layers=1, "
            "bidirectional=False."
        )
    inputs = keras.ops.convert_to_numpy(inputs)
    if task == "classify":
        if np.any(inputs == 0):
            raise ValueError("`inputs` contain padding (id 0); pass full-length sequences.")
        embedded = model.encoder_embedding(inputs)
        head = model.get_layer("classifier")
        targets = np.asarray(targets, dtype="int32")

        def loss(hidden):
            logits = ops.cast(head(hidden), "float32")
            return ops.sum(
                keras.losses.sparse_categorical_crossentropy(targets, logits, from_logits=True)
            )

    else:
        if np.any(np.all(inputs == 0.0, axis=-1)):
            raise ValueError("`inputs` contain padding (all-zero steps); pass full sequences.")
        embedded = model.feature_projection(inputs)
        head = model.get_layer("regressor")
        targets = np.asarray(targets, dtype="float32")

        def loss(hidden):
            return ops.sum(ops.square(ops.cast(head(hidden), "float32") - targets))

    return hidden_state_gradient_norms(layers[0].cell, embedded, loss, state_index=state_index)
