"""Independent references: decoding by re-running the FULL model on every prefix.

No cache, no `decode_step`, no loop state: plain Python lists and NumPy over the model's
teacher-forced forward pass, so they share nothing with `zoo.decoding` but the definitions.
"""

import keras
import numpy as np
from keras import ops

import zoo


def forward(model, inputs):
    """The full forward pass, `training=False`, as NumPy.

    On JAX through `predict_on_batch`: compiled once per input shape, where an eager call
    retraces the recurrent layers' scans every time; on TensorFlow eagerly (no tracing).
    """
    if keras.config.backend() == "jax":
        return np.asarray(model.predict_on_batch(inputs))
    return np.asarray(model(inputs, training=False))


def length_penalty(length, alpha):
    return ((5.0 + length) / 6.0) ** alpha


def log_softmax_without_padding(logits):
    """Float64 log-probabilities over the last axis; the padding id 0 is never a choice."""
    logits = np.asarray(logits, dtype="float64")
    shifted = logits - logits.max(-1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(-1, keepdims=True))
    log_probs[..., 0] = -np.inf
    return log_probs


class Sharpened:
    """A zoo model whose logits are scaled to a standard deviation of about `spread`, with
    `end_bonus` added to the end token's logit.

    Random tiny models are close to uniform (the recurrent ones have logits of spread
    ~0.01); a sharper distribution with an end token that is sometimes likely makes beams
    part ways and hypotheses end at different lengths, as with a trained model.
    """

    def __init__(self, model, probe_inputs, end_id, spread=3.0, end_bonus=1.0):
        self.model = model
        self.config = model.config
        self.scale = spread / float(np.std(forward(model, probe_inputs)))
        self.bonus = np.zeros(model.output_shape[-1], dtype="float32")
        self.bonus[end_id] = end_bonus
        if hasattr(model, "resize_decode_state"):  # the optional part of the protocol
            self.resize_decode_state = model.resize_decode_state

    def adjust(self, logits):
        return ops.cast(logits, "float32") * self.scale + self.bonus

    def predict_on_batch(self, inputs):
        return np.asarray(self.adjust(forward(self.model, inputs)))

    def __call__(self, inputs, training=False):
        return self.predict_on_batch(inputs)

    def init_decode_state(self, *args):
        return self.model.init_decode_state(*args)

    def decode_step(self, state, token_ids, index):
        logits, state = self.model.decode_step(state, token_ids, index)
        return self.adjust(logits), state


def full_pass_next_log_probs(model, encoder_token_ids=None, rows=1, length=1):
    """`next_log_probs(row_ids, prefixes)`: log-probs of the token after each prefix.

    `prefixes` is a list of equal-length lists that start with the start id; `row_ids` says
    which source row each prefix belongs to (for a seq2seq model). Every forward pass is
    padded to at least `rows` prefixes of `length` ids (padding on the right never changes
    the outputs before it, a tested model invariant), so the shapes repeat: eager JAX
    compiles each op once per shape.
    """

    def next_log_probs(row_ids, prefixes):
        count, prefix_length = len(prefixes), len(prefixes[0])
        padded = np.zeros((max(rows, count), max(length, prefix_length)), dtype="int32")
        padded[:count, :prefix_length] = prefixes
        padded[count:] = padded[0]
        if encoder_token_ids is None:
            logits = forward(model, padded)
        else:
            row_ids = list(row_ids) + [row_ids[0]] * (len(padded) - count)
            sources = np.asarray(encoder_token_ids)[np.asarray(row_ids)]
            logits = forward(model, {"encoder_token_ids": sources, "decoder_token_ids": padded})
        return log_softmax_without_padding(logits[:count, prefix_length - 1])

    return next_log_probs


def reference_greedy(next_log_probs, batch_size, start_id, max_length):
    """Argmax paths of `max_length` tokens (no end id) and the log-prob of each token."""
    prefixes = [[start_id] for _ in range(batch_size)]
    token_log_probs = np.zeros((batch_size, max_length))
    for step in range(max_length):
        log_probs = next_log_probs(list(range(batch_size)), prefixes)
        for row, prefix in enumerate(prefixes):
            token = int(np.argmax(log_probs[row]))
            prefix.append(token)
            token_log_probs[row, step] = log_probs[row, token]
    return np.array([prefix[1:] for prefix in prefixes]), token_log_probs


def cut_at_end(tokens, token_log_probs, end_id):
    """Greedy with an end id is greedy without one, cut after the first end token."""
    tokens, scores = tokens.copy(), np.zeros(len(tokens))
    for row in range(len(tokens)):
        ends = np.flatnonzero(tokens[row] == end_id)
        length = ends[0] + 1 if len(ends) else tokens.shape[1]
        tokens[row, length:] = 0
        scores[row] = token_log_probs[row, :length].sum()
    return tokens, scores


def reference_beam_search(
    next_log_probs,
    batch_size,
    start_id,
    end_id,
    max_length,
    beam_width,
    alpha,
    stop_rule="current_length",
    no_repeat_ngram_size=0,
):
    """Beam search as defined in `zoo.decoding.beam_search`, over plain lists, one row's
    hypotheses independent of the others. Before each step a row whose best finished score
    reaches the bound of `stop_rule` stops for good; otherwise it runs all `max_length`
    steps and its alive hypotheses then compete, scored at `max_length`.

    With `no_repeat_ngram_size = n`, an extension that repeats an n-gram of the hypothesis
    is not a candidate (found by listing its n-grams)."""
    alive = [[((), 0.0)] for _ in range(batch_size)]  # per row: (tokens, log P)
    best = [((), -np.inf) for _ in range(batch_size)]  # per row: (tokens, score)
    stopped = [False] * batch_size
    for step in range(max_length):
        for row in range(batch_size):
            best_alive = max(log_prob for _, log_prob in alive[row])
            bound = best_alive / length_penalty(max(step, 1), alpha)
            if stop_rule == "max_length":
                bound = max(bound, best_alive / length_penalty(max_length, alpha))
            stopped[row] = stopped[row] or best[row][1] >= bound
        if all(stopped):
            break
        active = [row for row in range(batch_size) if not stopped[row]]
        rows = [row for row in active for _ in alive[row]]
        prefixes = [[start_id, *tokens] for row in active for tokens, _ in alive[row]]
        log_probs = iter(next_log_probs(rows, prefixes))
        for row in active:
            candidates = []
            for tokens, log_prob in alive[row]:
                next_log_prob = next(log_probs)
                for token in np.flatnonzero(np.isfinite(next_log_prob)):
                    if repeats_ngram(tokens, int(token), no_repeat_ngram_size):
                        continue
                    candidates.append((tokens + (int(token),), log_prob + next_log_prob[token]))
            candidates.sort(key=lambda candidate: -candidate[1])
            candidates = candidates[: 2 * beam_width]
            for rank, (tokens, log_prob) in enumerate(candidates):
                score = log_prob / length_penalty(step + 1, alpha)
                if tokens[-1] == end_id and rank < beam_width and score > best[row][1]:
                    best[row] = (tokens, score)
            alive[row] = [c for c in candidates if c[0][-1] != end_id][:beam_width]
    token_ids = np.zeros((batch_size, max_length), dtype="int32")
    scores = np.zeros(batch_size)
    for row in range(batch_size):
        for tokens, log_prob in alive[row]:
            score = log_prob / length_penalty(len(tokens), alpha)
            if not stopped[row] and score > best[row][1]:
                best[row] = (tokens, score)
        tokens, scores[row] = best[row]
        token_ids[row, : len(tokens)] = tokens
    return token_ids, scores


def repeats_ngram(tokens, token, n):
    """Whether appending `token` to `tokens` makes one of its n-grams appear twice."""
    if not n or len(tokens) < n - 1:
        return False
    extended = list(tokens) + [token]
    grams = [tuple(extended[i : i + n]) for i in range(len(extended) - n)]
    return tuple(extended[-n:]) in grams


def tiny_decoders():
    """Every registered (family, task) with incremental decoding."""
    return [
        (name, task)
        for name in zoo.list_models()
        for task in zoo.list_tasks(name)
        if task in ("seq2seq", "lm")
    ]
