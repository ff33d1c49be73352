"""Use an exported model with TensorFlow alone (no zoo, no keras-nlp): text in, text out.

    python recipes/use_exported.py saved_models/translate_en_fr "the ball is red" ...
    python recipes/use_exported.py saved_models/translate_en_fr --file sentences.txt --repeat 5
    python recipes/use_exported.py saved_models/char_lm "ROMEO:" --temperature 0.8 --seed 1

Loads the latest version under the folder (or the version folder given) and reads its model
card: a translator prints each sentence's translation and score, a language model each
prompt's continuation. This file is also the example of serving a zoo export.
"""

import argparse
import contextlib
import json
import os
import re
import sys
import tempfile
import time
from pathlib import Path

# TensorFlow's start-up messages (CUDA drivers not found, CPU instructions, oneDNN) speak to
# its developers, not to someone who asked for a translation. TF_CPP_MIN_LOG_LEVEL=2 keeps
# only TensorFlow's errors; the lines it cannot silence (those written before its logging
# starts, and CUDA's "errors" on a machine without a GPU) are filtered out of stderr while
# TensorFlow starts and loads the model. A user who sets TF_CPP_MIN_LOG_LEVEL, or
# ZOO_DEBUG=1, sees everything.
_DEBUG = os.environ.get("ZOO_DEBUG", "").strip().lower() not in ("", "0", "false", "no")
QUIET_START_UP = not _DEBUG and "TF_CPP_MIN_LOG_LEVEL" not in os.environ
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
START_UP_NOISE = re.compile(
    r"All log messages before absl::InitializeLog\(\) is called"
    r"|cudart_stub\.cc|Could not find cuda drivers|failed call to cuInit"
    r"|Unable to register cu(DNN|FFT|BLAS) factory|computation placer already registered"
    r"|TF-TRT Warning|cpu_feature_guard\.cc|^To enable the following instructions"
    r"|oneDNN custom operations are on|precompiled_charsmap is empty"
    r"|oneDNN supports DT_[A-Z0-9]+ only on platforms with AVX-512"
)


@contextlib.contextmanager
def quiet_start_up(enabled: bool = QUIET_START_UP):
    """Drops TensorFlow's start-up noise (`START_UP_NOISE`) from stderr inside the block.

    The C++ libraries write to file descriptor 2 directly, so the descriptor itself goes to a
    temporary file; when the block ends (or raises), every other line is written back to
    stderr, in order.
    """
    if not enabled:
        yield
        return
    sys.stderr.flush()
    saved_stderr = os.dup(2)
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved_stderr, 2)
            os.close(saved_stderr)
            captured.seek(0)
            lines = captured.read().decode("utf-8", errors="replace").splitlines(keepends=True)
            sys.stderr.write("".join(line for line in lines if not START_UP_NOISE.search(line)))
            sys.stderr.flush()


with quiet_start_up():
    import tensorflow as tf  # noqa: E402
    import tensorflow_text  # noqa: E402, F401  (registers the SentencePiece ops the graph uses)


def latest_version(path: Path) -> Path:
    if (path / "saved_model.pb").exists():
        return path
    if not path.is_dir():
        raise SystemExit(f"No exported model at {path}; run `make demo` first.")
    versions = sorted((int(p.name), p) for p in path.iterdir() if p.name.isdigit())
    if not versions:
        raise SystemExit(f"No exported version under {path}; run `make demo` first.")
    return versions[-1][1]


MODEL_CARD = Path("assets") / "zoo.json"
TASKS = ("seq2seq", "lm", "mlm", "classify", "regress")
SERVED = {"seq2seq": "translate", "lm": "generate"}  # the card's task -> the signature called
# The model card's fields this script reads, and their JSON types.
CARD_FIELDS = {"task": str, "family": str, "tokenizer": dict, "signatures": dict}
JSON_TYPES = {str: "a string", dict: "an object"}
REDO = (
    "copy the whole version folder again from where it was exported, or export the model "
    "again (zoo export RUN_DIR)"
)


def read_model_card(version: Path) -> dict:
    """The model card of an export version, `assets/zoo.json`, checked before the model loads:
    valid JSON, an object with the fields this script reads, a task zoo knows, and the
    tokenizer file it names present beside it. Anything wrong is a `ValueError` that names
    the file and says what to do: a hand-edited or half-copied export fails here, clearly,
    rather than inside TensorFlow or with a bare `KeyError`."""
    path = version / MODEL_CARD
    try:
        card = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValueError(
            f"{path} is missing: every zoo export keeps its model card there, so {version} is "
            f"not a complete zoo export; {REDO}."
        ) from None
    except UnicodeDecodeError as error:
        raise ValueError(f"{path} is not UTF-8 text ({error.reason}); {REDO}.") from None
    except json.JSONDecodeError as error:
        raise ValueError(
            f"{path} is not valid JSON ({error.msg}, line {error.lineno} column {error.colno}): "
            f"the model card was edited or damaged; {REDO}."
        ) from None
    if not isinstance(card, dict):
        raise ValueError(
            f"{path} must hold a JSON object (the model card), not {type(card).__name__}; {REDO}."
        )
    for field, kind in CARD_FIELDS.items():
        if not isinstance(card.get(field), kind):
            problem = "is missing" if field not in card else f"is not {JSON_TYPES[kind]}"
            raise ValueError(f"{path}: the field {field!r} {problem}; {REDO}.")
    if card["task"] not in TASKS:
        raise ValueError(
            f"{path}: task {card['task']!r} is not a zoo task (one of {', '.join(TASKS)}); {REDO}."
        )
    tokenizer_file = card["tokenizer"].get("file")  # None: the tokenizer needs no file
    if tokenizer_file is not None and not isinstance(tokenizer_file, str):
        raise ValueError(f"{path}: the field 'tokenizer.file' is not a string; {REDO}.")
    if tokenizer_file and not (version / tokenizer_file).is_file():
        raise ValueError(
            f"{version / tokenizer_file} is missing: the model card ({path}) names it as the "
            f"tokenizer this model was trained with; {REDO}."
        )
    return card


def load_signature(version: Path, card: dict):
    """`(loaded SavedModel, the signature this script calls for the card's task)`."""
    name = SERVED.get(card["task"])
    if name is None:
        raise ValueError(
            f"{version} is a {card['task']!r} export; this script serves "
            f"{' and '.join(repr(t) for t in SERVED)} exports. Call its signatures "
            f"({', '.join(card['signatures'])}) with "
            "tf.saved_model.load(path).signatures[name]."
        )
    loaded = tf.saved_model.load(str(version))
    if name not in loaded.signatures:
        raise ValueError(
            f"The SavedModel in {version} has no {name!r} signature (it has "
            f"{', '.join(sorted(loaded.signatures))}), but its model card ({version / MODEL_CARD}) "
            f"says task {card['task']!r}: the card does not belong to this model; {REDO}."
        )
    return loaded, loaded.signatures[name]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", type=Path, help="saved_models/<name> or one version folder")
    parser.add_argument("sentences", nargs="*", help="English sentences, or prompts")
    parser.add_argument("--file", type=Path, help="more sentences, one per line")
    parser.add_argument("--beam-width", type=int, default=4)
    parser.add_argument("--max-length", type=int, default=32)
    parser.add_argument(
        "--repeat",
        type=int,
        default=0,
        help="then translate the whole batch this many more times and print sentences/s "
        "(the median)",
    )
    parser.add_argument("--max-new-tokens", type=int, default=200, help="language models")
    parser.add_argument("--temperature", type=float, default=0.8, help="0 = greedy")
    parser.add_argument("--top-k", type=int, default=0, help="<= 0: no top-k filter")
    parser.add_argument("--top-p", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-repeat-ngram-size", type=int, default=0, help="0 = off")
    arguments = parser.parse_args(argv)
    if arguments.file:
        lines = arguments.file.read_text(encoding="utf-8").splitlines()
        arguments.sentences += [line for line in lines if line.strip()]
    version = latest_version(arguments.model)
    card = read_model_card(version)
    if card["task"] == "lm":
        return generate(version, card, arguments)
    if not arguments.sentences:
        parser.error("give English sentences, or --file with one per line")
    start = time.perf_counter()
    with quiet_start_up():
        _loaded, translate = load_signature(version, card)
        out = translate(
            text=tf.constant(arguments.sentences),
            beam_width=tf.constant(arguments.beam_width),
            max_length=tf.constant(arguments.max_length),
        )
    print(
        f"{version} ({card['family']}, trained on {data_name(card)}), loaded and "
        f"run in {time.perf_counter() - start:.1f} s by TensorFlow alone "
        f"(zoo imported: {'zoo' in sys.modules}):"
    )
    for sentence, french, score in zip(
        arguments.sentences, out["translation"].numpy(), out["score"].numpy()
    ):
        print(f"  {sentence}  ->  {french.decode('utf-8')}   (score {score:.3f})")
    if arguments.repeat:
        seconds = []
        for _ in range(arguments.repeat):
            start = time.perf_counter()
            translate(
                text=tf.constant(arguments.sentences),
                beam_width=tf.constant(arguments.beam_width),
                max_length=tf.constant(arguments.max_length),
            )
            seconds.append(time.perf_counter() - start)
        median = sorted(seconds)[len(seconds) // 2]
        print(
            f"{len(arguments.sentences)} sentences per call, beam {arguments.beam_width}, "
            f"max_length {arguments.max_length}: {len(arguments.sentences) / median:.1f} "
            f"sentences/s (median of {arguments.repeat})"
        )


def data_name(card: dict):
    data = card.get("data")
    return data.get("name") if isinstance(data, dict) else None


def generate(version: Path, card: dict, arguments) -> None:
    start = time.perf_counter()
    prompts = arguments.sentences or [""]
    with quiet_start_up():
        _loaded, signature = load_signature(version, card)
        out = signature(
            prompt=tf.constant(prompts),
            max_new_tokens=tf.constant(arguments.max_new_tokens),
            temperature=tf.constant(arguments.temperature),
            top_k=tf.constant(arguments.top_k),
            top_p=tf.constant(arguments.top_p),
            seed=tf.constant(arguments.seed),
            no_repeat_ngram_size=tf.constant(arguments.no_repeat_ngram_size),
        )
    print(
        f"{version} ({card['family']} language model, trained on {data_name(card)}), "
        f"loaded and run in {time.perf_counter() - start:.1f} s by TensorFlow alone:"
    )
    for prompt, text in zip(prompts, out["text"].numpy()):
        print(f"--- {prompt!r}\n{prompt}{text.decode('utf-8')}")


if __name__ == "__main__":
    # As `zoo.runs.run_main` (not imported: this file needs TensorFlow alone): an error
    # is one line and exit status 1; ZOO_DEBUG=1 shows the traceback.
    try:
        main()
    except Exception as error:
        if _DEBUG:
            raise
        print(f"error: {error}\n(for the traceback, set ZOO_DEBUG=1)", file=sys.stderr)
        raise SystemExit(1) from None
