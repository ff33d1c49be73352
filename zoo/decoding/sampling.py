"""Sampling with temperature, top-k and top-p (nucleus) over the decoding protocol.

One sampler for in-process generation and the exported `generate` signature: every setting
may be a scalar tensor, so one trace serves every request. Temperature 0 decodes greedily;
`top_k <= 0` (or None) keeps every token; `top_p = 1` (or None) keeps every token. A draw is
stateless: `(seed, step)` picks it, so the same seed, prompts and settings give the same
tokens, in process and from an export (TensorFlow's `stateless_categorical`, JAX's
`categorical` with a folded key).
"""

from __future__ import annotations

import numbers
import weakref

import keras
from keras import ops

from zoo.decoding.protocol import check_size, check_special_ids, start_decoding
from zoo.decoding.repetition import check_ngram_size
from zoo.decoding.token_loop import decode_token_by_token

NEGATIVE_INFINITY = float("-inf")


def check_sampling(temperature, top_k, top_p) -> None:
    """Python settings: temperature >= 0 (0 = greedy), any int top_k (<= 0: no filter),
    top_p in (0, 1]."""
    if not isinstance(temperature, numbers.Real) or temperature < 0:
        raise ValueError(
            f"`temperature` must be a number >= 0 (0 decodes greedily), received {temperature!r}."
        )
    if top_k is not None and (isinstance(top_k, bool) or not isinstance(top_k, numbers.Integral)):
        raise ValueError(f"`top_k` must be an int (<= 0 or None: no top-k), received {top_k!r}.")
    if top_p is not None and not (isinstance(top_p, numbers.Real) and 0 < top_p <= 1):
        raise ValueError(
            f"`top_p` must be in (0, 1] (1 or None: no top-p), received {top_p!r}: the smallest "
            "set of most likely tokens whose probabilities sum to at least `top_p` is kept."
        )


def filter_logits(logits, temperature, top_k, top_p):
    """`(N, V)` logits -> tempered logits with everything outside the top `top_k` (when
    `top_k > 0`) and outside the nucleus `top_p` (Holtzman et al. 2020) at `-inf`.
    Every setting may be a scalar tensor."""
    logits = ops.cast(logits, "float32") / ops.maximum(ops.cast(temperature, "float32"), 1e-6)
    vocabulary = ops.shape(logits)[-1]
    sorted_logits = ops.flip(ops.sort(logits, axis=-1), axis=-1)  # (N, V), descending
    # Top-k: keep logits >= the k-th largest (k <= 0 keeps all).
    k = ops.cast(top_k, "int32")
    k = ops.where(k > 0, ops.minimum(k, vocabulary), vocabulary)
    kth = ops.take(sorted_logits, k - 1, axis=1)[:, None]  # (N, 1)
    logits = ops.where(logits >= kth, logits, NEGATIVE_INFINITY)
    # Top-p over what top-k left: the smallest prefix of the sorted tokens whose
    # probabilities reach `top_p` (the token that crosses it is kept).
    sorted_logits = ops.where(ops.arange(vocabulary)[None, :] < k, sorted_logits, NEGATIVE_INFINITY)
    probabilities = ops.softmax(sorted_logits, axis=-1)
    before = ops.cumsum(probabilities, axis=-1) - probabilities  # mass before each token
    kept = before < ops.cast(top_p, "float32")
    threshold = ops.min(ops.where(kept, sorted_logits, float("inf")), axis=-1, keepdims=True)
    return ops.where(logits >= threshold, logits, NEGATIVE_INFINITY)


def draw(logits, seed, index):
    """One token per row from `softmax(logits)`, with the stateless seed `(seed, index)`."""
    if keras.config.backend() == "jax":
        import jax

        key = jax.random.fold_in(jax.random.PRNGKey(seed), index)
        return jax.random.categorical(key, logits, axis=-1).astype("int32")
    import tensorflow as tf

    pair = tf.stack([tf.cast(seed, tf.int32), tf.cast(index, tf.int32)])
    return tf.cast(tf.random.stateless_categorical(logits, 1, seed=pair)[:, 0], tf.int32)


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
    seed=0,
    no_repeat_ngram_size=0,
):
    """Draw each next token at random until `end_id` or `max_length` tokens.

    Args:
        model, token_ids, start_id, end_id, max_length, no_repeat_ngram_size: as for
            `greedy_decode` (tokens that would repeat an n-gram get probability 0).
        temperature: logits are divided by it before the softmax; below 1 sharpens; 0 is
            greedy.
        top_k: draw only among the `top_k` most likely tokens (None or <= 0: all).
        top_p: draw only among the smallest set of most likely tokens whose probabilities
            sum to at least `top_p` (Holtzman et al. 2020), within the top k if `top_k`
            is given too (None: 1, all).
        seed: an int; the same seed gives the same draw.

    Python settings are checked; tensors (inside a traced function, an export) are not.

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
    if not _is_tensor(temperature) and not _is_tensor(top_k) and not _is_tensor(top_p):
        check_sampling(temperature, top_k, top_p)
    if seed is None:
        seed = 0
    elif not _is_tensor(seed) and (
        isinstance(seed, bool) or not isinstance(seed, numbers.Integral)
    ):
        raise ValueError(f"`seed` must be an int, received {seed!r}.")
    check_special_ids(start_id, end_id)
    max_length = check_size("max_length", max_length)
    no_repeat_ngram_size = check_ngram_size(no_repeat_ngram_size)
    top_k = 0 if top_k is None else top_k
    top_p = 1.0 if top_p is None else top_p
    state, first_tokens = start_decoding(model, token_ids, max_length, start_id)

    def choose_next(logits, log_probs, index):
        # `log_probs` has the padding id (and blocked repeats) at -inf; keep them out.
        allowed = ops.where(ops.isinf(log_probs), NEGATIVE_INFINITY, ops.cast(logits, "float32"))
        greedy = ops.cast(ops.argmax(log_probs, axis=-1), "int32")
        sampled = draw(filter_logits(allowed, temperature, top_k, top_p), seed, index)
        return ops.where(ops.cast(temperature, "float32") > 0, sampled, greedy)

    return decode_token_by_token(
        model,
        state,
        first_tokens,
        choose_next,
        end_id=end_id,
        max_length=max_length,
        no_repeat_ngram_size=no_repeat_ngram_size,
    )


def _is_tensor(value) -> bool:
    return not isinstance(value, (numbers.Number, type(None)))


# Compiled samplers by model (weakly held): one trace serves every prompt width, batch size
# and setting, since they are all tensors.
_SAMPLERS = weakref.WeakKeyDictionary()


def compiled_sampler(model, *, start_id, end_id, no_repeat_ngram_size=0):
    """`sample` for `model`, compiled once (`tf.function` on TensorFlow; eager elsewhere):
    `(prompt_ids, max_length, temperature, top_k, top_p, seed) -> (token_ids, scores)`."""
    key = (start_id, end_id, no_repeat_ngram_size)
    cached = _SAMPLERS.setdefault(model, {})
    if key in cached:
        return cached[key]
    model_reference = weakref.ref(model)

    def generate(prompt_ids, max_length, temperature, top_k, top_p, seed):
        return sample(
            model_reference(),
            prompt_ids,
            start_id=start_id,
            end_id=end_id,
            max_length=max_length,
            temperature=temperature,
            top_k=top_k,
            top_p=top_p,
            seed=seed,
            no_repeat_ngram_size=no_repeat_ngram_size,
        )

    if keras.config.backend() == "tensorflow":
        import tensorflow as tf

        generate = tf.function(
            generate,
            input_signature=[
                tf.TensorSpec([None, None], tf.int32),
                tf.TensorSpec([], tf.int32),
                tf.TensorSpec([], tf.float32),
                tf.TensorSpec([], tf.int32),
                tf.TensorSpec([], tf.float32),
                tf.TensorSpec([], tf.int32),
            ],
        )
    cached[key] = generate
    return generate
