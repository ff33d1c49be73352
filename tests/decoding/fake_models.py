"""Hand-made decodable "models": next-token probabilities read from a table.

`TableModel` implements the decoding protocol of a language model (`init_decode_state(batch_size,
max_length)`, `decode_step(state, token_ids, index)`) with the distribution of the next token
given by the last *two* tokens, and row `r` of a batch reading table `r % num_tables`: a beam
search that reorders its state wrongly, or mixes rows, is caught.
"""

import numpy as np
from keras import ops

PAD, START, END, A, B = range(5)
VOCAB_SIZE = 5


class TableModel:
    """`next_probs[table, previous, current]` is the distribution of the next token.

    `next_probs` is `(num_tables, V, V, V)`, or `(V, V, V)` for one table. The previous
    token of the first step is the padding id 0.
    """

    def __init__(self, next_probs):
        next_probs = np.asarray(next_probs, dtype="float64")
        self.next_probs = next_probs if next_probs.ndim == 4 else next_probs[None]
        self.num_tables, self.vocab_size = len(self.next_probs), self.next_probs.shape[-1]
        with np.errstate(divide="ignore"):
            logits = np.log(self.next_probs).reshape(-1, self.vocab_size)
        self.logits = ops.convert_to_tensor(logits.astype("float32"))  # (T * V * V, V)

    @classmethod
    def first_order(cls, next_probs_by_token):
        """A table that depends on the current token only: `(V, V)` -> `(V, V, V)`."""
        next_probs_by_token = np.asarray(next_probs_by_token, dtype="float64")
        return cls(np.broadcast_to(next_probs_by_token, (len(next_probs_by_token),) * 3))

    @classmethod
    def random(cls, rng, num_tables=1, vocab_size=VOCAB_SIZE, sharpness=2.0):
        """Random second-order distributions; the padding id has probability 0."""
        logits = sharpness * rng.standard_normal((num_tables,) + (vocab_size,) * 3)
        logits[..., PAD] = -np.inf
        probs = np.exp(logits - logits.max(-1, keepdims=True))
        return cls(probs / probs.sum(-1, keepdims=True))

    def init_decode_state(self, batch_size, max_length):
        return {
            "previous_token": ops.zeros((batch_size,), dtype="int32"),
            "table": ops.arange(batch_size, dtype="int32") % self.num_tables,
        }

    def decode_step(self, state, token_ids, index):
        rows = (state["table"] * self.vocab_size + state["previous_token"]) * self.vocab_size
        logits = ops.take(self.logits, rows + token_ids, axis=0)
        return logits, dict(state, previous_token=token_ids)

    def log_prob(self, tokens, row=0, start_id=START):
        """`log P(tokens)` for batch row `row`, read from its table by hand."""
        table = self.next_probs[row % self.num_tables]
        previous, current, total = PAD, start_id, 0.0
        for token in tokens:
            total += np.log(table[previous, current, token])
            previous, current = current, token
        return total


def greedy_trap():
    """Greedy takes A (0.6), after which every token is about as likely as the end (so it
    never ends); B (0.4) is followed by the end with probability 0.99."""
    next_probs = np.zeros((VOCAB_SIZE, VOCAB_SIZE))
    next_probs[:, [END, A, B]] = [0.33, 0.34, 0.33]  # after A (and anything else): flat
    next_probs[START] = [0.0, 0.0, 0.0, 0.6, 0.4]
    next_probs[B] = [0.0, 0.0, 0.99, 0.005, 0.005]
    return TableModel.first_order(next_probs)


def chain():
    """START -> A -> B -> END, each with probability 0.9; after END the table would go on
    with A, so padding after the end comes from the decoder, not from the table."""
    next_probs = np.full((VOCAB_SIZE, VOCAB_SIZE), 0.05)
    next_probs[:, [PAD, START]] = 0.0
    next_probs[[START, END], A] = 0.9
    next_probs[A, B] = 0.9
    next_probs[B, END] = 0.9
    next_probs[PAD] = [0.0, 0.0, 1 / 3, 1 / 3, 1 / 3]
    return TableModel.first_order(next_probs)


def chain_then_never_ending(rng):
    """Row 0: `chain()`, which ends after A B; row 1: random distributions in which the end
    token has probability 0."""
    never_ends = TableModel.random(rng).next_probs[0]
    never_ends[..., END] = 0.0
    never_ends /= never_ends.sum(-1, keepdims=True)
    return TableModel(np.stack([chain().next_probs[0], never_ends]))
