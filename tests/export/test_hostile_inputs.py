"""Every exported text signature under hostile input: a defined answer or a clear error.

Texts: empty, whitespace only, 10,000 characters, invalid UTF-8, an empty batch, a batch of
1,000. Settings: every numeric input at, inside and outside its range (`beam_width` 0 and
1,000, `max_length` 0 and 100,000, negative values, NaN and infinite floats). Out of range
is a `tf.errors.InvalidArgumentError` whose message names the input, the range and the value
received. The exports are tiny untrained models with small request limits
(`tests/export/conftest.py`); the defaults are checked without an export.
"""

import math
import re

import keras
import numpy as np
import pytest

if keras.config.backend() != "tensorflow":
    pytest.skip("SavedModel export needs the TensorFlow backend", allow_module_level=True)

import tensorflow as tf  # noqa: E402
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from tests.export.conftest import CLASS_NAMES, GENERATE_CONTEXT, LIMITS  # noqa: E402

BEAM_LIMIT = LIMITS["translate"]["beam_width_limit"]  # 4
LENGTH_LIMIT = LIMITS["translate"]["max_length_limit"]  # 12
NEW_TOKENS_LIMIT = LIMITS["generate"]["max_new_tokens_limit"]  # 12
INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1

LONG = ("the ball is red and " * 500)[:10_000]
TEXTS = {
    "empty string": [""],
    "whitespace only": [" \t\n  \u3000 "],
    "10,000 characters": [LONG],
    "invalid UTF-8": [b"\xff\xfe\xc3(", b"ok \x80\xbf [MASK] \xed\xa0\x80"],
    "empty batch": [],
    "batch of 1,000": ["the small cat [MASK] the ball"] * 1000,
}

# Each text signature: (task, signature, its settings as a request would send them).
SIGNATURES = {
    "translate": ("translate", dict(beam_width=2, max_length=6)),
    "translate_with_options": (
        "translate",
        dict(beam_width=2, max_length=6, no_repeat_ngram_size=0),
    ),
    "generate": (
        "generate",
        dict(
            max_new_tokens=5,
            temperature=1.0,
            top_k=0,
            top_p=1.0,
            seed=0,
            no_repeat_ngram_size=0,
        ),
    ),
    "score": ("generate", {}),
    "fill_mask": ("fill_mask", dict(top_k=3)),
    "classify": ("classify", {}),
}
TEXT_INPUT = {"generate": "prompt"}  # every other signature calls its text input "text"
FLOATS = ("temperature", "top_p")


@pytest.fixture(scope="module")
def exports(tiny_exports):
    """Every task's export, made before any signature here runs (see `TinyExports`)."""
    return tiny_exports.make_all()


@pytest.fixture(autouse=True)
def _seed_and_policy():
    """Replaces `tests/conftest.py`'s: `keras.utils.set_random_seed` clears TensorFlow's
    kernel caches, so every test would optimise the loaded signatures' graphs again (20 s
    for a beam search here). These tests draw no random numbers; the policy is float32."""
    keras.mixed_precision.set_global_policy("float32")
    yield


def request(name, texts, **overrides):
    """The signature's keyword arguments: `texts` and its settings, as tensors."""
    _, defaults = SIGNATURES[name]
    arguments = {TEXT_INPUT.get(name, "text"): tf.constant(texts, tf.string)}
    for key, value in {**defaults, **overrides}.items():
        arguments[key] = tf.constant(value, tf.float32 if key in FLOATS else tf.int32)
    return arguments


def call(exports, name, texts, **overrides):
    task, _ = SIGNATURES[name]
    signature = exports[task].signatures[name]
    return {
        key: value.numpy() for key, value in signature(**request(name, texts, **overrides)).items()
    }


def expected_outputs(exports, name, batch, **overrides):
    """`{output: (dtype, shape)}` as the model card's signature descriptions say."""
    task, defaults = SIGNATURES[name]
    setting = {**defaults, **overrides}
    if name.startswith("translate"):
        length = setting["max_length"]
        return {
            "translation": (object, (batch,)),
            "token_ids": (np.int32, (batch, length)),
            "score": (np.float32, (batch,)),
        }
    if name == "generate":
        return {
            "text": (object, (batch,)),
            "token_ids": (np.int32, (batch, setting["max_new_tokens"])),
        }
    if name == "score":
        return {"log_likelihood": (np.float32, (batch,)), "num_tokens": (np.int32, (batch,))}
    if name == "fill_mask":
        k = min(setting["top_k"], exports[task].model.config.vocab_size)
        return {
            "tokens": (object, (batch, k)),
            "token_ids": (np.int32, (batch, k)),
            "probabilities": (np.float32, (batch, k)),
        }
    return {
        "label": (object, (batch,)),
        "label_id": (np.int32, (batch,)),
        "probabilities": (np.float32, (batch, len(CLASS_NAMES))),
    }


def assert_documented(exports, name, texts, out, **overrides):
    """Shapes and dtypes as documented, and values every answer must have."""
    expected = expected_outputs(exports, name, len(texts), **overrides)
    assert set(out) == set(expected)
    for key, (dtype, shape) in expected.items():
        assert out[key].shape == shape, key
        assert out[key].dtype == dtype, key
    for key in ("translation", "text", "tokens", "label"):
        for value in out.get(key, np.array([])).ravel():
            value.decode("utf-8")  # text answers are valid UTF-8, whatever came in
    if name.startswith("translate"):
        assert np.all(np.isfinite(out["score"]))
        assert np.all(out["token_ids"] >= 0)
    if name == "score":
        # Byte tokens: every byte of a text is one token after [start], none is cut.
        lengths = [len(t.encode("utf-8") if isinstance(t, str) else t) for t in texts]
        assert out["num_tokens"].tolist() == lengths
        assert np.all(out["log_likelihood"] <= 0)
        assert np.all(out["log_likelihood"][np.array(lengths, int) == 0] == 0)
    if name == "fill_mask":
        probabilities = out["probabilities"]
        assert np.all((probabilities >= 0) & (probabilities <= 1))
        assert np.all(np.diff(probabilities, axis=1) <= 1e-7)  # best first
        no_mask = [b"[MASK]" not in (t.encode() if isinstance(t, str) else t) for t in texts]
        assert np.all(out["token_ids"][no_mask] == -1)
        assert np.all(out["tokens"][no_mask] == b"")
    if name == "classify":
        np.testing.assert_allclose(out["probabilities"].sum(axis=-1), 1.0, atol=1e-5)
        assert set(out["label"].tolist()) <= {n.encode() for n in CLASS_NAMES}


# --- Texts ------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("case", list(TEXTS))
@pytest.mark.parametrize("name", list(SIGNATURES))
def test_hostile_texts_get_defined_answers(exports, name, case):
    texts = TEXTS[case]
    greedy = {"temperature": 0.0} if name == "generate" else {}  # rows sample apart
    out = call(exports, name, texts, **greedy)
    assert_documented(exports, name, texts, out, **greedy)
    if case == "batch of 1,000":  # the same text, the same answer, in every row
        for value in out.values():
            assert (value == value[:1]).all()


@pytest.mark.parametrize("name", ["translate", "translate_with_options"])
def test_an_empty_text_translates_to_an_empty_text(exports, name):
    """Not to a sentence the model invents: "" and whitespace give "", no tokens, score 0;
    the other rows of the batch are translated as when alone."""
    texts = ["", "the ball is red", " \t "]
    out = call(exports, name, texts)
    assert out["translation"].tolist() == [b"", out["translation"][1], b""]
    np.testing.assert_array_equal(out["token_ids"][[0, 2]], 0)
    np.testing.assert_array_equal(out["score"][[0, 2]], 0.0)
    alone = call(exports, name, texts[1:2])
    assert out["translation"][1] == alone["translation"][0]
    np.testing.assert_array_equal(out["token_ids"][1], alone["token_ids"][0])


def test_an_empty_text_translates_to_an_empty_text_in_process_too(exports):
    from zoo.tasks.translate import translate_batch

    export = exports["translate"]
    out = translate_batch(export.model, export.tokenizer, ["", "the ball is red", "  "])
    assert out["translation"][0] == out["translation"][2] == ""
    np.testing.assert_array_equal(out["token_ids"][[0, 2]], 0)
    np.testing.assert_array_equal(out["score"][[0, 2]], 0.0)


def test_a_long_text_is_read_as_its_beginning(exports):
    """10,000 characters: translation, fill-mask and classification read the first tokens
    their export allows (`max_source_length`, `max_length`), generation the last
    `context_length` (here, bytes)."""
    head = LONG[:200]
    for name in ("translate", "classify"):
        whole, beginning = (call(exports, name, [text]) for text in (LONG, head))
        for key, value in whole.items():
            if value.dtype == object:
                assert value.tolist() == beginning[key].tolist(), key
            else:
                np.testing.assert_allclose(value, beginning[key], atol=1e-5)
    prompts = [LONG, LONG[-GENERATE_CONTEXT:]]
    out = call(exports, "generate", prompts, temperature=0.0)
    assert out["token_ids"][0].tolist() == out["token_ids"][1].tolist()


# --- Settings ---------------------------------------------------------------------------

# (signature, setting, value, the error message): out of range, refused.
REFUSED = [
    *[
        (name, "beam_width", value, f"beam_width must be between 1 and {BEAM_LIMIT}")
        for name in ("translate", "translate_with_options")
        for value in (0, -1, 1000, INT32_MIN)
    ],
    *[
        (name, "max_length", value, f"max_length must be between 1 and {LENGTH_LIMIT}")
        for name in ("translate", "translate_with_options")
        for value in (0, -5, 100_000, INT32_MAX)
    ],
    (
        "translate_with_options",
        "no_repeat_ngram_size",
        -1,
        "no_repeat_ngram_size must be at least 0",
    ),
    *[
        (
            "generate",
            "max_new_tokens",
            value,
            f"max_new_tokens must be between 0 and {NEW_TOKENS_LIMIT}",
        )
        for value in (-1, 100_000, INT32_MIN)
    ],
    *[
        ("generate", "temperature", value, "temperature must be a finite number >= 0")
        for value in (-0.5, math.nan, math.inf, -math.inf)
    ],
    *[
        ("generate", "top_p", value, r"top_p must be in \(0, 1\]")
        for value in (0.0, -1.0, 1.5, math.nan)
    ],
    ("generate", "no_repeat_ngram_size", -1, "no_repeat_ngram_size must be at least 0"),
    *[("fill_mask", "top_k", value, "top_k must be >= 1") for value in (0, -5, INT32_MIN)],
]


def received(value) -> str:
    """How the graph prints a received value: `0`, `-0.5`, `nan`, `inf`."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return re.escape(str(value).rstrip("0").rstrip(".") if isinstance(value, float) else str(value))


@pytest.mark.parametrize(
    "name, setting, value, message", REFUSED, ids=[f"{n}-{s}={v}" for n, s, v, _ in REFUSED]
)
def test_settings_out_of_range_are_refused_with_their_range(exports, name, setting, value, message):
    with pytest.raises(tf.errors.InvalidArgumentError, match=message) as error:
        call(exports, name, ["the ball [MASK] red"], **{setting: value})
    assert re.search(rf"received {received(value)}\.?", error.value.message), error.value.message


# (signature, setting, value): inside the range, or any value at all, answered.
ANSWERED = [
    *[
        (name, "beam_width", value)
        for name in ("translate", "translate_with_options")
        for value in (1, BEAM_LIMIT)
    ],
    *[
        (name, "max_length", value)
        for name in ("translate", "translate_with_options")
        for value in (1, LENGTH_LIMIT)
    ],
    *[("translate_with_options", "no_repeat_ngram_size", value) for value in (1, INT32_MAX)],
    *[("generate", "max_new_tokens", value) for value in (0, 1, NEW_TOKENS_LIMIT)],
    *[("generate", "temperature", value) for value in (0.0, 1e-30, 3.0e38)],
    *[("generate", "top_k", value) for value in (INT32_MIN, -1, 1, INT32_MAX)],
    *[("generate", "top_p", value) for value in (1e-30, 1.0)],
    *[("generate", "seed", value) for value in (INT32_MIN, INT32_MAX)],
    ("generate", "no_repeat_ngram_size", INT32_MAX),
    *[("fill_mask", "top_k", value) for value in (1, INT32_MAX)],
]


@pytest.mark.parametrize(
    "name, setting, value", ANSWERED, ids=[f"{n}-{s}={v}" for n, s, v in ANSWERED]
)
def test_settings_in_range_are_answered(exports, name, setting, value):
    texts = ["the ball [MASK] red", ""]
    out = call(exports, name, texts, **{setting: value})
    assert_documented(exports, name, texts, out, **{setting: value})


def test_max_new_tokens_zero_generates_nothing(exports):
    out = call(exports, "generate", ["a", ""], max_new_tokens=0)
    assert out["text"].tolist() == [b"", b""]
    assert out["token_ids"].shape == (2, 0)


def test_default_limits_refuse_the_issue_s_requests(exports):
    """At the default limits (no export needed: the check runs before any search, eagerly
    too), `beam_width=1000` and `max_length=100000` are refused, as is
    `max_new_tokens=100000`; the model card records the ranges."""
    from zoo.export.text_graph import graph_text_tokenizer
    from zoo.tasks.generate import GENERATE, MAX_NEW_TOKENS_LIMIT
    from zoo.tasks.translate import BEAM_WIDTH_LIMIT, MAX_LENGTH_LIMIT, TRANSLATE

    assert (BEAM_WIDTH_LIMIT, MAX_LENGTH_LIMIT, MAX_NEW_TOKENS_LIMIT) == (16, 512, 4096)
    translate_export = exports["translate"]
    text_graph = graph_text_tokenizer(translate_export.tokenizer)
    translate = TRANSLATE.endpoints(translate_export.model, text_graph)[0]
    assert "beam_width int32 in [1, 16], max_length int32 in [1, 512]" in translate.description
    text = tf.constant(["a"])
    for beam_width, max_length, message in [
        (1000, 10, "beam_width must be between 1 and 16; received 1000."),
        (4, 100_000, "max_length must be between 1 and 512; received 100000."),
    ]:
        with pytest.raises(tf.errors.InvalidArgumentError, match=re.escape(message)):
            translate.function(text, tf.constant(beam_width), tf.constant(max_length))
    generate_export = exports["generate"]
    text_graph = graph_text_tokenizer(generate_export.tokenizer)
    generate = GENERATE.endpoints(generate_export.model, text_graph)[0]
    with pytest.raises(tf.errors.InvalidArgumentError, match="between 0 and 4096; received 100000"):
        generate.function(text, *[tf.constant(v) for v in (100_000, 1.0, 0, 1.0, 0, 0)])
    assert TRANSLATE.decoding_card()["beam_width_range"] == [1, 16]
    assert TRANSLATE.decoding_card()["max_length_range"] == [1, 512]
    assert GENERATE.decoding_card()["max_new_tokens_range"] == [0, 4096]


def test_learned_positions_cap_max_length(exports):
    """A model with learned positions cannot decode past them: its `max_length` range ends
    there, in the signature and in the model card's ranges."""
    import zoo
    from zoo.export.text_graph import graph_text_tokenizer
    from zoo.tasks.translate import TRANSLATE

    tokenizer = exports["translate"].tokenizer
    model = zoo.build(
        "transformer",
        preset="tiny",
        vocab_size=tokenizer.vocabulary_size,
        position_encoding="learned",
        max_sequence_length=20,
    )
    translate = TRANSLATE.endpoints(model, graph_text_tokenizer(tokenizer))[0]
    assert "max_length int32 in [1, 20]" in translate.description
    with pytest.raises(
        tf.errors.InvalidArgumentError, match=re.escape("between 1 and 20; received 21.")
    ):
        translate.function(tf.constant(["a"]), tf.constant(4), tf.constant(21))


def test_the_model_card_records_the_export_s_ranges(exports):
    import json

    card = json.loads((exports["translate"].path / "assets" / "zoo.json").read_text())
    assert card["decoding"]["beam_width_range"] == [1, BEAM_LIMIT]
    assert card["decoding"]["max_length_range"] == [1, LENGTH_LIMIT]
    assert f"beam_width int32 in [1, {BEAM_LIMIT}]" in card["signatures"]["translate"]
    card = json.loads((exports["generate"].path / "assets" / "zoo.json").read_text())
    assert card["decoding"]["max_new_tokens_range"] == [0, NEW_TOKENS_LIMIT]
    assert f"max_new_tokens int32 in [0, {NEW_TOKENS_LIMIT}]" in card["signatures"]["generate"]


# --- Random texts and sizes ---------------------------------------------------------------

A_TEXT = st.one_of(
    st.text(max_size=60),  # any Unicode, control characters included
    st.binary(max_size=60),  # any bytes, most of them not UTF-8
    st.sampled_from(["", " ", "[MASK]", "the ball [MASK] red", "\u2581[MASK]\u2581"]),
)
A_BATCH = st.lists(A_TEXT, max_size=6)
# Settings from just outside to just inside each range (or any int32, where any is valid).
A_SETTING = {
    "beam_width": st.integers(-1, BEAM_LIMIT + 1),
    "max_length": st.integers(-1, LENGTH_LIMIT + 1),
    "no_repeat_ngram_size": st.integers(-1, 3),
    "max_new_tokens": st.integers(-1, NEW_TOKENS_LIMIT + 1),
    "temperature": st.floats(allow_nan=True, allow_infinity=True, width=32),
    "top_k": st.integers(INT32_MIN, INT32_MAX),
    "top_p": st.floats(-0.5, 1.5, width=32),
    "seed": st.integers(INT32_MIN, INT32_MAX),
}
VALID = {
    "beam_width": lambda v: 1 <= v <= BEAM_LIMIT,
    "max_length": lambda v: 1 <= v <= LENGTH_LIMIT,
    "no_repeat_ngram_size": lambda v: v >= 0,
    "max_new_tokens": lambda v: 0 <= v <= NEW_TOKENS_LIMIT,
    "temperature": lambda v: math.isfinite(v) and v >= 0,
    "top_p": lambda v: 0 < v <= 1,
}


def a_request(name):
    _, defaults = SIGNATURES[name]
    setting = {key: A_SETTING[key] for key in defaults}
    if name == "fill_mask":
        setting["top_k"] = st.integers(-1, 400)
    return st.fixed_dictionaries({"texts": A_BATCH, "settings": st.fixed_dictionaries(setting)})


def is_valid(name, key, value):
    if name == "fill_mask" and key == "top_k":  # generate's top_k takes any int
        return value >= 1
    return VALID.get(key, lambda v: True)(value)


@pytest.mark.slow
@pytest.mark.parametrize("name", list(SIGNATURES))
def test_random_texts_and_settings_answer_as_documented_or_name_the_bad_input(exports, name):
    @settings(
        max_examples=25,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
        database=None,
    )
    @given(a_request(name))
    def check(example):
        texts, setting = example["texts"], example["settings"]
        invalid = [key for key, value in setting.items() if not is_valid(name, key, value)]
        if invalid:
            with pytest.raises(tf.errors.InvalidArgumentError) as error:
                call(exports, name, texts, **setting)
            assert any(error.value.message.find(f"{key} must be") >= 0 for key in invalid)
        else:
            out = call(exports, name, texts, **setting)
            assert_documented(exports, name, texts, out, **setting)

    check()
