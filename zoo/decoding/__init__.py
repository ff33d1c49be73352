"""Incremental decoding over one protocol, for every zoo `seq2seq` and `lm` model.

`greedy_decode`, `beam_search` (with the length penalty of Wu et al. 2016) and `sample`
(temperature, top-k, top-p; settings may be tensors) step a model through
`init_decode_state` / `decode_step` inside one `keras.ops.while_loop`, so they trace
inside `tf.function` for export and run on JAX.
Each takes the source ids of a `seq2seq` model or the right-padded prompt ids of an `lm`,
and can forbid repeated n-grams (`no_repeat_ngram_size`, `zoo.decoding.repetition`).
See `zoo.decoding.protocol.Decodable` for the protocol.
"""

from zoo.decoding.beam_search import beam_search, wu_length_penalty
from zoo.decoding.greedy import greedy_decode
from zoo.decoding.protocol import Decodable
from zoo.decoding.sampling import sample

__all__ = [
    "Decodable",
    "beam_search",
    "greedy_decode",
    "sample",
    "wu_length_penalty",
]
