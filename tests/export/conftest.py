"""One tiny, untrained export per task, made once per test session and loaded once.

Exporting traces every signature (a beam search takes tens of seconds on 2 CPU cores) and
the first call of a loaded signature optimises its graph, so tests of the exported
signatures share these. Each export has small request limits (`LIMITS`), so that a test can
ask for every size a signature accepts, and one past it, in a fraction of a second.
"""

import dataclasses

import keras
import pytest

LIMITS = {
    "translate": dict(beam_width_limit=4, max_length_limit=12),
    "generate": dict(max_new_tokens_limit=12),
}
CLASS_NAMES = ("negative", "positive")
FILL_MASK_MAX_LENGTH = 16
CLASSIFY_MAX_LENGTH = 16
TRANSLATE_MAX_SOURCE_LENGTH = 32
GENERATE_CONTEXT = 16


@dataclasses.dataclass
class TinyExport:
    """An export, its model and tokenizer, and its signatures loaded by TensorFlow."""

    task: str
    model: object
    tokenizer: object
    path: object
    loaded: object  # kept: the signatures need its resources (variables, tokenizer)
    signatures: object


def _export(tmp_path_factory, task):
    import zoo
    from zoo.data import ByteTokenizer, SubwordTokenizer, generate_en_fr_pairs

    keras.utils.set_random_seed(7)
    family, data = "transformer", {"name": "test", "licence": "none"}
    directory = tmp_path_factory.mktemp("exports") / task
    if task == "translate":
        pairs = generate_en_fr_pairs(300, seed=0)
        tokenizer = SubwordTokenizer.train([s for pair in pairs for s in pair], 300)
        model = zoo.build(family, preset="tiny", vocab_size=tokenizer.vocabulary_size)
        options = dict(max_source_length=TRANSLATE_MAX_SOURCE_LENGTH, **LIMITS["translate"])
    elif task == "generate":
        tokenizer = ByteTokenizer()
        model = zoo.build(family, task="lm", preset="tiny", vocab_size=tokenizer.vocabulary_size)
        options = dict(context_length=GENERATE_CONTEXT, **LIMITS["generate"])
    elif task == "fill_mask":
        from zoo.data.books import generated_paragraphs
        from zoo.tasks.fill_mask import train_tokenizer

        texts = list(generated_paragraphs(200, seed=0)[0].paragraphs)
        tokenizer = train_tokenizer(texts, 300)
        model = zoo.build(family, task="mlm", preset="tiny", vocab_size=tokenizer.vocabulary_size)
        options = dict(max_length=FILL_MASK_MAX_LENGTH)
    elif task == "classify":
        from zoo.data import generated_sentiment

        tokenizer = SubwordTokenizer.train(generated_sentiment(300).texts, 300)
        model = zoo.build(
            family,
            task="classify",
            preset="tiny",
            vocab_size=tokenizer.vocabulary_size,
            num_classes=len(CLASS_NAMES),
        )
        options = dict(class_names=CLASS_NAMES, max_length=CLASSIFY_MAX_LENGTH)
    else:
        raise ValueError(task)
    return (
        model,
        tokenizer,
        zoo.export_model(model, tokenizer, directory, family=family, data=data, **options),
    )


TASKS = ("translate", "generate", "fill_mask", "classify")


class TinyExports:
    """`exports[task]` -> `TinyExport`, exported and loaded on first use.

    Exporting seeds Keras, and `keras.utils.set_random_seed` clears TensorFlow's kernel
    caches: a loaded beam search then optimises its graph again on its next call (20 s
    here). A module that calls the translation signatures makes every export first
    (`make_all`)."""

    def __init__(self, tmp_path_factory):
        self.tmp_path_factory = tmp_path_factory
        self.made = {}

    def __getitem__(self, task):
        if task not in self.made:
            import tensorflow as tf

            model, tokenizer, path = _export(self.tmp_path_factory, task)
            loaded = tf.saved_model.load(str(path))
            self.made[task] = TinyExport(task, model, tokenizer, path, loaded, loaded.signatures)
        return self.made[task]

    def make_all(self):
        for task in TASKS:
            self[task]
        return self


@pytest.fixture(scope="session")
def tiny_exports(tmp_path_factory):
    """`{task: TinyExport}` for translate, generate, fill_mask and classify, made lazily."""
    if keras.config.backend() != "tensorflow":
        pytest.skip("SavedModel export needs the TensorFlow backend")
    return TinyExports(tmp_path_factory)
