"""The incremental-decoding protocol every search in `zoo.decoding` is written over.

`Decodable` writes it down; `start_decoding` checks a call and starts it; the helpers below
turn logits into the log-probabilities a search chooses from, and tile and reorder a
decoding state for beam search.
"""

from __future__ import annotations

import numbers
from typing import Protocol, runtime_checkable

import keras
import numpy as np
from keras import ops

from zoo.special_ids import PAD_ID

TASKS = ("seq2seq", "lm")


@runtime_checkable
class Decodable(Protocol):
    """A model that decodes one token at a time: every zoo `seq2seq` and `lm` model.

    `state = model.init_decode_state(token_ids, max_length)`: `token_ids` are int32
    `(B, T)`, 0 = padding; `max_length` is the number of `decode_step` calls that may follow
    (new tokens), a Python int or, on TensorFlow, a scalar int32 tensor.

    - `seq2seq`: `token_ids` are the source ids. The first token a search feeds (at
      `index = 0`) is the start id.
    - `lm`: `token_ids` are the prompt ids, RIGHT-padded with 0; every row holds at least
      one real token (callers prepend the start id, so an empty prompt is `[start_id]`).
      The state holds each row's prompt but its last real token (the prefill). The first
      token a search feeds is each row's LAST real prompt token; in general the token of
      row `b` at `index` is at position `L_b - 1 + index`, `L_b` the row's prompt length.

    `logits, state = model.decode_step(state, token_ids, index)`: `token_ids` int32 `(B,)`
    at step `index` (0-based, `< max_length`; a scalar int32 tensor inside the loops) ->
    float32 logits `(B, V)` for the next token, and the new state.

    The model says which of the two it is by `model.config.task` (`"seq2seq"` or `"lm"`).

    `state` is a dict of batch-first tensors, so a beam search tiles and reorders its entries
    along axis 0 — all but the source-only ones (names starting with `SOURCE_ONLY_PREFIXES`:
    encoder outputs, keys/values and padding mask), which keep one row per sentence; a
    model's `decode_step` must accept `K` rows of `token_ids` per row of them (zoo's
    attention does: it folds the `K` beams of a sentence into its query axis). Beam search
    also drops rows (sentences that have stopped) from every entry, on TensorFlow.

    Optional: `state = model.resize_decode_state(state, positions)` gives the state room for
    `positions` positions in all (the Transformer pads its self-attention caches):
    `max_length` for `seq2seq`, prompt width + `max_length` for `lm` (see
    `cache_positions`). Beam search then starts on short caches and grows them as it goes.

    Invariant: step-by-step logits equal the model's full forward pass. The padding id 0 is
    never fed after the first token nor emitted (the models mask it as a key in the full
    pass, so emitting it would make cached decoding and the full pass disagree, and it could
    not be told apart from the padding after the end token).
    """

    def init_decode_state(self, token_ids, max_length) -> dict: ...

    def decode_step(self, state, token_ids, index) -> tuple: ...


def check_special_ids(start_id, end_id):
    """`start_id`/`end_id` must be real tokens: id 0 is padding."""
    for name, value in (("start_id", start_id), ("end_id", end_id)):
        if isinstance(value, numbers.Integral) and value == PAD_ID:
            raise ValueError(
                f"{name}=0 is the padding id, which decoding never emits or feeds. Pass the "
                f"tokenizer's {name.replace('_id', '')} token id (a positive int)."
            )


def check_size(name, value):
    """A loop size: a positive int, or (TensorFlow only) a scalar integer tensor.

    Returns it as a Python int when it is one (NumPy ints included).
    """
    if isinstance(value, bool):
        raise TypeError(f"`{name}` must be an int, received {value!r}.")
    if isinstance(value, numbers.Integral):
        if value < 1:
            raise ValueError(f"`{name}` must be at least 1, received {value}.")
        return int(value)
    if keras.config.backend() != "tensorflow":
        raise TypeError(
            f"`{name}` sets the shape of the loop state, so on the {keras.config.backend()!r} "
            f"backend it must be a Python int; received {type(value).__name__}. (Only "
            "TensorFlow accepts a scalar tensor here, e.g. a SavedModel signature input.)"
        )
    return value


def decoding_task(model):
    """`"seq2seq"` or `"lm"`, from `model.config.task`, after checking the model decodes."""
    task = getattr(getattr(model, "config", None), "task", None)
    if task is not None and task not in TASKS:
        raise ValueError(
            f"A {task!r} model has no incremental decoding; build one with task='seq2seq' or "
            "task='lm'."
        )
    if not (hasattr(model, "init_decode_state") and hasattr(model, "decode_step")):
        raise TypeError(
            f"{type(model).__name__} does not implement incremental decoding "
            "(`init_decode_state` and `decode_step`). Build a decoder with "
            "`zoo.build(name, task='seq2seq')` or `task='lm'`."
        )
    if task is None:
        raise TypeError(
            f"{type(model).__name__} implements incremental decoding but has no "
            "`config.task`, so decoding cannot tell source ids from a prompt: give it a "
            "`config` whose `task` is 'seq2seq' or 'lm' (see `zoo.decoding.protocol`)."
        )
    return task


def first_tokens(model, token_ids, start_id):
    """What a search feeds at index 0, int32 `(B,)`: `start_id` for a `seq2seq` model, each
    row's last real prompt token for an `lm` (`token_ids` right-padded with 0)."""
    token_ids = ops.convert_to_tensor(token_ids, dtype="int32")
    if decoding_task(model) == "seq2seq":
        return ops.full((ops.shape(token_ids)[0],), start_id, dtype="int32")
    lengths = ops.sum(ops.cast(ops.not_equal(token_ids, PAD_ID), "int32"), axis=1)  # (B,)
    last = ops.maximum(lengths - 1, 0)[:, None]
    return ops.take_along_axis(token_ids, last, axis=1)[:, 0]


def cache_positions(model, token_ids, max_length):
    """The positions a state needs for `max_length` steps (what `resize_decode_state`
    takes): `max_length` for a `seq2seq` model, prompt width + `max_length` for an `lm`."""
    if decoding_task(model) == "seq2seq":
        return max_length
    width = ops.shape(token_ids)[1]
    if isinstance(width, int) and isinstance(max_length, int):
        return width + max_length
    return ops.cast(width, "int32") + max_length


def start_decoding(model, token_ids, max_length, start_id):
    """Check the call; return `(state, first_tokens)`: the model's `init_decode_state` and
    what the search feeds at index 0 (see `first_tokens`).

    `max_length` has passed `check_size` already.
    """
    task = decoding_task(model)
    what = "source ids" if task == "seq2seq" else "prompt ids (right-padded)"
    if token_ids is None:
        raise ValueError(
            f"Pass `token_ids`: int32 (batch, length) {what}, 0 = padding. A language "
            "model's empty prompt is [[start_id]]."
        )
    if isinstance(token_ids, (list, tuple, np.ndarray)):
        token_ids = np.asarray(token_ids)
        if task == "lm" and token_ids.ndim == 2:
            check_prompts(token_ids)
    token_ids = ops.convert_to_tensor(token_ids, dtype="int32")
    if len(token_ids.shape) != 2:
        raise ValueError(
            f"`token_ids` must be int32 (batch, length) {what}; received shape "
            f"{tuple(token_ids.shape)}. Add a batch axis for a single sequence."
        )
    state = model.init_decode_state(token_ids, max_length)
    return state, first_tokens(model, token_ids, start_id)


def check_prompts(prompt_ids):
    """NumPy prompts: each row right-padded, with at least one real token."""
    real = prompt_ids != PAD_ID
    if not real[:, 0].all():
        rows = np.flatnonzero(~real[:, 0]).tolist()
        raise ValueError(
            f"Prompt rows {rows} are empty or left-padded: every prompt holds at least one "
            "real token (prepend the start id; an empty prompt is [start_id]) and is padded "
            "with 0 on the right."
        )
    if (real[:, 1:] & ~real[:, :-1]).any():
        rows = np.flatnonzero((real[:, 1:] & ~real[:, :-1]).any(1)).tolist()
        raise ValueError(
            f"Prompt rows {rows} have padding (0) before a real token: pad prompts on the "
            "right only."
        )


def token_log_probs(logits):
    """`(B, V)` logits -> float32 log-probabilities, with the padding id at `-inf`.

    The log-probabilities are the model's own (softmax over the whole vocabulary), so a
    score is `log P(Y)`; the padding id is only taken out of the choice.
    """
    log_probs = ops.log_softmax(ops.cast(logits, "float32"), axis=-1)
    is_pad = ops.equal(ops.arange(ops.shape(log_probs)[-1]), PAD_ID)  # (V,)
    return ops.where(is_pad[None, :], float("-inf"), log_probs)


def top_token_log_probs(logits, k, banned=None):
    """The `k` most likely tokens of each row, `(N, V)` logits -> `(log_probs, ids)`, both
    `(N, k)`, ids int32: `token_log_probs` restricted to its top `k`, without computing the
    log-probabilities of the whole vocabulary (one `logsumexp`, then `k` per row).
    `k` must be below `V` (the padding id is never among them).

    `banned`: optional bool `(N, V)`, tokens taken out of the choice like the padding id
    (their probability still counts in the normaliser: scores stay the model's own).
    """
    logits = ops.cast(logits, "float32")
    log_normaliser = ops.logsumexp(logits, axis=-1, keepdims=True)  # (N, 1)
    excluded = ops.equal(ops.arange(ops.shape(logits)[-1]), PAD_ID)[None, :]  # (1, V)
    if banned is not None:
        excluded = ops.logical_or(excluded, banned)
    top_logits, ids = ops.top_k(ops.where(excluded, float("-inf"), logits), k)
    return top_logits - log_normaliser, ops.cast(ids, "int32")


# State entries that depend only on the source sentence: the beams of a sentence share one
# row of them (the models' attention folds a sentence's beams into its query axis), and
# beams never leave their sentence, so tiling or reordering them would only copy memory.
SOURCE_ONLY_PREFIXES = ("cross_attention_", "encoder_padding_mask", "encoder_outputs")


def tile_state(state, times):
    """Repeat every row of the state `times` times: `(B, ...)` -> `(B * times, ...)`, except
    the source-only entries, which keep one row per sentence."""
    return {
        key: value if key.startswith(SOURCE_ONLY_PREFIXES) else ops.repeat(value, times, axis=0)
        for key, value in state.items()
    }


def reorder_state(state, indices):
    """Gather rows of the state: `(N, ...)` -> `(len(indices), ...)`.

    `indices` must keep every beam inside its batch row (beam search's do); the
    source-only entries are then left as they are.
    """
    return {
        key: value if key.startswith(SOURCE_ONLY_PREFIXES) else ops.take(value, indices, axis=0)
        for key, value in state.items()
    }
