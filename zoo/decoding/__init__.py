"""Incremental decoding over one protocol, for every zoo `seq2seq` and `lm` model.

`greedy_decode` and `beam_search` (with the length penalty of Wu et al. 2016) step a model
through `init_decode_state` / `decode_step` inside one `keras.ops.while_loop`, so they trace
inside `tf.function` for export and run on JAX. See `zoo.decoding.protocol`.
"""

from zoo.decoding.beam_search import beam_search, wu_length_penalty
from zoo.decoding.greedy import greedy_decode

__all__ = ["beam_search", "greedy_decode", "wu_length_penalty"]
