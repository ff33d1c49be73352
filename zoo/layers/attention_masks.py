"""Attention masks, all in one place.

Conventions (every layer of zoo follows them):
- A *padding mask* has shape `(batch, length)` and is `True` at real tokens, `False` at
  padding. Token id 0 is padding everywhere, so `padding_mask_from_ids(ids)` gives it.
- An *attention mask* has shape `(batch, query_length, key_length)` and is `True` where the
  query may attend to the key. Multi-head attention broadcasts it over heads.
- Masks are merged by logical AND: a key must be real (padding mask of the *keys* — for
  cross-attention, the encoder's padding mask) and, for causal attention, not in the future.
"""

from __future__ import annotations

from keras import ops

from zoo.special_ids import PAD_ID


def padding_mask_from_ids(token_ids, pad_id: int = PAD_ID):
    """`True` at real tokens, `False` where `token_ids == pad_id`. Shape `(B, T)`."""
    return ops.not_equal(token_ids, pad_id)


def causal_mask(query_length, key_length=None, start_index=0):
    """Lower-triangular mask: query `i` sees keys `j <= i + start_index`.

    `start_index` is the absolute position of the first query, as in cached decoding where
    one query at position `t` attends to a cache of `key_length` slots. A scalar gives a
    `(1, Tq, Tk)` mask; a `(B,)` vector — one start per row, as when the prompts of a batch
    have different lengths — gives `(B, Tq, Tk)`.
    """
    key_length = query_length if key_length is None else key_length
    key_positions = ops.arange(key_length, dtype="int32")
    if is_per_row(start_index):
        start_index = ops.cast(start_index, "int32")[:, None]  # (B, 1)
        query_positions = ops.arange(query_length, dtype="int32")[None, :] + start_index
        return ops.greater_equal(query_positions[:, :, None], key_positions[None, None, :])
    query_positions = ops.arange(query_length, dtype="int32") + ops.cast(start_index, "int32")
    mask = ops.greater_equal(query_positions[:, None], key_positions[None, :])  # (Tq, Tk)
    return mask[None, :, :]


def is_per_row(index) -> bool:
    """Whether a position index is a `(B,)` vector (one per row) rather than a scalar."""
    return len(getattr(index, "shape", ())) == 1


def key_padding_to_attention_mask(key_padding_mask, query_length):
    """Expand a `(B, Tk)` key padding mask to an attention mask `(B, Tq, Tk)`."""
    mask = ops.cast(key_padding_mask, "bool")[:, None, :]
    return ops.repeat(mask, query_length, axis=1)


def merge_attention_masks(*masks):
    """Logical AND of any number of broadcastable masks; `None` entries are ignored."""
    merged = None
    for mask in masks:
        if mask is None:
            continue
        mask = ops.cast(mask, "bool")
        merged = mask if merged is None else ops.logical_and(merged, mask)
    return merged


def compute_attention_mask(
    query_length,
    key_padding_mask=None,
    use_causal_mask: bool = False,
    attention_mask=None,
    key_length=None,
    start_index=0,
):
    """The one recipe for the mask an attention layer uses, shape `(B or 1, Tq, Tk)` or None.

    1. the keys' padding mask (the encoder's for cross-attention), expanded over queries;
    2. AND the causal mask when `use_causal_mask` (decoder self-attention);
    3. AND any explicit `attention_mask` the caller passes.
    Queries at padded positions are not masked: their outputs are ignored downstream.
    """
    padding = None
    if key_padding_mask is not None:
        padding = key_padding_to_attention_mask(key_padding_mask, query_length)
    causal = None
    if use_causal_mask:
        causal = causal_mask(query_length, key_length, start_index)
    return merge_attention_masks(padding, causal, attention_mask)
