"""Fill in the blank, the `mlm` product: text with a `[MASK]` in, the likeliest tokens out.

- Tokenizer: `train_tokenizer(texts, vocab_size)`, a SentencePiece vocabulary with `[MASK]`
  at id 4 (`zoo.special_ids.MASK_ID`).
- Training data: `make_dataset(texts, tokenizer, ...)`. Each example is `[start]` and up to
  `sequence_length - 1` tokens of one paragraph (a longer paragraph makes several examples,
  so no text is lost). keras-nlp's `MaskedLMMaskGenerator` then selects 15 % of the tokens
  of each row (at least one; never padding, start or end) and replaces 80 % of those by
  `[MASK]`, 10 % by a random token and keeps 10 % (BERT's recipe). A batch is
  `({"token_ids", "mask_positions"}, mask_ids, mask_weights)`: the model computes logits at
  the selected positions only (`zoo.models.masked_positions`), and the labels are the
  original ids there, 0 in the padding slots of rows with fewer selections (weight 0). With
  `masked_only=False`, the full-sequence form: `(token_ids, labels)`, labels holding the
  original id at the selected positions and 0 elsewhere, for logits at every position. Both
  forms give the same loss and accuracy for the same weights and masks (tested).
- `FILL_MASK.compile`: AdamW with warm-up and cosine decay (the `generate` product's
  schedule), `MaskedSparseCategoricalCrossentropy` (which skips label 0) and top-1 / top-5
  accuracy on the selected positions; either form of batch.
- In process: `fill_mask_texts(model, tokenizer, texts, top_k)`; `evaluate(model, dataset)`.
- Export: `fill_mask(text, top_k)` and `logits(token_ids)` signatures; `serving_default(text)`
  is `fill_mask` with the export's `top_k` (5 unless told).

A `[MASK]` stands for one whole piece with its word-start mark, as in training (`▁cat`):
the lone `▁` that SentencePiece writes before a `[MASK]` typed after a space (or at the
start) is dropped, in process and in the export alike.

The blank: a text's FIRST `[MASK]` is the one predicted; any later `[MASK]` stays in the
input as a masked token (context the model reads as unknown). The model reads `[start]` +
the text's tokens, cut to `max_length` tokens. In process, a text with no `[MASK]` (or with
its first one cut off) is a `ValueError`; the export answers such a row with empty tokens,
ids -1 and probabilities 0.

Every row starts with `[start]` (BERT's `[CLS]`): a classifier fine-tuned from this model
reads `[start]` + tokens too.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence

import keras
import keras_nlp
import numpy as np
import tensorflow as tf
from keras import ops

from zoo.data import SubwordTokenizer, default_bucket_boundaries, ids_to_ragged, pad_batch
from zoo.data.buckets import bucket_batch_count
from zoo.export.archive import Endpoint
from zoo.export.input_checks import check_default, require
from zoo.models.masked_positions import MASK_POSITIONS
from zoo.special_ids import END_ID, MASK_ID, MASK_TOKEN, PAD_ID, START_ID, UNK_ID
from zoo.tasks.base import Task, register_task
from zoo.tasks.preprocessor import Preprocessor, text_list
from zoo.training import MaskedSparseCategoricalCrossentropy, MaskedTopKAccuracy
from zoo.training.optimizers import make_optimizer

MASK_SELECTION_RATE = 0.15  # BERT: 15 % of the tokens, of which
MASK_TOKEN_RATE = 0.8  # 80 % become [MASK],
RANDOM_TOKEN_RATE = 0.1  # 10 % a random token, and 10 % stay as they are.
UNSELECTABLE_IDS = (PAD_ID, START_ID, END_ID)
DEFAULT_MAX_LENGTH = 128


def train_tokenizer(texts: Sequence[str], vocab_size: int, seed: int = 0) -> SubwordTokenizer:
    """A SentencePiece vocabulary of at most `vocab_size` ids with `[MASK]` at id 4 (a
    small corpus supports fewer: read `vocabulary_size` after)."""
    return SubwordTokenizer.train(texts, vocab_size, seed=seed, mask_token=True)


def _require_mask_token(tokenizer) -> None:
    if getattr(tokenizer, "mask_id", None) != MASK_ID:
        raise ValueError(
            f"This tokenizer has no {MASK_TOKEN} token at id {MASK_ID}; train it with "
            "`zoo.tasks.fill_mask.train_tokenizer` (`SubwordTokenizer.train(..., "
            "mask_token=True)`)."
        )


# --- Masked examples --------------------------------------------------------------------


def example_rows(texts: Sequence[str], tokenizer, sequence_length: int) -> list[list[int]]:
    """`[start]` + up to `sequence_length - 1` tokens per row; a longer text is cut into
    consecutive chunks, each a row of its own. Texts with no tokens give no row."""
    if sequence_length < 2:
        raise ValueError(
            f"`sequence_length` must be >= 2 ([start] and one token); received {sequence_length}."
        )
    step = sequence_length - 1
    return [
        [START_ID, *ids[begin : begin + step]]
        for ids in tokenizer.encode(list(texts))
        for begin in range(0, len(ids), step)
    ]


def mask_generator(vocabulary_size: int) -> keras_nlp.layers.MaskedLMMaskGenerator:
    """keras-nlp's BERT masking with zoo's special ids."""
    return keras_nlp.layers.MaskedLMMaskGenerator(
        vocabulary_size=vocabulary_size,
        mask_selection_rate=MASK_SELECTION_RATE,
        mask_token_id=MASK_ID,
        unselectable_token_ids=list(UNSELECTABLE_IDS),
        mask_token_rate=MASK_TOKEN_RATE,
        random_token_rate=RANDOM_TOKEN_RATE,
    )


def mask_batch(masker, token_ids: tf.RaggedTensor):
    """Ragged rows `(B, None)` -> `(masked token ids (B, T), labels (B, T))`, 0-padded;
    labels are the original ids at the selected positions, 0 elsewhere (the full-sequence
    form of `mask_rows`)."""
    masked = mask_rows(masker, token_ids)
    return masked["token_ids"], masked["labels"]


def mask_rows(masker, token_ids: tf.RaggedTensor) -> dict:
    """Ragged rows `(B, None)` masked by `masker` (`mask_generator`), as
    `{"token_ids" (B, T) int32, "labels" (B, T) int32}`, 0-padded — labels are the original
    ids at the selected positions, 0 elsewhere — and the generator's own ragged `(B, None)`
    `"mask_positions"` (int32 columns within each row), `"mask_ids"` (int32, the original
    ids there) and `"mask_weights"` (float32 ones). Runs as graph ops (eagerly, keras-nlp
    would take its pure-Python path, which draws differently)."""
    if tf.executing_eagerly():
        return tf.function(lambda rows: mask_rows(masker, rows))(token_ids)
    masked = masker(token_ids)
    inputs = masked["token_ids"].to_tensor(PAD_ID)  # (B, T)
    positions = masked["mask_positions"]  # ragged (B, None): columns within each row
    indices = tf.stack(
        [tf.cast(positions.value_rowids(), tf.int64), tf.cast(positions.flat_values, tf.int64)],
        axis=1,
    )
    labels = tf.scatter_nd(
        indices,
        tf.cast(masked["mask_ids"].flat_values, tf.int32),
        tf.shape(inputs, out_type=tf.int64),
    )
    # The random substitution draws from the whole vocabulary, padding included; padding
    # inside a row would hide that position from attention, so it becomes [MASK] instead.
    inputs = tf.where((inputs == PAD_ID) & (labels != PAD_ID), MASK_ID, inputs)
    return {
        "token_ids": tf.cast(inputs, tf.int32),
        "labels": labels,
        "mask_positions": tf.cast(positions, tf.int32),
        "mask_ids": tf.cast(masked["mask_ids"], tf.int32),
        "mask_weights": tf.cast(masked["mask_weights"], tf.float32),
    }


def training_batch(masked: dict, masked_only: bool = True):
    """A batch of `mask_rows` (its ragged entries batched) in the form `fit()` reads:
    `({"token_ids" (B, T), "mask_positions" (B, M)}, mask_ids (B, M), mask_weights (B, M))`,
    `M` the batch's most selections in a row, the slots past a row's own 0 (weight 0); or,
    with `masked_only=False`, `(token_ids (B, T), labels (B, T))`."""
    token_ids, labels = (_dense(masked[key]) for key in ("token_ids", "labels"))
    if not masked_only:
        return token_ids, labels
    inputs = {"token_ids": token_ids, MASK_POSITIONS: _dense(masked["mask_positions"])}
    return inputs, _dense(masked["mask_ids"]), _dense(masked["mask_weights"])


def _dense(tensor):
    return tensor.to_tensor(0) if isinstance(tensor, tf.RaggedTensor) else tensor


def _masked_once(rows: tf.RaggedTensor, vocabulary_size: int, seed: int) -> dict:
    """Every row masked once, in one traced call with TensorFlow's global seed set to
    `seed`; returns `mask_rows`'s entries, each ragged `(N, None)`.

    Identical batches for every evaluation that uses them. Another call (another run) may
    select a few positions differently even with the same seed: tensorflow-text draws each
    row's selection in a parallel loop, in whatever order the rows' iterations run."""
    tf.random.set_seed(seed)
    masked = mask_rows(mask_generator(vocabulary_size), rows)
    lengths = rows.row_lengths()
    for key in ("token_ids", "labels"):
        masked[key] = tf.RaggedTensor.from_tensor(masked[key], lengths=lengths)
    return masked


def make_dataset(
    texts: Sequence[str],
    tokenizer,
    *,
    sequence_length: int = DEFAULT_MAX_LENGTH,
    batch_size: int = 32,
    seed: int = 0,
    shuffle: bool = True,
    repeat: bool = False,
    masked_only: bool = True,
) -> tf.data.Dataset:
    """Batches of `({"token_ids" (B, T), "mask_positions" (B, M)}, mask_ids (B, M),
    mask_weights (B, M))` (`training_batch`), where `T <= sequence_length` is the batch's
    longest row and `M` its most selected tokens in a row: an `mlm` model given these inputs
    computes logits at the selected positions only. With `masked_only=False`:
    `(masked token ids (B, T), labels (B, T))`, for logits at every position. int32 ids and
    positions, float32 weights, padded with 0.

    With `shuffle=True` (training) the rows are shuffled by `seed` and masked afresh in
    every epoch, inside the pipeline. With `shuffle=False` (validation) the rows are masked
    once, here (with TensorFlow's global seed set to `seed`), and kept as constants: every
    evaluation with this dataset sees the same masks in the same batches — also every
    model given the same dataset object. (Two datasets made with the same seed share the
    rows and the statistics, but tensorflow-text's parallel selection may pick a few
    positions differently.)

    Args:
        texts: paragraphs (`zoo.data.books`); empty ones are skipped.
        tokenizer: a `SubwordTokenizer` with `[MASK]` (`train_tokenizer`).
        repeat: repeat the training rows forever (for `fit(steps_per_epoch=...)`).
        masked_only: the masked-positions form (True, what training reads) or the
            full-sequence one; the same rows and masks either way.
    """
    _require_mask_token(tokenizer)
    if batch_size < 1:
        raise ValueError(f"`batch_size` must be >= 1; received {batch_size}.")
    rows = example_rows(texts, tokenizer, sequence_length)
    if not rows:
        raise ValueError("No text to make examples of: every text is empty.")
    if not shuffle:  # similar lengths together: little padding in each batch
        rows = sorted(rows, key=len)
    rows = ids_to_ragged(rows)
    if not shuffle:
        masked = _masked_once(rows, tokenizer.vocabulary_size, seed)
        dataset = tf.data.Dataset.from_tensor_slices(masked).ragged_batch(batch_size)
        dataset = dataset.map(lambda batch: training_batch(batch, masked_only))
        return dataset.prefetch(tf.data.AUTOTUNE)
    masker = mask_generator(tokenizer.vocabulary_size)
    dataset = tf.data.Dataset.from_tensor_slices(rows)
    dataset = dataset.shuffle(int(rows.nrows()), seed=seed, reshuffle_each_iteration=True)
    if repeat:
        dataset = dataset.repeat()
    dataset = _batched_by_length(dataset, batch_size, sequence_length)
    if not repeat:  # an epoch of known length (see zoo.data.buckets.bucket_batch_count)
        boundaries = default_bucket_boundaries(sequence_length)
        sizes = [max(1, batch_size * sequence_length // boundary) for boundary in boundaries]
        batches = bucket_batch_count(rows.row_lengths().numpy(), boundaries, sizes)
        dataset = dataset.apply(tf.data.experimental.assert_cardinality(batches))
    dataset = dataset.map(
        lambda batch: training_batch(mask_rows(masker, batch), masked_only),
        num_parallel_calls=tf.data.AUTOTUNE,
    )
    return dataset.prefetch(tf.data.AUTOTUNE)


def _batched_by_length(rows: tf.data.Dataset, batch_size: int, sequence_length: int):
    """Ragged batches of rows of similar length, `batch_size * sequence_length` tokens each
    at most: a short sentence never pads to a long paragraph's length, and a batch of short
    rows holds more of them (`default_bucket_boundaries` of `sequence_length`)."""
    boundaries = default_bucket_boundaries(sequence_length)
    tokens = batch_size * sequence_length
    sizes = tf.constant([max(1, tokens // boundary) for boundary in boundaries], tf.int64)
    upper = tf.constant(boundaries[:-1], tf.int32)

    def bucket(row):
        return tf.reduce_sum(tf.cast(tf.shape(row)[0] > upper, tf.int64))

    return rows.group_by_window(
        key_func=bucket,
        reduce_func=lambda key, window: window.ragged_batch(tf.gather(sizes, key)),
        window_size_func=lambda key: tf.gather(sizes, key),
    )


# --- Scores ------------------------------------------------------------------------------


def evaluate(model, dataset) -> dict:
    """`{"loss", "top1_accuracy", "top5_accuracy", "masked_tokens"}` over a dataset of
    `make_dataset`, in either form (the same figures for the same masks), the loss in nats
    per masked token, whatever the model was compiled with. On TensorFlow one `tf.function`
    step; on other backends the batches are read as numpy and the model called eagerly."""
    top1, top5 = MaskedTopKAccuracy(1), MaskedTopKAccuracy(5)
    cross_entropy = MaskedSparseCategoricalCrossentropy(label_smoothing=0.0)

    def step(inputs, labels, weights=None):
        logits = model(inputs, training=False)  # (B, M, V), or (B, T, V) for full labels
        top1.update_state(labels, logits, weights)
        top5.update_state(labels, logits, weights)
        counted = ops.cast(ops.not_equal(labels, PAD_ID), "float32")
        if weights is not None:
            counted = counted * ops.cast(weights, "float32")
        count = ops.sum(counted)
        return cross_entropy(labels, logits, weights) * count, count

    if keras.config.backend() == "tensorflow":
        step, batches = tf.function(step, reduce_retracing=True), dataset
    else:
        batches = dataset.as_numpy_iterator()
    total_loss, total_count = 0.0, 0.0
    for batch in batches:
        loss, count = step(*batch)
        total_loss, total_count = total_loss + float(loss), total_count + float(count)
    return {
        "loss": round(total_loss / max(total_count, 1.0), 4),
        "top1_accuracy": round(float(top1.result()), 4),
        "top5_accuracy": round(float(top5.result()), 4),
        "masked_tokens": int(total_count),
    }


# --- Predicting the blank ---------------------------------------------------------------


def first_mask_top_k(model, token_ids, top_k):
    """At each row's first `[MASK]`: `(ids (B, K), probabilities (B, K), has_mask (B,))`,
    the `K = clip(top_k, 1, V)` likeliest tokens by the softmax over the vocabulary's
    pieces — special ids (padding, unknown, start, end, `[MASK]`) never fill a blank. Rows
    without `[MASK]` get ids -1 and probabilities 0. `keras.ops` (any backend; in the
    export's graph, TensorFlow ops); `top_k` may be a tensor on TensorFlow, an int elsewhere."""
    token_ids = ops.cast(ops.convert_to_tensor(token_ids), "int32")
    is_mask = ops.equal(token_ids, MASK_ID)  # (B, T)
    has_mask = ops.any(is_mask, axis=1)  # (B,)
    length = ops.shape(token_ids)[1]
    columns = ops.arange(length, dtype="int32")[None, :]
    position = ops.min(ops.where(is_mask, columns, length), axis=1)
    position = ops.where(has_mask, position, 0)  # (B,)
    logits = ops.cast(model(token_ids, training=False), "float32")  # (B, T, V)
    logits = ops.take_along_axis(logits, position[:, None, None], axis=1)[:, 0]  # (B, V)
    vocabulary = ops.shape(logits)[-1]
    special = ops.arange(vocabulary) <= max(PAD_ID, UNK_ID, START_ID, END_ID, MASK_ID)
    logits = ops.where(special[None, :], -1e9, logits)
    probabilities = ops.softmax(logits, axis=-1)  # (B, V)
    if keras.config.backend() == "tensorflow":
        k = tf.clip_by_value(tf.cast(top_k, tf.int32), 1, tf.shape(probabilities)[-1])
    else:  # a static size
        k = min(max(int(top_k), 1), int(vocabulary))
    top_probabilities, top_ids = ops.top_k(probabilities, k)  # (B, K)
    top_ids = ops.where(has_mask[:, None], top_ids, -1)
    top_probabilities = ops.where(has_mask[:, None], top_probabilities, 0.0)
    return top_ids, top_probabilities, has_mask


WORD_START = "\u2581"  # SentencePiece's word-start mark, alone a piece of its own


def word_start_id(tokenizer) -> int:
    """The id of the lone word-start piece, or -1 when the vocabulary has none."""
    vocabulary = tokenizer.get_vocabulary()
    return vocabulary.index(WORD_START) if WORD_START in vocabulary else -1


def drop_word_start_before_mask(ids: Sequence[int], space_id: int) -> list[int]:
    """Typed text puts a lone word-start piece before `[MASK]` ("a [MASK]" is `▁a ▁ [MASK]`,
    and a text that begins with `[MASK]` is `▁ [MASK]`), but training masked whole pieces,
    word-start included (`▁a ▁cat` -> `▁a [MASK]`); so that piece goes."""
    return [
        token
        for index, token in enumerate(ids)
        if not (token == space_id and index + 1 < len(ids) and ids[index + 1] == MASK_ID)
    ]


def encode_for_fill(tokenizer, texts: Sequence[str], max_length: int) -> np.ndarray:
    """`[start]` + tokens per text (no lone word-start before a `[MASK]`), cut to
    `max_length`, right-padded: int32 `(B, T)`."""
    space_id = word_start_id(tokenizer)
    rows = [
        [START_ID, *drop_word_start_before_mask(ids, space_id)][:max_length]
        for ids in tokenizer.encode(list(texts))
    ]
    return pad_batch(rows)


def fill_ids_graph(text_graph, text, max_length: int = DEFAULT_MAX_LENGTH):
    """`encode_for_fill` in TensorFlow ops, for the export: `text` string `(B,)` -> int32
    `(B, T)` (tested equal on the same texts)."""
    with tf.init_scope():  # a constant of the vocabulary, also when called while tracing
        space_id = int(text_graph.sentencepiece.string_to_id(WORD_START))
    space_id = -1 if space_id == UNK_ID else space_id
    ids = text_graph.tokenize(text)  # ragged (B, None)
    # As `drop_word_start_before_mask`: no lone word-start piece before a [MASK].
    dense = ids.to_tensor(-1)  # (B, W), -1 past each row's end
    following = tf.concat([dense[:, 1:], tf.fill([tf.shape(dense)[0], 1], -1)], axis=1)
    keep = (dense != -1) & ~((dense == space_id) & (following == MASK_ID))
    ids = tf.ragged.boolean_mask(dense, keep)
    start = tf.fill([ids.nrows(), 1], tf.constant(START_ID, tf.int32))
    ids = tf.concat([tf.RaggedTensor.from_tensor(start), ids], axis=1)[:, :max_length]
    return ids.to_tensor(PAD_ID)


# `fill_mask_texts`'s default, and so what `serving_default` answers by default.
TOP_K = 5


def fills_table(texts, candidates) -> dict:
    """`{text: its candidates}`, probabilities rounded to 4 places (for results files)."""
    return {
        text: [{**c, "probability": round(c["probability"], 4)} for c in row]
        for text, row in zip(texts, candidates)
    }


def format_fills(fills: dict) -> str:
    """Each text, then its candidates with their probabilities, one text per two lines."""
    lines = []
    for text, candidates in fills.items():
        best = ", ".join(f"{c['token']!r} {c['probability']:.3f}" for c in candidates)
        lines += [f"  {text}", f"    -> {best}"]
    return "\n".join(lines)


def fill_mask_texts(
    model,
    tokenizer,
    texts: Sequence[str],
    *,
    top_k: int = TOP_K,
    max_length: int = DEFAULT_MAX_LENGTH,
) -> list[list[dict]]:
    """For each text, the `top_k` likeliest fillers of its first `[MASK]`, best first:
    `[{"token": str, "id": int, "probability": float}, ...]`.

    Several `[MASK]`s: the first is predicted, the others stay masked in the input. A text
    with no `[MASK]` within its first `max_length` tokens (`[start]` included) is a
    `ValueError`. `token` is the id decoded alone (a word piece, without SentencePiece's
    word-start mark). The exported `fill_mask` signature returns the same ids and
    probabilities.

    Example:

    ```python
    fill_mask_texts(model, tokenizer, ["The glass of water is [MASK] on the table."])
    # [[{"token": "sitting", "id": 812, "probability": 0.31}, ...]]
    ```
    """
    _require_mask_token(tokenizer)
    if isinstance(top_k, bool) or not isinstance(top_k, numbers.Integral) or top_k < 1:
        raise ValueError(f"`top_k` must be an int >= 1; received {top_k!r}.")
    if isinstance(texts, str):
        raise TypeError("Pass a list of texts, e.g. `[text]`, not one string.")
    if not texts:
        return []
    token_ids = encode_for_fill(tokenizer, texts, max_length)
    missing = [i for i, row in enumerate(token_ids) if MASK_ID not in row]
    if missing:
        raise ValueError(
            f"Text {missing[0]} ({texts[missing[0]][:60]!r}) has no {MASK_TOKEN} within its "
            f"first {max_length} tokens; put {MASK_TOKEN} where the word to fill in goes "
            "(or raise `max_length`)."
        )
    ids, probabilities, _ = first_mask_top_k(model, token_ids, top_k)
    ids, probabilities = np.asarray(ids), np.asarray(probabilities)
    tokens = tokenizer.decode(ids.reshape(-1, 1))
    return [
        [
            {"token": tokens[row * ids.shape[1] + j], "id": int(i), "probability": float(p)}
            for j, (i, p) in enumerate(zip(ids[row], probabilities[row]))
        ]
        for row in range(len(texts))
    ]


# --- The task ---------------------------------------------------------------------------

# The warm-up request's text (`zoo.export.warmup`).
WARMUP_TEXT = f"The cat sat on the {MASK_TOKEN} by the door."


class FillMaskPreprocessor(Preprocessor):
    """Text with `[MASK]` -> `token_ids` for an `mlm` model, and `fill_mask()`.

    Options (the export's): `max_length` (128 tokens, `[start]` included) and `top_k`, the
    number of fillers a request gets by default (5).
    """

    task = "fill_mask"
    text_methods = ("fill_mask",)
    option_names = ("max_length", "top_k")

    @property
    def max_length(self) -> int:
        return self.options.get("max_length", DEFAULT_MAX_LENGTH)

    def inputs(self, texts: Sequence[str]) -> np.ndarray:
        return encode_for_fill(self.tokenizer, text_list(texts), self.max_length)

    def graph_inputs(self, text_graph, text):
        return fill_ids_graph(text_graph, text, self.max_length)

    def fill_mask(self, model, texts, *, top_k=None):
        """For each text, the likeliest fillers of its first `[MASK]`, best first:
        `[{"token", "id", "probability"}, ...]` (`fill_mask_texts`)."""
        top_k = self.options.get("top_k", TOP_K) if top_k is None else top_k
        return fill_mask_texts(
            model, self.tokenizer, text_list(texts), top_k=top_k, max_length=self.max_length
        )

    @staticmethod
    def fill_mask_exported(signatures, card, texts, *, top_k=None):
        texts = text_list(texts)
        defaults = card.get("serving_default", {}).get("defaults", {})
        top_k = defaults.get("top_k", TOP_K) if top_k is None else top_k
        outputs = signatures["fill_mask"](
            text=tf.constant(texts, tf.string), top_k=tf.constant(top_k, tf.int32)
        )
        tokens = outputs["tokens"].numpy()
        ids = outputs["token_ids"].numpy()
        probabilities = outputs["probabilities"].numpy()
        missing = [i for i in range(len(texts)) if (ids[i] < 0).all()]
        if missing:
            raise ValueError(
                f"Text {missing[0]} ({texts[missing[0]][:60]!r}) has no {MASK_TOKEN} the model "
                f"reads; put {MASK_TOKEN} where the word to fill in goes."
            )
        return [
            [
                {"token": t.decode("utf-8"), "id": int(i), "probability": float(p)}
                for t, i, p in zip(tokens[row], ids[row], probabilities[row])
            ]
            for row in range(len(texts))
        ]


def pretraining_optimizer(
    *,
    learning_rate: float = 5e-4,
    min_learning_rate: float = 5e-5,
    warmup_steps: int = 200,
    decay_steps: int = 10000,
    weight_decay: float = 0.01,
    beta_2: float = 0.999,
    clipnorm: float | None = 1.0,
    optimizer: str = "adamw",
):
    """The masked-token objectives' optimiser (fill-mask, and replaced-token detection's
    `zoo.tasks.replaced_token`): AdamW (BERT's betas and weight decay) or `"muon"`, linear
    warm-up to `learning_rate` over `warmup_steps`, cosine decay to `min_learning_rate` at
    `decay_steps`."""
    return make_optimizer(
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


class FillMaskTask(Task):
    """`mlm` models: a text with a `[MASK]` in, the likeliest tokens for it out."""

    name = "fill_mask"
    model_task = "mlm"
    preprocessor_class = FillMaskPreprocessor

    def compile(self, model, *, jit_compile=False, **options):
        """`pretraining_optimizer(**options)`; cross-entropy over the masked positions; top-1
        and top-5 accuracy there. For either form of `make_dataset`'s batches (labels 0 and
        weights 0 never count)."""
        model.compile(
            optimizer=pretraining_optimizer(**options),
            loss=MaskedSparseCategoricalCrossentropy(label_smoothing=0.0),
            metrics=[MaskedTopKAccuracy(1), MaskedTopKAccuracy(5)],
            jit_compile=jit_compile,
        )
        return model

    def decoding_card(self, *, max_length=DEFAULT_MAX_LENGTH, **options):
        return {
            "input": f"[start] + the text's tokens, cut to max_length = {max_length} tokens",
            "max_length": max_length,
            "blank": f"the first {MASK_TOKEN} of each text; later ones stay masked as context",
            "probabilities": "softmax over the vocabulary's pieces at the blank (special ids "
            "never fill it)",
            "no_mask": (
                f"a text with no {MASK_TOKEN} in its first max_length tokens (an empty text "
                "too): tokens '', token_ids -1, probabilities 0"
            ),
        }

    def endpoints(self, model, text_graph, *, max_length=DEFAULT_MAX_LENGTH, top_k=None):
        """`fill_mask(text, top_k)` and `logits(token_ids)`; `serving_default(text)` is
        `fill_mask` with the export's `top_k` (default 5), which the model card records
        (`serving_default.defaults`)."""
        if MASK_ID >= text_graph.card["vocabulary_size"]:
            raise ValueError(f"The tokenizer is too small to hold {MASK_TOKEN} at id {MASK_ID}.")

        defaults = {"top_k": check_default("top_k", top_k, TOP_K, 1)}

        def fill_mask(text, top_k):
            top_k = require(
                top_k,
                top_k >= 1,
                "top_k must be >= 1 (above the vocabulary size: cut to it); received {}.",
            )
            # An empty batch answers empty outputs without calling the model: Keras's
            # `take_along_axis` (in `first_mask_top_k`) cannot gather from zero rows.
            return tf.cond(
                tf.size(text) > 0, lambda: fill_rows(text, top_k), lambda: no_rows(top_k)
            )

        def fill_rows(text, top_k):
            ids = fill_ids_graph(text_graph, text, max_length)
            top_ids, probabilities, has_mask = first_mask_top_k(model, ids, top_k)
            tokens = text_graph.detokenize(tf.reshape(tf.maximum(top_ids, 0), [-1, 1]))
            tokens = tf.strings.unicode_transcode(
                tokens, "UTF-8", "UTF-8", errors="replace", replacement_char=0xFFFD
            )
            tokens = tf.reshape(tokens, tf.shape(top_ids))
            tokens = tf.where(has_mask[:, None], tokens, "")
            return {"tokens": tokens, "token_ids": top_ids, "probabilities": probabilities}

        def no_rows(top_k):
            shape = [0, tf.minimum(top_k, model.config.vocab_size)]  # K as for other batches
            return {
                "tokens": tf.fill(shape, ""),
                "token_ids": tf.zeros(shape, tf.int32),
                "probabilities": tf.zeros(shape, tf.float32),
            }

        def logits(token_ids):
            return {"logits": model(token_ids, training=False)}

        return [
            Endpoint(
                "fill_mask",
                fill_mask,
                [
                    tf.TensorSpec([None], tf.string, name="text"),
                    tf.TensorSpec([], tf.int32, name="top_k"),
                ],
                f"text string (B,) with {MASK_TOKEN}, top_k int32 >= 1 (above the vocabulary size: "
                f"cut to it; below 1: INVALID_ARGUMENT) -> at each text's first "
                f"{MASK_TOKEN}: tokens string (B, K), token_ids int32 (B, K), probabilities "
                "float32 (B, K), best first (no mask: '', -1, 0)",
                defaults=defaults,
                example={"text": [WARMUP_TEXT], **defaults},
            ),
            Endpoint(
                "logits",
                logits,
                [tf.TensorSpec([None, None], tf.int32, name="token_ids")],
                f"token_ids int32 (B, T) ([start] first, {MASK_TOKEN} = {MASK_ID}, 0 = padding) "
                "-> logits float32 (B, T, V)",
                example={"token_ids": [[START_ID, MASK_ID]]},
            ),
        ]


FILL_MASK = register_task(FillMaskTask())
