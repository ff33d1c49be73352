"""Text classification, the `classify` product: labelled text in, a class name out.

Everything a classification recipe needs beyond flags: the tokenizer rule, the bucketed
`tf.data` pipeline (`zoo.data.make_classification_dataset`: `[start] + ids`, cut to
`max_length`), compile defaults, a classifier from a pre-trained `mlm` encoder, in-process
prediction on text, the held-out score with its confusion matrix, and the SavedModel
signature `classify(text) -> {"label", "label_id", "probabilities"}`.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
import numpy as np
import tensorflow as tf

import zoo
from zoo.data import (
    SubwordTokenizer,
    classification_ids,
    make_classification_dataset,
    pad_batch,
)
from zoo.data.tokenizers import fillable_vocabulary_size
from zoo.export.archive import Endpoint
from zoo.special_ids import PAD_ID, START_ID
from zoo.tasks.base import Task, register_task
from zoo.tasks.preprocessor import Preprocessor, text_list
from zoo.training.optimizers import make_optimizer


def train_tokenizer(texts: Sequence[str], vocab_size: int, seed: int = 0) -> SubwordTokenizer:
    """A SentencePiece vocabulary of the training texts, capped at what they can fill (their
    distinct words plus 300 for bytes and specials)."""
    texts = list(texts)
    return SubwordTokenizer.train(texts, fillable_vocabulary_size(texts, vocab_size), seed=seed)


def make_datasets(splits: dict, tokenizer, *, batch_size: int, max_length: int, seed: int = 0):
    """`{name: LabelledTexts}` -> `{name: dataset}`; only "train" shuffles."""
    return {
        name: make_classification_dataset(
            data.texts,
            data.labels,
            tokenizer,
            batch_size=batch_size,
            max_length=max_length,
            shuffle=name == "train",
            seed=seed,
        )
        for name, data in splits.items()
    }


def from_pretrained_encoder(encoder, num_classes: int):
    """A `classify` model built on `encoder`'s backbone: the same layer objects, so it
    starts from the pre-trained weights with nothing copied; only the head is new.

    Args:
        encoder: a zoo `mlm` model (what `recipes/fill_mask.py` trains), a `classify`
            model, of any family, or an encoder `Backbone` itself (what replaced-token
            detection leaves: `zoo.models.replaced_token`).
        num_classes: classes of the new head (initialised at random).
    """
    from zoo.models.backbone import Backbone

    backbone = encoder if isinstance(encoder, Backbone) else encoder.backbone
    return zoo.build(backbone.family, task="classify", backbone=backbone, num_classes=num_classes)


def classify_ids(model, token_ids, batch_size: int = 256) -> np.ndarray:
    """Class probabilities `(N, C)` for `[start] + ids` rows (lists), in their order."""
    order = np.argsort([len(row) for row in token_ids], kind="stable")
    probabilities = np.zeros((len(token_ids), model.config.num_classes), "float32")
    for start in range(0, len(order), batch_size):
        chosen = order[start : start + batch_size]
        batch = pad_batch([token_ids[i] for i in chosen])
        logits = model(batch, training=False)
        probabilities[chosen] = keras.ops.convert_to_numpy(keras.ops.softmax(logits, axis=-1))
    return probabilities


def classify_texts(model, tokenizer, texts: Sequence[str], *, max_length: int = 64) -> np.ndarray:
    """Class probabilities `(N, C)` for `texts`, read as the export reads them."""
    return classify_ids(model, classification_ids(texts, tokenizer, max_length))


def confusion_matrix(labels, predictions, num_classes: int) -> np.ndarray:
    """`matrix[true, predicted]` counts."""
    matrix = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(matrix, (np.asarray(labels), np.asarray(predictions)), 1)
    return matrix


def format_confusion_matrix(matrix, class_names) -> str:
    """The matrix as a table: a row per true class, a column per predicted class.

    >>> print(format_confusion_matrix([[3, 1], [0, 2]], ["no", "yes"]))
            no  yes
       no    3    1
      yes    0    2
    """
    width = max(len(name) for name in class_names) + 2
    lines = [" " * width + "".join(f"{name:>{width}}" for name in class_names)]
    for name, row in zip(class_names, matrix):
        lines.append(f"{name:>{width}}" + "".join(f"{int(count):>{width}}" for count in row))
    return "\n".join(lines)


def evaluate(model, tokenizer, data, *, max_length: int = 64) -> dict:
    """Accuracy, the confusion matrix (rows: true class, columns: predicted) and per-class
    precision/recall/F1 of `model` on `data` (`zoo.data.LabelledTexts`)."""
    probabilities = classify_texts(model, tokenizer, data.texts, max_length=max_length)
    predictions = probabilities.argmax(axis=-1)
    matrix = confusion_matrix(data.labels, predictions, len(data.class_names))
    per_class = {}
    for index, name in enumerate(data.class_names):
        true_positive = matrix[index, index]
        precision = true_positive / max(matrix[:, index].sum(), 1)
        recall = true_positive / max(matrix[index, :].sum(), 1)
        f1 = 2 * precision * recall / max(precision + recall, 1e-12)
        per_class[name] = {
            "precision": round(float(precision), 4),
            "recall": round(float(recall), 4),
            "f1": round(float(f1), 4),
        }
    return {
        "accuracy": round(float((predictions == data.labels).mean()), 4),
        "examples": len(data.texts),
        "confusion_matrix": matrix.tolist(),
        "per_class": per_class,
        "predictions": predictions,
        "probabilities": probabilities,
    }


# The warm-up request's text (`zoo.export.warmup`).
def classification_ids_graph(text_graph, text, max_length: int = 64):
    """`zoo.data.classification_ids` in TensorFlow ops, for the export: `text` string `(B,)`
    -> int32 `(B, T)`, `[start] + tokens` cut to `max_length` (tested equal)."""
    tokens = text_graph.tokenize(text)  # (B, None) ragged
    starts = tf.fill([tf.shape(text)[0], 1], START_ID)
    ids = tf.concat([tf.RaggedTensor.from_tensor(starts), tokens], axis=1)
    return ids[:, :max_length].to_tensor(default_value=PAD_ID)


WARMUP_TEXT = "A quiet film, but I liked it more than I expected."


class ClassifyPreprocessor(Preprocessor):
    """Text -> `token_ids` for a `classify` model, and `classify()`.

    Options (the export's): `class_names` (one per class, in label order; default
    "0", "1", ...) and `max_length` (64 tokens, `[start]` included).
    """

    task = "classify"
    text_methods = ("classify",)
    option_names = ("class_names", "max_length")

    @property
    def max_length(self) -> int:
        return self.options.get("max_length", 64)

    def class_names(self, num_classes: int) -> list[str]:
        return list(self.options.get("class_names") or [str(i) for i in range(num_classes)])

    def inputs(self, texts: Sequence[str]) -> np.ndarray:
        return pad_batch(classification_ids(text_list(texts), self.tokenizer, self.max_length))

    def graph_inputs(self, text_graph, text):
        return classification_ids_graph(text_graph, text, self.max_length)

    def classify(self, model, texts):
        """Each text's `{"label", "label_id", "probabilities"}` (probabilities in label order)."""
        texts = text_list(texts)
        names = self.class_names(model.config.num_classes)
        probabilities = classify_texts(model, self.tokenizer, texts, max_length=self.max_length)
        return _answers(names, probabilities)

    @staticmethod
    def classify_exported(signatures, card, texts):
        texts = text_list(texts)
        outputs = signatures["classify"](text=tf.constant(texts, tf.string))
        names = [name for name in card.get("decoding", {}).get("class_names", [])]
        probabilities = outputs["probabilities"].numpy()
        if len(names) != probabilities.shape[-1]:
            names = [str(i) for i in range(probabilities.shape[-1])]
        return _answers(names, probabilities)


class ClassifyTask(Task):
    name = "classify"
    model_task = "classify"
    preprocessor_class = ClassifyPreprocessor

    def compile(
        self,
        model,
        *,
        learning_rate: float = 5e-4,
        warmup_steps: int = 200,
        weight_decay: float = 0.01,
        clipnorm: float | None = 1.0,
        jit_compile=False,
        optimizer: str = "adamw",
    ):
        """AdamW (or `optimizer="muon"`: `zoo.training.optimizers.muon`), linear warm-up to
        `learning_rate` then constant; cross-entropy on class logits; accuracy. Weight decay
        skips biases and layer-norm scales."""
        optimizer = make_optimizer(
            optimizer,
            learning_rate,
            warmup_steps=warmup_steps,
            decay="constant",
            weight_decay=weight_decay,
            clipnorm=clipnorm,
        )
        model.compile(
            optimizer=optimizer,
            loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
            metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")],
            jit_compile=jit_compile,
        )
        return model

    def decoding_card(self, *, class_names=(), max_length=64, **options):
        return {
            "class_names": list(class_names),
            "max_length": max_length,
            "input": f"[start] + the text's tokens, cut to {max_length} ids (longer texts are "
            "truncated: only their beginning is read); an empty text is [start] alone",
        }

    def endpoints(self, model, text_graph, *, class_names=(), max_length=64, **options):
        """`classify(text)`, also `serving_default` (it has no settings to fix)."""
        class_names = list(class_names)
        if len(class_names) != model.config.num_classes:
            raise ValueError(
                f"The model predicts {model.config.num_classes} classes but "
                f"{len(class_names)} class names were given: {class_names}; pass "
                "class_names=(one name per class, in label order)."
            )
        names = tf.constant(class_names)

        def classify(text):
            ids = classification_ids_graph(text_graph, text, max_length)
            logits = model(ids, training=False)
            probabilities = tf.cast(tf.nn.softmax(logits, axis=-1), tf.float32)
            label_id = tf.argmax(probabilities, axis=-1, output_type=tf.int32)
            return {
                "label": tf.gather(names, label_id),
                "label_id": label_id,
                "probabilities": probabilities,
            }

        return [
            Endpoint(
                "classify",
                classify,
                [tf.TensorSpec([None], tf.string, name="text")],
                "text (B,) string -> label (B,) string, label_id (B,) int32, probabilities "
                f"(B, {len(class_names)}) float32 over {class_names}",
                example={"text": [WARMUP_TEXT]},
            )
        ]


def _answers(names, probabilities) -> list[dict]:
    answers = []
    for row in np.asarray(probabilities, dtype="float32"):
        label_id = int(np.argmax(row))
        answers.append(
            {
                "label": names[label_id],
                "label_id": label_id,
                "probabilities": [float(p) for p in row],
            }
        )
    return answers


CLASSIFY = register_task(ClassifyTask())
