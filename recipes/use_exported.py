"""Use an exported model with TensorFlow alone (no zoo, no keras-nlp): text in, text out.

    python recipes/use_exported.py saved_models/translate_en_fr "the ball is red" ...
    python recipes/use_exported.py saved_models/translate_en_fr --file sentences.txt --repeat 5
    python recipes/use_exported.py saved_models/char_lm "ROMEO:" --temperature 0.8 --seed 1

Loads the latest version under the folder (or the version folder given) and reads its model
card: a translator prints each sentence's translation and score, a language model each
prompt's continuation. This file is also the example of serving a zoo export.
"""

import argparse
import json
import sys
import time
from pathlib import Path

import tensorflow as tf
import tensorflow_text  # noqa: F401  (registers the SentencePiece ops the graph uses)


def latest_version(path: Path) -> Path:
    if (path / "saved_model.pb").exists():
        return path
    versions = sorted((int(p.name), p) for p in path.iterdir() if p.name.isdigit())
    if not versions:
        raise SystemExit(f"No exported version under {path}; run `make demo` first.")
    return versions[-1][1]


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
    card = json.loads((version / "assets" / "zoo.json").read_text())
    if card["task"] == "lm":
        return generate(version, card, arguments)
    if not arguments.sentences:
        parser.error("give English sentences, or --file with one per line")
    start = time.perf_counter()
    translate = tf.saved_model.load(str(version)).signatures["translate"]
    out = translate(
        text=tf.constant(arguments.sentences),
        beam_width=tf.constant(arguments.beam_width),
        max_length=tf.constant(arguments.max_length),
    )
    print(
        f"{version} ({card['family']}, trained on {card['data'].get('name')}), loaded and "
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


def generate(version: Path, card: dict, arguments) -> None:
    start = time.perf_counter()
    signature = tf.saved_model.load(str(version)).signatures["generate"]
    prompts = arguments.sentences or [""]
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
        f"{version} ({card['family']} language model, trained on {card['data'].get('name')}), "
        f"loaded and run in {time.perf_counter() - start:.1f} s by TensorFlow alone:"
    )
    for prompt, text in zip(prompts, out["text"].numpy()):
        print(f"--- {prompt!r}\n{prompt}{text.decode('utf-8')}")


if __name__ == "__main__":
    main()
