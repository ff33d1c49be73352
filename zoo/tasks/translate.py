"""Translation, the `seq2seq` product: sentence pairs in, text out, BLEU, a `translate` export.

Everything a translation recipe needs beyond flags: the tokenizer rule, the bucketed
`tf.data` pipelines, the paper's compile settings, in-process translation of text with beam
search, the held-out score and the SavedModel signatures (`translate`, `logits`, and
`serving_default`: text alone, decoded with the export's defaults).
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import keras
import numpy as np

from zoo.data import SubwordTokenizer, default_bucket_boundaries, pad_batch
from zoo.data.tokenizers import fillable_vocabulary_size
from zoo.decoding import beam_search
from zoo.decoding.beam_search import BEAM_WIDTH, LENGTH_PENALTY
from zoo.decoding.compiled import compiled_decoder
from zoo.export.archive import Endpoint
from zoo.models.base import within_positions
from zoo.special_ids import PAD_ID
from zoo.tasks.base import Task, register_task
from zoo.tasks.preprocessor import Preprocessor, text_list
from zoo.training import compile_seq2seq, translation_scores


def train_tokenizer(pairs, vocab_size: int, seed: int = 0) -> SubwordTokenizer:
    """One SentencePiece vocabulary shared by source and target, as in the paper.

    A vocabulary larger than the corpus can fill is an error in SentencePiece, so the size
    is capped at the corpus's distinct words plus 300 (bytes and specials)."""
    sentences = [sentence for pair in pairs for sentence in pair]
    vocab_size = fillable_vocabulary_size(sentences, vocab_size)
    return SubwordTokenizer.train(sentences, vocab_size, seed=seed)


FINAL_PUNCTUATION = ".!?…;:"


def informal(sentence: str) -> str:
    """A source sentence as users type it: lower case, without final punctuation."""
    return sentence.lower().rstrip().rstrip(FINAL_PUNCTUATION).rstrip()


def with_informal_sources(pairs, share: float, seed: int = 0):
    """The pairs with the sources of a random `share` of them made `informal` (the targets
    unchanged): a model trained on edited text also learns the inputs people type."""
    if not 0.0 <= share <= 1.0:
        raise ValueError(f"`share` must be in [0, 1], received {share!r}.")
    if share == 0.0:
        return list(pairs)
    chosen = np.random.default_rng(seed).random(len(pairs)) < share
    return [
        (informal(source) or source, target) if pick else (source, target)
        for (source, target), pick in zip(pairs, chosen)
    ]


def make_datasets(splits: dict, tokenizer, *, tokens_per_batch: int, max_length: int, seed=0):
    """`{name: pairs}` -> `{name: batches}`, token-bucketed; only "train" shuffles.

    On TensorFlow, `tf.data` datasets (`zoo.data.make_translation_dataset`); on other
    backends the same batches as numpy (`zoo.data.numpy_batches.TranslationBatches`), which
    need no TensorFlow, with each bucket's last, smaller training batch dropped: under
    `jax.jit` every new shape compiles the step again."""
    tensorflow = keras.config.backend() == "tensorflow"
    if tensorflow:
        from zoo.data import make_translation_dataset as batches
    else:
        from zoo.data.numpy_batches import TranslationBatches as batches
    return {
        name: batches(
            pairs,
            tokenizer,
            batch_size=None,
            tokens_per_batch=tokens_per_batch,
            max_length=max_length,
            shuffle=name == "train",
            seed=seed,
            drop_remainder=name == "train" and not tensorflow,
        )
        for name, pairs in splits.items()
    }


def one_reference_each(pairs, limit: int, seed: int = 0):
    """`limit` distinct source sentences drawn at random (by seed), each with its first
    translation as the one reference. Random, not the first ones: Tatoeba's file is sorted
    by length, and its first sentences are the easiest."""
    references = {}
    for source, target in pairs:
        references.setdefault(source, target)
    items = list(references.items())
    chosen = np.random.default_rng(seed).permutation(len(items))[:limit]
    return [items[i][0] for i in chosen], [items[i][1] for i in chosen]


def translate_texts(model, tokenizer, texts: Sequence[str], *, batch_size=64, **decoding):
    """Translate `texts` with a seq2seq model and its (shared) `SubwordTokenizer`.

    `decoding`: `translate_batch`'s settings (`beam_width=4`, `length_penalty=0.6`,
    `max_length=64`, `max_source_length=128`, `no_repeat_ngram_size=0`). Sentences are sorted
    by length and decoded in batches of `batch_size` (`translate_batch`, as the export does),
    then returned in the input order; an empty (or blank) text gets an empty translation
    (`translate_batch`). Off TensorFlow, sources are padded to the bucket widths (`jax.jit`
    compiles each new shape).
    """
    settings = {"bucket_widths": keras.config.backend() != "tensorflow", **decoding}
    texts = list(texts)
    order = np.argsort([len(row) for row in tokenizer.encode(texts)], kind="stable")
    outputs: list[str] = [""] * len(texts)
    for start in range(0, len(order), batch_size):
        chosen = order[start : start + batch_size]
        batch = translate_batch(model, tokenizer, [texts[i] for i in chosen], **settings)
        for index, text in zip(chosen, batch["translation"]):
            outputs[index] = text
    return outputs


def source_ids(tokenizer, texts: Sequence[str], max_source_length: int = 128) -> np.ndarray:
    """The `translate` signature's input in process: each text stripped, tokenized, cut to
    `max_source_length` ids and right-padded (at least one column); an empty text becomes
    the end id alone, so that attention has a key."""
    rows = [ids or [tokenizer.end_id] for ids in tokenizer.encode([t.strip() for t in texts])]
    return pad_batch(rows, max_source_length)


def translate_source_graph(text_graph, text, max_source_length: int = 128):
    """`source_ids` in TensorFlow ops, for the export: `text` string `(B,)` -> int32 `(B, S)`
    with the same ids (tested equal on the same texts)."""
    import tensorflow as tf

    text = tf.strings.strip(text)
    source = text_graph.tokenize(text)[:, :max_source_length].to_tensor(PAD_ID)  # (B, S)
    # At least one column, so that a batch of empty strings is still a (B, 1) input.
    width = tf.maximum(tf.shape(source)[1], 1)
    source = tf.pad(source, [[0, 0], [0, width - tf.shape(source)[1]]])
    # An empty input has no real token; give it the end id so attention has a key.
    empty = tf.equal(tf.reduce_sum(tf.cast(source != PAD_ID, tf.int32), axis=1), 0)
    first = tf.equal(tf.range(width)[None, :], 0)
    return tf.where(empty[:, None] & first, text_graph.card["end_id"], source)


# `translate_batch`'s defaults, and so what `serving_default` sends by default (export
# options `beam_width`, `max_length`).
MAX_LENGTH = 64


def translate_batch(
    model,
    tokenizer,
    texts: Sequence[str],
    *,
    beam_width: int = BEAM_WIDTH,
    length_penalty: float = LENGTH_PENALTY,
    max_length: int = MAX_LENGTH,
    max_source_length: int = 128,
    no_repeat_ngram_size: int = 0,
    bucket_widths: bool = False,
) -> dict:
    """What the exported `translate` signature answers, computed in process on any backend:
    `{"translation": [str], "token_ids": int32 (B, L), "score": float32 (B,)}` for one batch
    (an export made from this model must give the same).

    `bucket_widths=True` pads the sources to the next bucket width (8, 12, 16, 24, ...), so
    that a compiled decoder sees few shapes. Padding changes nothing in exact arithmetic, but
    in bfloat16 it can: a model whose beams nearly tie may then take another path (seen on a
    80-second demo model), so the answer that an export is checked against is unpadded."""
    decode = compiled_decoder(
        model,
        beam_width=beam_width,
        start_id=tokenizer.start_id,
        end_id=tokenizer.end_id,
        max_length=max_length,
        length_penalty=length_penalty,
        no_repeat_ngram_size=no_repeat_ngram_size,
    )
    source = source_ids(tokenizer, texts, max_source_length)
    if bucket_widths:
        source = _to_boundary(source, max_source_length)
    tokens, scores = decode(source)
    tokens = np.asarray(tokens).astype("int32")
    scores = np.asarray(scores).astype("float32")
    # An empty text translates to an empty text (score 0), as in the export.
    empty = np.array([not ids for ids in tokenizer.encode([t.strip() for t in texts])], bool)
    tokens[empty], scores[empty] = PAD_ID, 0.0
    translations = tokenizer.decode(
        [[t for t in row if t not in (PAD_ID, tokenizer.end_id)] for row in tokens]
    )
    return {
        "translation": translations,
        "token_ids": tokens,
        "score": scores,
    }


def _to_boundary(source: np.ndarray, max_source_length: int) -> np.ndarray:
    """`source` with padding columns up to the next length bucket (8, 12, 16, 24, ...):
    padding changes no output, and a compiled decoder then sees a handful of widths (under
    `jax.jit` each new shape compiles the whole search again)."""
    width = source.shape[1]
    target = next(b for b in default_bucket_boundaries(max(width, max_source_length)) if b >= width)
    return np.pad(source, [(0, 0), (0, target - width)], constant_values=PAD_ID)


def evaluate(model, tokenizer, sources, references, **decoding) -> dict:
    """Translate `sources` (after one warm-up batch that traces the decoder) and score them
    against one reference each: sacreBLEU's BLEU and chrF, and sentences per second."""
    translate_texts(model, tokenizer, list(sources[:4]), **decoding)
    start = time.perf_counter()
    hypotheses = translate_texts(model, tokenizer, sources, **decoding)
    seconds = time.perf_counter() - start
    scores = translation_scores(hypotheses, references)
    scores["in_process_sentences_per_second"] = round(len(sources) / seconds, 1)
    return {**scores, "hypotheses": hypotheses}


def evaluate_as_typed(model, tokenizer, sources, references, **decoding) -> dict:
    """`evaluate` on `sources` as written, and again on their `informal` copies (lower case,
    no final punctuation: as people type) against the same references; the second result
    is under `"informal"`, and `"informal_gap"` is BLEU as written minus BLEU as typed."""
    result = evaluate(model, tokenizer, sources, references, **decoding)
    typed = [informal(source) or source for source in sources]
    result["informal"] = evaluate(model, tokenizer, typed, references, **decoding)
    result["informal_gap"] = round(result["bleu"] - result["informal"]["bleu"], 2)
    return result


# The largest settings an exported `translate` accepts by default (export options
# `beam_width_limit`, `max_length_limit`): a search's work and memory grow with
# batch x beam_width x max_length, and a request must not be able to take a server down.
BEAM_WIDTH_LIMIT = 16
MAX_LENGTH_LIMIT = 512
# The warm-up request's text (`zoo.export.warmup`): a sentence of ten words, as users send.
WARMUP_TEXT = "I think we should leave before it starts to rain."


class TranslatePreprocessor(Preprocessor):
    """Source text -> `encoder_token_ids` for a `seq2seq` model, and `translate()`.

    Options (the export's, `zoo.export_model(..., **options)`): `max_source_length` (128),
    `length_penalty` (0.6), `no_repeat_ngram_size` (0), and the defaults of a request,
    `beam_width` (4) and `max_length` (64); `beam_width_limit` and `max_length_limit` bound
    what the export accepts.
    """

    task = "translate"
    text_methods = ("translate",)
    option_names = (
        "max_source_length",
        "length_penalty",
        "no_repeat_ngram_size",
        "beam_width",
        "max_length",
        "beam_width_limit",
        "max_length_limit",
    )

    @property
    def max_source_length(self) -> int:
        return self.options.get("max_source_length", 128)

    def inputs(self, texts: Sequence[str]) -> np.ndarray:
        """int32 `(B, S)` encoder ids, as the export computes them (`graph_inputs`)."""
        return source_ids(self.tokenizer, texts, self.max_source_length)

    def graph_inputs(self, text_graph, text):
        return translate_source_graph(text_graph, text, self.max_source_length)

    def defaults(self, model) -> dict:
        """`beam_width` and `max_length` as the export's `serving_default` sends them: the
        options', else 4 and 64 cut to the limits (and to learned positions)."""
        from zoo.export.input_checks import check_default

        beam_limit = self.options.get("beam_width_limit", BEAM_WIDTH_LIMIT)
        length_limit = self.options.get("max_length_limit", MAX_LENGTH_LIMIT)
        length_limit = within_positions(model, length_limit)
        return {
            "beam_width": check_default(
                "beam_width", self.options.get("beam_width"), BEAM_WIDTH, 1, beam_limit
            ),
            "max_length": check_default(
                "max_length", self.options.get("max_length"), MAX_LENGTH, 1, length_limit
            ),
        }

    def translate(self, model, texts, *, beam_width=None, max_length=None, batch_size=64):
        """Beam search with the options' length penalty, blocked repeats and source length;
        `beam_width`, `max_length`: None takes the options' (else 4 and 64)."""
        texts = text_list(texts)
        options = self.options
        if beam_width is None or max_length is None:
            defaults = self.defaults(model)
            beam_width = defaults["beam_width"] if beam_width is None else beam_width
            max_length = defaults["max_length"] if max_length is None else max_length
        return translate_texts(
            model,
            self.tokenizer,
            texts,
            batch_size=batch_size,
            beam_width=beam_width,
            max_length=max_length,
            length_penalty=options.get("length_penalty", LENGTH_PENALTY),
            max_source_length=self.max_source_length,
            no_repeat_ngram_size=options.get("no_repeat_ngram_size", 0),
        )

    @staticmethod
    def translate_exported(signatures, card, texts, *, beam_width=None, max_length=None):
        """The same answer from an export's `translate` signature."""
        import tensorflow as tf

        texts = text_list(texts)
        defaults = card.get("serving_default", {}).get("defaults", {})
        beam_width = defaults.get("beam_width", BEAM_WIDTH) if beam_width is None else beam_width
        max_length = defaults.get("max_length", MAX_LENGTH) if max_length is None else max_length
        outputs = signatures["translate"](
            text=tf.constant(texts, tf.string),
            beam_width=tf.constant(beam_width, tf.int32),
            max_length=tf.constant(max_length, tf.int32),
        )
        return [text.decode("utf-8") for text in outputs["translation"].numpy()]


class TranslateTask(Task):
    """`seq2seq` models: text in one language, text out in another."""

    name = "translate"
    model_task = "seq2seq"
    preprocessor_class = TranslatePreprocessor

    def compile(self, model, **options):
        return compile_seq2seq(model, **options)

    def decoding_card(
        self,
        *,
        max_source_length=128,
        length_penalty=LENGTH_PENALTY,
        no_repeat_ngram_size=0,
        beam_width_limit=BEAM_WIDTH_LIMIT,
        max_length_limit=MAX_LENGTH_LIMIT,
        **options,
    ):
        return {
            "algorithm": "beam search",
            "length_penalty": length_penalty,
            "max_source_length": max_source_length,
            "no_repeat_ngram_size": no_repeat_ngram_size,
            # What a request may ask for; outside, it is refused (INVALID_ARGUMENT).
            "beam_width_range": [1, beam_width_limit],
            "max_length_range": [1, max_length_limit],
        }

    def export(self, model, tokenizer, directory, *, max_length_limit=MAX_LENGTH_LIMIT, **options):
        # The model card records the limit a request meets: a model with learned positions
        # cannot decode past them.
        max_length_limit = within_positions(model, max_length_limit)
        return super().export(
            model, tokenizer, directory, max_length_limit=max_length_limit, **options
        )

    def endpoints(
        self,
        model,
        text_graph,
        *,
        max_source_length=128,
        length_penalty=LENGTH_PENALTY,
        no_repeat_ngram_size=0,
        beam_width_limit=BEAM_WIDTH_LIMIT,
        max_length_limit=MAX_LENGTH_LIMIT,
        beam_width=None,
        max_length=None,
    ):
        """`translate(text, beam_width, max_length)` (repeats blocked as the export was told,
        `no_repeat_ngram_size`), `translate_with_options(..., no_repeat_ngram_size)` and
        `logits`; `serving_default(text)` is `translate` with the export's `beam_width`
        (default 4) and `max_length` (default 64, or the limit where it is lower), which the
        model card records (`serving_default.defaults`): a client need not know them.

        A request's `beam_width` must be in `[1, beam_width_limit]` and its `max_length` in
        `[1, max_length_limit]` (and within a model's learned positions), else it is refused
        with a message naming the input and the range: the work and memory of a search grow
        with both, and an untrained or unlucky model may never emit the end token."""
        import tensorflow as tf

        from zoo.export.input_checks import (
            LIMIT_NOTE,
            check_default,
            check_limit,
            require_in_range,
        )

        start_id, end_id = text_graph.card["start_id"], text_graph.card["end_id"]
        check_limit("beam_width_limit", beam_width_limit)
        check_limit("max_length_limit", max_length_limit)
        max_length_limit = within_positions(model, max_length_limit)
        defaults = {
            "beam_width": check_default("beam_width", beam_width, BEAM_WIDTH, 1, beam_width_limit),
            "max_length": check_default("max_length", max_length, MAX_LENGTH, 1, max_length_limit),
        }

        def translate_with_options(text, beam_width, max_length, no_repeat_ngram_size):
            beam_width = require_in_range(
                beam_width, "beam_width", 1, beam_width_limit, note=LIMIT_NOTE
            )
            max_length = require_in_range(
                max_length, "max_length", 1, max_length_limit, note=LIMIT_NOTE
            )
            if tf.is_tensor(no_repeat_ngram_size):  # a request's; else the export's own
                no_repeat_ngram_size = require_in_range(
                    no_repeat_ngram_size, "no_repeat_ngram_size", 0, note="(0 = off)"
                )
            source = translate_source_graph(text_graph, text, max_source_length)  # (B, S)
            empty = tf.equal(tf.strings.length(tf.strings.strip(text)), 0)  # (B,): no token
            token_ids, scores = beam_search(
                model,
                source,
                start_id=start_id,
                end_id=end_id,
                max_length=max_length,
                beam_width=beam_width,
                length_penalty=length_penalty,
                no_repeat_ngram_size=no_repeat_ngram_size,
            )
            # An empty text translates to an empty text, not to what the model invents.
            token_ids = tf.where(empty[:, None], PAD_ID, tf.cast(token_ids, tf.int32))
            scores = tf.where(empty, tf.zeros_like(scores), scores)
            words = tf.where(empty, "", text_graph.detokenize(token_ids))
            return {"translation": words, "token_ids": token_ids, "score": scores}

        def translate(text, beam_width, max_length):
            # The export's setting as a Python int: 0 adds no work to the search.
            return translate_with_options(text, beam_width, max_length, no_repeat_ngram_size)

        def logits(encoder_token_ids, decoder_token_ids):
            inputs = {
                "encoder_token_ids": encoder_token_ids,
                "decoder_token_ids": decoder_token_ids,
            }
            return {"logits": model(inputs, training=False)}

        text_inputs = [
            tf.TensorSpec([None], tf.string, name="text"),
            tf.TensorSpec([], tf.int32, name="beam_width"),
            tf.TensorSpec([], tf.int32, name="max_length"),
        ]
        # A few ids: a model with learned positions reads no more than it has.
        warmup_ids = text_graph.tokenize(tf.constant([WARMUP_TEXT]))[0][:8].numpy().tolist()
        example = {"text": [WARMUP_TEXT], **defaults}
        return [
            Endpoint(
                "translate",
                translate,
                text_inputs,
                f"text string (B,), beam_width int32 in [1, {beam_width_limit}], max_length "
                f"int32 in [1, {max_length_limit}] (outside: INVALID_ARGUMENT naming the input) "
                "-> translation string (B,), token_ids int32 (B, L = max_length), score "
                f"float32 (B,); a text is read as its first {max_source_length} tokens",
                defaults=defaults,
                example=example,
            ),
            Endpoint(
                "translate_with_options",
                translate_with_options,
                [*text_inputs, tf.TensorSpec([], tf.int32, name="no_repeat_ngram_size")],
                "as translate, and no_repeat_ngram_size int32 >= 0: no n-gram of this size "
                "twice in a translation (0 = off)",
                example={**example, "no_repeat_ngram_size": 0},
            ),
            Endpoint(
                "logits",
                logits,
                [
                    tf.TensorSpec([None, None], tf.int32, name="encoder_token_ids"),
                    tf.TensorSpec([None, None], tf.int32, name="decoder_token_ids"),
                ],
                "encoder_token_ids, decoder_token_ids int32 -> logits float32 (B, T, V)",
                example={
                    "encoder_token_ids": [warmup_ids],
                    "decoder_token_ids": [[start_id, *warmup_ids[:3]]],
                },
            ),
        ]


TRANSLATE = register_task(TranslateTask())
