"""Sampling with temperature, top-k and top-p (nucleus) over the decoding protocol.

Each token is drawn by a keras-nlp sampler (`RandomSampler`, `TopKSampler`, `TopPSampler`):
its `get_next_token` draws from the tempered, filtered distribution, and its `run_loop`
carries the random state through the loop on JAX (a `keras.StatelessScope`, which a seed
generator inside `jax.lax.while_loop` needs). The loop is ours (`token_loop.py`, shared with
greedy decoding): the samplers' own `__call__` reports no log-probabilities and keeps
writing tokens into rows that have ended.
"""

from __future__ import annotations

import numbers

import keras
from keras import ops

from zoo.decoding.protocol import check_size, check_special_ids, start_decoding
from zoo.decoding.repetition import check_ngram_size
from zoo.decoding.token_loop import decode_token_by_token


def make_sampler(temperature=1.0, top_k=None, top_p=None, seed=None):
    """The keras-nlp sampler for these settings: top-p (within the top k, if given),
    top-k, or the whole distribution."""
    if not isinstance(temperature, numbers.Real) or temperature <= 0:
        raise ValueError(
            f"`temperature` must be a positive number, received {temperature!r}; use "
            "`greedy_decode` for the argmax (the limit of temperature -> 0)."
        )
    if top_k is not None and (not isinstance(top_k, numbers.Integral) or top_k < 1):
        raise ValueError(f"`top_k` must be a positive int or None, received {top_k!r}.")
    if top_p is not None and not 0 < top_p <= 1:
        raise ValueError(
            f"`top_p` must be in (0, 1] or None, received {top_p!r}: the smallest set of tokens "
            "whose probabilities sum to at least `top_p` is kept."
        )
    import keras_nlp  # only sampling needs it: greedy and beam search run without it

    samplers = keras_nlp.samplers
    if top_p is not None:
        return samplers.TopPSampler(p=top_p, k=top_k, seed=seed, temperature=temperature)
    if top_k is not None:
        return samplers.TopKSampler(k=int(top_k), seed=seed, temperature=temperature)
    return samplers.RandomSampler(seed=seed, temperature=temperature)


def sample(
    model,
    token_ids,
    *,
    start_id,
    end_id,
    max_length,
    temperature=1.0,
    top_k=None,
    top_p=None,
    seed=None,
    sampler=None,
    no_repeat_ngram_size=0,
):
    """Draw each next token at random until `end_id` or `max_length` tokens.

    Args:
        model, token_ids, start_id, end_id, max_length, no_repeat_ngram_size: as for
            `greedy_decode` (tokens that would repeat an n-gram get probability 0).
        temperature: logits are divided by it before the softmax; below 1 sharpens.
        top_k: draw only among the `top_k` most likely tokens.
        top_p: draw only among the smallest set of most likely tokens whose probabilities
            sum to at least `top_p` (Holtzman et al. 2020), within the top k if `top_k`
            is given too.
        seed: an int makes the draw reproducible.
        sampler: a keras-nlp sampler from `make_sampler` (or any `keras_nlp.samplers`
            sampler with `get_next_token`), instead of `temperature`, `top_k`, `top_p` and
            `seed`. Its random state is a variable, which a `tf.function` may create on its
            first trace only: build the sampler outside a function that is traced more than
            once (a SavedModel export), and pass it here.

    Returns:
        `(token_ids, scores)`: int32 `(B, max_length)`, 0 after `end_id`; float32 `(B,)` the
        sum of the model's own log-probabilities (temperature 1, unfiltered) of the drawn
        tokens. The padding id 0 is never drawn.

    Example:
    >>> import zoo
    >>> model = zoo.build("transformer", task="lm", preset="tiny", vocab_size=20)
    >>> prompts = [[2, 7, 8], [2, 0, 0]]  # the start id, then the prompt; right-padded
    >>> ids, scores = sample(model, prompts, start_id=2, end_id=3, max_length=4, top_p=0.9,
    ...                      seed=0)
    >>> tuple(ids.shape)
    (2, 4)
    """
    if sampler is None:
        sampler = make_sampler(temperature, top_k, top_p, seed)
    elif (temperature, top_k, top_p, seed) != (1.0, None, None, None):
        raise ValueError(
            "Pass either `sampler` or `temperature`/`top_k`/`top_p`/`seed`, not both: "
            "a sampler carries its own settings (see `make_sampler`)."
        )
    check_special_ids(start_id, end_id)
    max_length = check_size("max_length", max_length)
    no_repeat_ngram_size = check_ngram_size(no_repeat_ngram_size)
    state, first_tokens = start_decoding(model, token_ids, max_length, start_id)

    def choose_next(logits, log_probs, index):
        # Tempered and filtered by the sampler; the padding id keeps probability 0.
        logits = ops.where(ops.isinf(log_probs), log_probs, ops.cast(logits, "float32"))
        return sampler.get_next_token(sampler.compute_probabilities(logits))

    def run_loop(**kwargs):
        return sampler.run_loop(**kwargs, model=model if isinstance(model, keras.Model) else None)

    return decode_token_by_token(
        model,
        state,
        first_tokens,
        choose_next,
        end_id=end_id,
        max_length=max_length,
        no_repeat_ngram_size=no_repeat_ngram_size,
        run_loop=run_loop,
    )
