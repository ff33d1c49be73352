"""The `mlm` models' training path: token logits at the masked positions only.

Called on `token_ids (B, T)`, an `mlm` model returns token logits at every position,
`(B, T, V)`: what `fill_mask`, the export's `logits` signature and `.keras` checkpoints read.
Called on `{"token_ids": (B, T), "mask_positions": (B, M)}` it runs the same layers, gathers
each row's hidden states at its `M` positions, and only then applies the final norm (pre-norm
stacks) and the `V`-way output projection: `(B, M, V)`. Pre-training scores 15 % of the
positions (20 of a 128-token row), so the projection, the softmax and their gradients shrink
about 6 times — as in keras-hub's `MaskedLMHead` and Cramming (Geiping & Goldstein 2022).
Batches of `zoo.tasks.fill_mask.make_dataset` take this path (`benchmarks/mlm_step.py`
times the step both ways).

The model's graph — its `inputs`, `outputs`, layers and weights — stays the full-sequence
one; the masked path is a second way through the same layer objects, chosen in `call()` by
the input's structure. So `fit()` trains it while checkpoints, backups, `model.backbone` and
the export see the model they always saw.

Invariant (tested): `model({"token_ids": x, "mask_positions": p})[b, m] ==
model(x)[b, p[b, m]]`. Padding slots of ragged masks may hold any valid position (0): their
logits are computed and left out by the labels' 0 and `mask_weights`.
"""

from __future__ import annotations

import keras
from keras import ops

MASK_POSITIONS = "mask_positions"


def gather_positions(hidden, positions):
    """`hidden (B, T, d)` at `positions (B, M)` (column indices within each row) -> `(B, M, d)`."""
    positions = ops.cast(positions, "int32")[:, :, None]  # (B, M, 1), broadcast over d
    return ops.take_along_axis(hidden, positions, axis=1)


def masked_inputs(inputs) -> bool:
    """Whether `inputs` asks for the masked-only path: a dict with `mask_positions`."""
    return isinstance(inputs, dict) and MASK_POSITIONS in inputs


class MaskedPositionsMixin:
    """Lets an `mlm` task model take `{"token_ids", "mask_positions"}` as well as `token_ids`.

    For the encoder models of every family (listed first among their bases); they define
    `masked_token_logits(token_ids, mask_positions, training)`. Other tasks of the same
    classes (`classify`, `regress`) take their usual inputs only.
    """

    def _masked_arguments(self, inputs):
        if set(inputs) != {"token_ids", MASK_POSITIONS}:
            raise ValueError(
                f"An mlm model reads either `token_ids (B, T)` or a dict with exactly the keys "
                f"'token_ids' (B, T) and '{MASK_POSITIONS}' (B, M); received keys {sorted(inputs)}."
            )
        return inputs["token_ids"], inputs[MASK_POSITIONS]

    def call(self, inputs, training=None, mask=None):
        if self.config.task == "mlm" and masked_inputs(inputs):
            token_ids, positions = self._masked_arguments(inputs)
            return self.masked_token_logits(token_ids, positions, training=training)
        return super().call(inputs, training=training, mask=mask)

    def compute_output_spec(self, inputs, training=None, mask=None):
        if self.config.task == "mlm" and masked_inputs(inputs):
            _, positions = self._masked_arguments(inputs)
            batch_size, num_masked = positions.shape[0], positions.shape[1]
            return keras.KerasTensor((batch_size, num_masked, self.config.vocab_size), "float32")
        return super().compute_output_spec(inputs, training=training, mask=mask)
