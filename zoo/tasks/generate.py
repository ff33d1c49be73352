"""Text generation, the `lm` product: a prompt in, its continuation out; exported.

- Training: windows of running text (`zoo.data.text_stream`), the loss in nats per token,
  AdamW with warm-up and cosine decay (nanoGPT's recipe) — `GENERATE.compile`.
- In process: `generate_texts(model, tokenizer, prompts, max_new_tokens, temperature,
  top_k, top_p, seed)` — greedy when `temperature == 0`; `score_texts` for log-likelihoods.
- Export: `generate`, `score` and `logits` signatures, text in and text out;
  `serving_default(prompt)` generates with the export's settings (`GenerateTask.endpoints`).

Sampling here takes its settings as tensors (a signature's inputs) and draws each token
with a stateless seed `(seed, step)`: the same prompt, settings and seed give the same text
in process and from the SavedModel, and concurrent requests never share random state.
keras-nlp's samplers (used by `zoo.decoding.sample`) fix `k` at construction and keep their
random state in a variable, which a per-request seed and `top_k` cannot set.

Prompts and the context: a prompt is `[start] + its tokens`; one longer than
`context_length` keeps its last `context_length` tokens. A model with learned positions
(the Transformer's `position_encoding="learned"`) cannot see past `max_sequence_length`:
there the prompt also leaves room for the new tokens, and `max_new_tokens` is cut to what
fits (the number of tokens actually generated is in `token_ids`).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from zoo.decoding.sampling import check_sampling, compiled_sampler, sample
from zoo.export.archive import Endpoint
from zoo.export.input_checks import (
    LIMIT_NOTE,
    check_default,
    check_limit,
    require,
    require_in_range,
)
from zoo.models.base import position_limit
from zoo.special_ids import PAD_ID
from zoo.tasks.base import Task, register_task
from zoo.tasks.preprocessor import Preprocessor, text_list
from zoo.training import MaskedSparseCategoricalCrossentropy, MaskedTokenAccuracy
from zoo.training.optimizers import make_optimizer


def fit_prompts(rows, max_new_tokens, *, context_length=None, limit=None):
    """Cut prompt rows (each `[start] + tokens`) to the context: the last `context_length`
    tokens, and with a position `limit` room for the new tokens too; returns
    `(rows, max_new_tokens)` with `max_new_tokens` cut to what fits."""
    keep = context_length
    if limit is not None:
        max_new_tokens = min(max_new_tokens, limit - 1)
        room = limit - max_new_tokens
        keep = room if keep is None else min(keep, room)
    if keep is not None:
        rows = [row[-keep:] for row in rows]
    return rows, max_new_tokens


def encode_prompts(tokenizer, prompts, max_new_tokens, *, context_length=None, limit=None):
    """`(right-padded int32 prompt ids (B, P), max_new_tokens)`; see `fit_prompts`."""
    rows = [[tokenizer.start_id, *ids] for ids in tokenizer.encode(list(prompts))]
    rows, max_new_tokens = fit_prompts(
        rows, max_new_tokens, context_length=context_length, limit=limit
    )
    width = max(len(row) for row in rows)
    ids = np.array([row + [PAD_ID] * (width - len(row)) for row in rows], dtype="int32")
    return ids, max_new_tokens


# `generate_texts`'s default, and so what `serving_default` generates by default.
MAX_NEW_TOKENS = 200


def generate_texts(
    model,
    tokenizer,
    prompts: Sequence[str],
    *,
    max_new_tokens: int = MAX_NEW_TOKENS,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    seed: int = 0,
    no_repeat_ngram_size: int = 0,
    context_length: int | None = None,
) -> list[str]:
    """Continue each prompt with `max_new_tokens` tokens (fewer where one ends).

    Args:
        model: a zoo `lm` model; tokenizer: the one it was trained with.
        prompts: strings; `""` generates from the start.
        temperature: 0 decodes greedily; else logits are divided by it before sampling.
        top_k: sample among the `top_k` most likely tokens (None or <= 0: all).
        top_p: sample among the smallest set whose probabilities reach `top_p` (None: 1).
        seed: the same seed, prompts and settings give the same texts (also from the
            exported `generate` signature).
        no_repeat_ngram_size: no n-gram of this size twice in the continuation (0: off).
        context_length: the longest prompt in tokens, `[start]` included (None: the
            model's position limit, or no limit).

    Returns:
        The continuations (without the prompts).
    """
    check_sampling(temperature, top_k, top_p)
    if not isinstance(seed, numbers.Integral):
        raise ValueError(f"`seed` must be an int, received {seed!r}.")
    prompt_ids, max_new_tokens = encode_prompts(
        tokenizer,
        prompts,
        max_new_tokens,
        context_length=context_length,
        limit=position_limit(model),
    )
    if max_new_tokens < 1:
        return [""] * len(prompts)
    generate = compiled_sampler(
        model,
        start_id=tokenizer.start_id,
        end_id=tokenizer.end_id,
        no_repeat_ngram_size=no_repeat_ngram_size,
    )
    token_ids, _ = generate(
        prompt_ids,
        np.int32(max_new_tokens),
        np.float32(temperature),
        np.int32(top_k or 0),
        np.float32(1.0 if top_p is None else top_p),
        np.int32(seed),
    )
    return tokenizer.decode(np.asarray(token_ids))


def sequence_log_likelihood(model, token_ids):
    """`(log_likelihood (B,), num_tokens (B,))` of right-padded rows `[start] + tokens`:
    the sum of `log P(token | tokens before it)` over each row's real tokens after start."""
    logits = ops.cast(model(token_ids[:, :-1], training=False), "float32")  # (B, T-1, V)
    targets = token_ids[:, 1:]
    log_probs = ops.log_softmax(logits, axis=-1)
    picked = ops.take_along_axis(log_probs, ops.cast(targets, "int32")[..., None], axis=-1)[..., 0]
    real = ops.cast(ops.not_equal(targets, PAD_ID), "float32")
    return ops.sum(picked * real, axis=1), ops.cast(ops.sum(real, axis=1), "int32")


def score_texts(model, tokenizer, texts: Sequence[str], *, limit=None) -> list[dict]:
    """Each text's `{"log_likelihood", "num_tokens"}` (natural log, summed over its tokens;
    a model with a position limit scores the first tokens that fit)."""
    limit = position_limit(model) if limit is None else limit
    rows = [[tokenizer.start_id, *ids] for ids in tokenizer.encode(list(texts))]
    if limit is not None:
        rows = [row[:limit] for row in rows]
    width = max(2, max(len(row) for row in rows))
    ids = np.array([row + [PAD_ID] * (width - len(row)) for row in rows], dtype="int32")
    log_likelihood, num_tokens = sequence_log_likelihood(model, ids)
    return [
        {"log_likelihood": float(a), "num_tokens": int(n)}
        for a, n in zip(np.asarray(log_likelihood), np.asarray(num_tokens))
    ]


class SampleText(keras.callbacks.Callback):
    """Prints a continuation of each prompt at the end of every `every` epochs: a look at
    what the model has learned so far (spelling, then words, then structure)."""

    def __init__(self, tokenizer, prompts, *, every=1, max_new_tokens=120, temperature=0.8, **kw):
        super().__init__()
        self.tokenizer, self.prompts, self.every = tokenizer, list(prompts), every
        self.options = dict(max_new_tokens=max_new_tokens, temperature=temperature, **kw)
        self.samples = []

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every:
            return
        texts = generate_texts(self.model, self.tokenizer, self.prompts, **self.options)
        self.samples.append({"epoch": epoch + 1, "texts": texts})
        for prompt, text in zip(self.prompts, texts):
            print(f"\n  sample after epoch {epoch + 1}: {prompt!r} -> {prompt + text!r}")


# --- The task ---------------------------------------------------------------------------


# The most tokens an exported `generate` makes per request by default (export option
# `max_new_tokens_limit`): an untrained or unlucky model may never emit the end token.
MAX_NEW_TOKENS_LIMIT = 4096


# The warm-up request's prompt (`zoo.export.warmup`).
WARMUP_PROMPT = "Once upon a time, "


def prompt_ids_graph(text_graph, prompt, max_new_tokens, context_length=None, position_limit=None):
    """`encode_prompts` in TensorFlow ops, for the export: `(prompt ids int32 (B, P),
    max_new_tokens)` with the same ids and count (tested equal on the same prompts)."""
    start_id, big = text_graph.card["start_id"], 1 << 30
    ids = text_graph.tokenize(prompt)  # ragged (B, None)
    start = tf.fill([ids.nrows(), 1], tf.constant(start_id, tf.int32))
    ids = tf.concat([tf.RaggedTensor.from_tensor(start), ids], axis=1)
    keep = tf.constant(context_length or big, tf.int32)
    if position_limit is not None:
        max_new_tokens = tf.minimum(max_new_tokens, position_limit - 1)
        keep = tf.minimum(keep, position_limit - max_new_tokens)
    # Keep each row's last `keep` tokens: shift it left by what it drops.
    dense = ids.to_tensor(PAD_ID)  # (B, W)
    lengths = tf.cast(ids.row_lengths(), tf.int32)
    drop = tf.maximum(lengths - keep, 0)
    width = tf.maximum(tf.reduce_max(lengths - drop), 1)  # 1 for an empty batch
    columns = tf.range(width)[None, :] + drop[:, None]
    last_column = tf.shape(dense)[1] - 1
    kept = tf.gather(dense, tf.minimum(columns, last_column), batch_dims=1)
    return tf.where(columns < lengths[:, None], kept, PAD_ID), max_new_tokens


def score_ids_graph(text_graph, text, position_limit=None):
    """`score_texts`'s rows in TensorFlow ops: `[start] + tokens`, cut to `position_limit`,
    right-padded to at least two columns."""
    ids = text_graph.tokenize(text)
    start = tf.fill([ids.nrows(), 1], tf.constant(text_graph.card["start_id"], tf.int32))
    ids = tf.concat([tf.RaggedTensor.from_tensor(start), ids], axis=1)
    if position_limit is not None:
        ids = ids[:, :position_limit]
    dense = ids.to_tensor(PAD_ID)
    return tf.pad(dense, [[0, 0], [0, tf.maximum(2 - tf.shape(dense)[1], 0)]])


INT32_RANGE = (-(2**31), 2**31 - 1)


def serving_settings(max_new_tokens_limit, *, max_new_tokens=None, **sampling) -> dict:
    """The export options that set `serving_default`'s settings, checked (a `ValueError`
    names a bad one) and as the `generate` signature takes them: `max_new_tokens` (None:
    `MAX_NEW_TOKENS`, cut to the limit), `temperature`, `top_k`, `top_p`, `seed`,
    `no_repeat_ngram_size`."""
    temperature, top_k, top_p = sampling["temperature"], sampling["top_k"], sampling["top_p"]
    check_sampling(temperature, top_k, top_p)
    if not math.isfinite(temperature):
        raise ValueError(f"`temperature` must be finite; received {temperature!r}.")
    for name in ("top_k", "seed"):
        value = sampling[name]
        if value is not None and not (
            isinstance(value, numbers.Integral)
            and not isinstance(value, bool)
            and INT32_RANGE[0] <= value <= INT32_RANGE[1]
        ):
            raise ValueError(f"`{name}` must be an int32; received {value!r}.")
    return {
        "max_new_tokens": check_default(
            "max_new_tokens", max_new_tokens, MAX_NEW_TOKENS, 0, max_new_tokens_limit
        ),
        "temperature": float(temperature),
        "top_k": int(top_k or 0),
        "top_p": 1.0 if top_p is None else float(top_p),
        "seed": int(sampling["seed"]),
        "no_repeat_ngram_size": check_default(
            "no_repeat_ngram_size", sampling["no_repeat_ngram_size"], 0, 0
        ),
    }


class GeneratePreprocessor(Preprocessor):
    """Prompts -> `token_ids` for an `lm` model, and `generate()` / `score()`.

    Options (the export's): `context_length` (the longest prompt in tokens, `[start]`
    included; None: the model's position limit), `no_repeat_ngram_size` (0), and the
    defaults of a request: `max_new_tokens` (200), `temperature` (1.0), `top_k` (0: off),
    `top_p` (1.0), `seed` (0); `max_new_tokens_limit` bounds what the export accepts.
    """

    task = "generate"
    text_methods = ("generate", "score")
    option_names = (
        "context_length",
        "no_repeat_ngram_size",
        "max_new_tokens",
        "temperature",
        "top_k",
        "top_p",
        "seed",
        "max_new_tokens_limit",
    )

    def defaults(self) -> dict:
        """The settings a request leaves out, as the export's `serving_default` sends them
        (`serving_settings` of the options: 200 new tokens cut to the limit, temperature 1,
        no top-k or top-p, seed 0)."""
        options = self.options
        return serving_settings(
            options.get("max_new_tokens_limit", MAX_NEW_TOKENS_LIMIT),
            max_new_tokens=options.get("max_new_tokens"),
            temperature=options.get("temperature", 1.0),
            top_k=options.get("top_k", 0),
            top_p=options.get("top_p", 1.0),
            seed=options.get("seed", 0),
            no_repeat_ngram_size=options.get("no_repeat_ngram_size", 0),
        )

    def inputs(self, prompts, max_new_tokens=MAX_NEW_TOKENS, *, limit=None):
        """`(int32 (B, P) prompt ids, max_new_tokens)`, as `graph_inputs` computes them."""
        return encode_prompts(
            self.tokenizer,
            text_list(prompts),
            max_new_tokens,
            context_length=self.options.get("context_length"),
            limit=limit,
        )

    def graph_inputs(self, text_graph, prompt, max_new_tokens=MAX_NEW_TOKENS, *, limit=None):
        return prompt_ids_graph(
            text_graph, prompt, max_new_tokens, self.options.get("context_length"), limit
        )

    def generate(
        self,
        model,
        prompts,
        *,
        max_new_tokens=None,
        temperature=None,
        top_k=None,
        top_p=None,
        seed=None,
    ):
        """Each prompt's continuation (`generate_texts`); a setting left None takes the
        options' (the export's defaults): 200 new tokens, temperature 1, no top-k or top-p,
        seed 0. Temperature 0 is greedy; `top_k <= 0` is no top-k filter."""
        given = dict(
            max_new_tokens=max_new_tokens,
            temperature=temperature,
            top_k=top_k,
            top_p=top_p,
            seed=seed,
        )
        settings = {
            **self.defaults(),
            **{key: value for key, value in given.items() if value is not None},
        }
        return generate_texts(
            model,
            self.tokenizer,
            text_list(prompts),
            context_length=self.options.get("context_length"),
            **settings,
        )

    def score(self, model, texts):
        """Each text's `{"log_likelihood", "num_tokens"}` (`score_texts`)."""
        return score_texts(model, self.tokenizer, text_list(texts))

    @staticmethod
    def generate_exported(
        signatures,
        card,
        prompts,
        *,
        max_new_tokens=None,
        temperature=None,
        top_k=None,
        top_p=None,
        seed=None,
    ):
        prompts = text_list(prompts)
        defaults = card.get("serving_default", {}).get("defaults", {})

        def setting(name, value, default, dtype):
            value = defaults.get(name, default) if value is None else value
            return tf.constant(value, dtype)

        outputs = signatures["generate"](
            prompt=tf.constant(prompts, tf.string),
            max_new_tokens=setting("max_new_tokens", max_new_tokens, MAX_NEW_TOKENS, tf.int32),
            temperature=setting("temperature", temperature, 1.0, tf.float32),
            top_k=setting("top_k", top_k, 0, tf.int32),
            top_p=setting("top_p", top_p, 1.0, tf.float32),
            seed=setting("seed", seed, 0, tf.int32),
            no_repeat_ngram_size=setting("no_repeat_ngram_size", None, 0, tf.int32),
        )
        return [text.decode("utf-8") for text in outputs["text"].numpy()]

    @staticmethod
    def score_exported(signatures, card, texts):
        outputs = signatures["score"](text=tf.constant(text_list(texts), tf.string))
        return [
            {"log_likelihood": float(a), "num_tokens": int(n)}
            for a, n in zip(outputs["log_likelihood"].numpy(), outputs["num_tokens"].numpy())
        ]


class GenerateTask(Task):
    """`lm` models: a prompt in, its continuation out."""

    name = "generate"
    model_task = "lm"
    preprocessor_class = GeneratePreprocessor

    def compile(
        self,
        model,
        *,
        learning_rate: float = 1e-3,
        min_learning_rate: float = 1e-4,
        warmup_steps: int = 100,
        decay_steps: int = 2000,
        weight_decay: float = 0.1,
        beta_2: float = 0.99,
        clipnorm: float | None = 1.0,
        jit_compile=False,
        optimizer: str = "adamw",
    ):
        """AdamW, linear warm-up to `learning_rate`, cosine decay to `min_learning_rate` at
        step `decay_steps` (nanoGPT's recipe; `zoo.training.optimizers.adamw`, or
        `optimizer="muon"`: `zoo.training.optimizers.muon`, same schedule);
        cross-entropy in nats over real tokens. Weight decay skips biases and layer-norm
        scales."""
        optimizer = make_optimizer(
            optimizer,
            learning_rate,
            warmup_steps=warmup_steps,
            decay="cosine",
            decay_steps=decay_steps,
            min_learning_rate=min_learning_rate,
            weight_decay=weight_decay,
            beta_2=beta_2,
            clipnorm=clipnorm,
        )
        model.compile(
            optimizer=optimizer,
            loss=MaskedSparseCategoricalCrossentropy(label_smoothing=0.0),
            metrics=[MaskedTokenAccuracy()],
            jit_compile=jit_compile,
        )
        return model

    def decoding_card(
        self, *, context_length=None, max_new_tokens_limit=MAX_NEW_TOKENS_LIMIT, **options
    ):
        return {
            "algorithm": "greedy (temperature 0) or sampling (temperature, top-k, top-p)",
            "context_length": context_length,
            "position_limit": options.get("position_limit"),
            "seed": "stateless per request: (seed, step)",
            # What a request may ask for; outside, it is refused (INVALID_ARGUMENT). A model
            # with a position limit generates at most position_limit - 1 tokens.
            "max_new_tokens_range": [0, max_new_tokens_limit],
        }

    def export(self, model, tokenizer, directory, *, context_length=None, **options):
        return super().export(
            model,
            tokenizer,
            directory,
            context_length=context_length,
            position_limit=position_limit(model),
            **options,
        )

    def endpoints(
        self,
        model,
        text_graph,
        *,
        context_length=None,
        position_limit=None,
        max_new_tokens_limit=MAX_NEW_TOKENS_LIMIT,
        max_new_tokens=None,
        temperature=1.0,
        top_k=0,
        top_p=1.0,
        seed=0,
        no_repeat_ngram_size=0,
    ):
        """`generate(prompt, max_new_tokens, temperature, top_k, top_p, seed,
        no_repeat_ngram_size)`, `score(text)` and `logits`; `serving_default(prompt)` is
        `generate` with the export's settings, which the model card records
        (`serving_default.defaults`): by default `generate_texts`'s (200 new tokens, or the
        limit where it is lower; temperature 1, no top-k or top-p, seed 0, no blocked
        repeats: the same prompt gets the same continuation).

        A request's settings out of range (`max_new_tokens` outside `[0,
        max_new_tokens_limit]`, a `temperature` that is negative or not finite, `top_p`
        outside `(0, 1]`, a negative `no_repeat_ngram_size`) are refused with a message
        naming the input; so are export settings out of range, with a `ValueError`."""
        check_limit("max_new_tokens_limit", max_new_tokens_limit)
        defaults = serving_settings(
            max_new_tokens_limit,
            max_new_tokens=max_new_tokens,
            temperature=temperature,
            top_k=top_k,
            top_p=top_p,
            seed=seed,
            no_repeat_ngram_size=no_repeat_ngram_size,
        )
        start_id, end_id = text_graph.card["start_id"], text_graph.card["end_id"]

        def generate(prompt, max_new_tokens, temperature, top_k, top_p, seed, no_repeat_ngram_size):
            max_new_tokens = require_in_range(
                max_new_tokens,
                "max_new_tokens",
                0,
                max_new_tokens_limit,
                note=LIMIT_NOTE,
            )
            temperature = require(
                temperature,
                (temperature >= 0.0) & tf.math.is_finite(temperature),
                "temperature must be a finite number >= 0 (0 = greedy); received {}.",
            )
            top_p = require(
                top_p, (top_p > 0.0) & (top_p <= 1.0), "top_p must be in (0, 1]; received {}."
            )
            no_repeat_ngram_size = require_in_range(
                no_repeat_ngram_size, "no_repeat_ngram_size", 0, note="(0 = off)"
            )
            prompt_ids, steps = prompt_ids_graph(
                text_graph, prompt, max_new_tokens, context_length, position_limit
            )
            steps = tf.maximum(steps, 1)
            token_ids, _ = sample(
                model,
                prompt_ids,
                start_id=start_id,
                end_id=end_id,
                max_length=steps,
                temperature=temperature,
                top_k=top_k,
                top_p=top_p,
                seed=seed,
                no_repeat_ngram_size=no_repeat_ngram_size,
            )
            token_ids = tf.cast(token_ids, tf.int32)[:, : tf.maximum(max_new_tokens, 0)]
            return {"text": text_graph.detokenize(token_ids), "token_ids": token_ids}

        def score(text):
            dense = score_ids_graph(text_graph, text, position_limit)
            log_likelihood, num_tokens = sequence_log_likelihood(model, dense)
            return {"log_likelihood": log_likelihood, "num_tokens": num_tokens}

        def logits(token_ids):
            return {"logits": model(token_ids, training=False)}

        # A few ids: a model with learned positions reads no more than it has.
        warmup_ids = text_graph.tokenize(tf.constant([WARMUP_PROMPT]))[0][:7].numpy().tolist()
        return [
            Endpoint(
                "generate",
                generate,
                [
                    tf.TensorSpec([None], tf.string, name="prompt"),
                    tf.TensorSpec([], tf.int32, name="max_new_tokens"),
                    tf.TensorSpec([], tf.float32, name="temperature"),
                    tf.TensorSpec([], tf.int32, name="top_k"),
                    tf.TensorSpec([], tf.float32, name="top_p"),
                    tf.TensorSpec([], tf.int32, name="seed"),
                    tf.TensorSpec([], tf.int32, name="no_repeat_ngram_size"),
                ],
                f"prompt string (B,), max_new_tokens int32 in [0, {max_new_tokens_limit}], "
                "temperature float32 finite, >= 0 (0 = greedy), top_k int32 (<= 0: off), "
                "top_p float32 in (0, 1], seed int32, no_repeat_ngram_size int32 >= 0 "
                "(0 = off); outside these ranges: INVALID_ARGUMENT naming the input -> "
                "text string (B,) (the continuation), token_ids int32 (B, N)"
                + (
                    f"; N = max_new_tokens, cut to {position_limit - 1} (the model's "
                    f"{position_limit} positions)"
                    if position_limit is not None
                    else "; N = max_new_tokens"
                ),
                defaults=defaults,
                example={"prompt": [WARMUP_PROMPT], **defaults},
            ),
            Endpoint(
                "score",
                score,
                [tf.TensorSpec([None], tf.string, name="text")],
                "text string (B,) -> log_likelihood float32 (B,) (natural log, summed over "
                "tokens), num_tokens int32 (B,)",
                example={"text": [WARMUP_PROMPT]},
            ),
            Endpoint(
                "logits",
                logits,
                [tf.TensorSpec([None, None], tf.int32, name="token_ids")],
                "token_ids int32 (B, T), 0 = padding -> logits float32 (B, T, V)",
                example={"token_ids": [[start_id, *warmup_ids]]},
            ),
        ]


GENERATE = register_task(GenerateTask())
