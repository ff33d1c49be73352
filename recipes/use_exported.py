"""Translate with an exported model, using TensorFlow alone (no zoo, no keras-nlp).

    python recipes/use_exported.py saved_models/translate_en_fr "the ball is red" ...

Loads the latest version under the folder (or the version folder given), prints each
sentence's translation and score. This file is also the example of serving a zoo export.
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
    parser.add_argument("sentences", nargs="+", help="English sentences")
    parser.add_argument("--beam-width", type=int, default=4)
    parser.add_argument("--max-length", type=int, default=32)
    arguments = parser.parse_args(argv)
    version = latest_version(arguments.model)
    card = json.loads((version / "assets" / "zoo.json").read_text())
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


if __name__ == "__main__":
    main()
