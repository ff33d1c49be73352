"""The incremental-decoding protocol every search in `zoo.decoding` is written over.

A decodable model (every zoo `seq2seq` and `lm` model) offers two methods:

- `state = model.init_decode_state(encoder_token_ids, max_length)` for `seq2seq`
  (`encoder_token_ids` int32 `(B, S)`, 0 = padding), or
  `state = model.init_decode_state(batch_size, max_length)` for `lm`;
- `logits, state = model.decode_step(state, token_ids, index)`: `token_ids` int32 `(B,)` at
  position `index` (0-based, `< max_length`) -> float32 logits `(B, V)` for the next token.

`state` is a dict of batch-first tensors, so a beam search tiles and reorders its entries
along axis 0 — all but the source-only ones (names starting with `SOURCE_ONLY_PREFIXES`:
encoder outputs, keys/values and padding mask), which keep one row per sentence; a model's
`decode_step` must accept `K` rows of `token_ids` per row of them (zoo's attention does: it
folds the `K` beams of a sentence into its query axis).

Optionally, `state = model.resize_decode_state(state, max_length)` gives the state room for
`max_length` positions (the Transformer pads its caches): beam search then starts on short
caches and grows them as it goes.

Decoding feeds the start id at index 0; the padding id 0 is never emitted (the models mask
it as a key in the full pass, so emitting it would make cached decoding and the full pass
disagree, and it could not be told apart from the padding after the end token).
"""

from __future__ import annotations

import numbers

import keras
from keras import ops

PAD_ID = 0


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


def start_decoding(model, encoder_token_ids, batch_size, max_length):
    """Validate the call and return `(state, batch_size)` from `model.init_decode_state`.

    `encoder_token_ids` is given for a `seq2seq` model, `batch_size` for an `lm`;
    `max_length` has passed `check_size` already.
    """
    task = getattr(getattr(model, "config", None), "task", None)
    if task not in (None, "seq2seq", "lm"):
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
    if encoder_token_ids is not None and batch_size is not None:
        raise ValueError(
            "Pass either `encoder_token_ids` (a seq2seq model) or `batch_size` (a language "
            "model), not both: the batch size of a seq2seq model is that of its source ids."
        )
    if encoder_token_ids is None:
        if task == "seq2seq" or batch_size is None:
            raise ValueError(
                "Pass `encoder_token_ids` (int32 (batch, source_length), 0 = padding) for a "
                "seq2seq model, or `batch_size=` for a language model (task='lm')."
            )
        batch_size = check_size("batch_size", batch_size)
        return model.init_decode_state(batch_size, max_length), batch_size
    if task == "lm":
        raise ValueError(
            "A language model (task='lm') has no encoder: drop `encoder_token_ids` and pass "
            "`batch_size=` instead."
        )
    encoder_token_ids = ops.convert_to_tensor(encoder_token_ids, dtype="int32")
    if len(encoder_token_ids.shape) != 2:
        raise ValueError(
            "`encoder_token_ids` must be int32 (batch, source_length); received shape "
            f"{tuple(encoder_token_ids.shape)}. Add a batch axis for a single sequence."
        )
    state = model.init_decode_state(encoder_token_ids, max_length)
    return state, ops.shape(encoder_token_ids)[0]


def token_log_probs(logits):
    """`(B, V)` logits -> float32 log-probabilities, with the padding id at `-inf`.

    The log-probabilities are the model's own (softmax over the whole vocabulary), so a
    score is `log P(Y)`; the padding id is only taken out of the choice.
    """
    log_probs = ops.log_softmax(ops.cast(logits, "float32"), axis=-1)
    is_pad = ops.equal(ops.arange(ops.shape(log_probs)[-1]), PAD_ID)  # (V,)
    return ops.where(is_pad[None, :], float("-inf"), log_probs)


def top_token_log_probs(logits, k):
    """The `k` most likely tokens of each row, `(N, V)` logits -> `(log_probs, ids)`, both
    `(N, k)`, ids int32: `token_log_probs` restricted to its top `k`, without computing the
    log-probabilities of the whole vocabulary (one `logsumexp`, then `k` per row).
    `k` must be below `V` (the padding id is never among them)."""
    logits = ops.cast(logits, "float32")
    log_normaliser = ops.logsumexp(logits, axis=-1, keepdims=True)  # (N, 1)
    is_pad = ops.equal(ops.arange(ops.shape(logits)[-1]), PAD_ID)  # (V,)
    top_logits, ids = ops.top_k(ops.where(is_pad[None, :], float("-inf"), logits), k)
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
