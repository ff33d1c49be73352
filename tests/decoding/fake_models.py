"""Hand-made decodable "models": next-token probabilities read from a table.

`TableModel` implements the decoding protocol of a language model (`init_decode_state(prompt_ids,
max_length)`, `decode_step(state, token_ids, index)`) with the distribution of the next token
given by the last *two* tokens, and row `r` of a batch reading table `r % num_tables`: a beam
search that reorders its state wrongly, or mixes rows, is caught. Its prefill is the token
before each prompt's last real token, so a prompt of any length in any batch continues from
its own last two tokens.
"""

from types import SimpleNamespace

import numpy as np
from keras import ops

PAD, START, END, A, B = range(5)
VOCAB_SIZE = 5


class TableModel:
    """`next_probs[table, previous, current]` is the distribution of the next token.

    `next_probs` is `(num_tables, V, V, V)`, or `(V, V, V)` for one table. The previous
    token of the first step is the prompt's last real token but one, or the padding id 0
    for a prompt of one token.
    """

    config = SimpleNamespace(task="lm")

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

    def init_decode_state(self, prompt_ids, max_length):
        prompt_ids = ops.convert_to_tensor(prompt_ids, dtype="int32")
        lengths = ops.sum(ops.cast(prompt_ids != PAD, "int32"), axis=1)  # (B,)
        # The token before the last real one; column 0 of a zero column for 1-token prompts.
        padded = ops.pad(prompt_ids, ((0, 0), (1, 0)))
        previous = ops.take_along_axis(padded, ops.maximum(lengths - 1, 0)[:, None], axis=1)
        batch_size = ops.shape(prompt_ids)[0]
        return {
            "previous_token": previous[:, 0],
            "table": ops.arange(batch_size, dtype="int32") % self.num_tables,
        }

    def decode_step(self, state, token_ids, index):
        rows = (state["table"] * self.vocab_size + state["previous_token"]) * self.vocab_size
        logits = ops.take(self.logits, rows + token_ids, axis=0)
        return logits, dict(state, previous_token=token_ids)

    def log_prob(self, tokens, row=0, prompt=(START,)):
        """`log P(tokens | prompt)` for batch row `row`, read from its table by hand."""
        table = self.next_probs[row % self.num_tables]
        previous, current, total = ([PAD] + list(prompt))[-2:] + [0.0]
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


def table_greedy(model, prompt, max_length, row=0, end_id=END, no_repeat_ngram_size=0):
    """Greedy decoding read from the table by hand: `(tokens, log P)`, no cache, no loop.

    With `no_repeat_ngram_size = n`, tokens that would repeat an n-gram of the emitted
    tokens are skipped, found by listing every n-gram.
    """
    table = model.next_probs[row % model.num_tables]
    previous, current = ([PAD] + list(prompt))[-2:]
    tokens, total = [], 0.0
    for _ in range(max_length):
        probs = table[previous, current].copy()
        probs[PAD] = 0.0
        n = no_repeat_ngram_size
        if n:
            seen = {tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1)}
            for token in range(len(probs)):
                if tuple(tokens[len(tokens) - n + 1 :] + [token]) in seen:
                    probs[token] = 0.0
        token = int(np.argmax(probs))
        tokens.append(token)
        total += np.log(table[previous, current, token])
        previous, current = current, token
        if token == end_id:
            break
    return tokens + [0] * (max_length - len(tokens)), total


def alternating():
    """Greedily A B A B ...: after A, B (0.5); after B, A (0.5); the end is always 0.1 and
    the rest share 0.4 - so with repeats blocked the end comes when A and B are used up."""
    next_probs = np.zeros((VOCAB_SIZE, VOCAB_SIZE))
    next_probs[:, [END, A, B]] = [0.1, 0.5, 0.4]
    next_probs[A, [END, A, B]] = [0.1, 0.35, 0.55]
    next_probs[B, [END, A, B]] = [0.1, 0.55, 0.35]
    return TableModel.first_order(next_probs)


def table_next_log_probs(model):
    """`next_log_probs(rows, prefixes)` read from the tables, for `reference_beam_search`:
    each prefix starts with the prompt's last token, after the padding id."""

    def next_log_probs(rows, prefixes):
        log_probs = []
        for row, prefix in zip(rows, prefixes):
            previous, current = ([PAD] + list(prefix))[-2:]
            with np.errstate(divide="ignore"):
                log_prob = np.log(model.next_probs[row % model.num_tables, previous, current])
            log_prob[PAD] = -np.inf
            log_probs.append(log_prob)
        return np.array(log_probs)

    return next_log_probs


def repeated_ngrams(tokens, n, end_id=END):
    """The n-grams that occur more than once among `tokens` (cut at the end, no padding)."""
    tokens = [int(token) for token in tokens if token != PAD]
    grams = [tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1)]
    return sorted({gram for gram in grams if grams.count(gram) > 1})
