"""One lever for the exported translator's throughput: Keras's int8 quantization.

    python -m benchmarks.translate_int8 --run-dir runs/translate

Loads a translation run's checkpoint twice, quantizes one copy (`model.quantize("int8")`:
int8 kernels for the Dense and EinsumDense layers, float activations), exports both with the
run's export options, and measures the two exports side by side in this process with
TensorFlow: the `translate` signature (beam 4) on the run's held-out English sentences in
batches of 64, the batch sizes of the two exports interleaved, median of `--repeats`
passes; and BLEU/chrF of each export's translations against the references. The held-out
sentences are those the recipe scores (the generated corpus, the recipe's split and seed;
`--data` for Tatoeba's file). The machine's load average is recorded: on a shared machine
only the ratio between the two exports, measured in the same minutes, travels.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path


def held_out(data: str | None, count: int, seed: int = 0):
    from zoo.data import generate_en_fr_pairs, read_sentence_pairs, split_by_source
    from zoo.tasks.translate import one_reference_each

    pairs = read_sentence_pairs(data).pairs if data else generate_en_fr_pairs(10_000, seed=seed)
    test = split_by_source(pairs, validation_fraction=0.02, test_fraction=0.05, seed=seed)[2]
    return one_reference_each(test, count, seed)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--run-dir", type=Path, default=Path("runs/translate"))
    parser.add_argument("--data", help="Tatoeba's fra.txt (default: the generated corpus)")
    parser.add_argument("--sentences", type=int, default=256)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--beam-width", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    import keras
    import tensorflow as tf

    import zoo
    import zoo.models  # noqa: F401  (registers the classes the checkpoint names)
    from zoo.data import SubwordTokenizer
    from zoo.training import translation_scores

    request = json.loads((args.run_dir / "export.json").read_text("utf-8"))
    tokenizer = SubwordTokenizer.load(args.run_dir / request["tokenizer"])
    english, references = held_out(args.data, args.sentences)
    options = request["options"]
    load_before = os.getloadavg()
    exports = {}
    with tempfile.TemporaryDirectory() as folder:
        for name in ("float", "int8"):
            model = keras.saving.load_model(args.run_dir / request["checkpoint"], compile=False)
            if name == "int8":
                model.quantize("int8")
            path = zoo.export_model(
                model, tokenizer, Path(folder) / name, family=request["family"], **options
            )
            exports[name] = tf.saved_model.load(str(path)).signatures["translate"]

        def translate(name, texts):
            outputs = exports[name](
                text=tf.constant(texts),
                beam_width=tf.constant(args.beam_width, tf.int32),
                max_length=tf.constant(options.get("max_length", 64), tf.int32),
            )
            return [t.decode("utf-8") for t in outputs["translation"].numpy().tolist()]

        batches = [
            english[i : i + args.batch_size] for i in range(0, len(english), args.batch_size)
        ]
        result = {"sentences": len(english), "batch_size": args.batch_size, "exports": {}}
        for name in exports:  # first calls: graph optimisation, every batch shape
            hypotheses = [t for batch in batches for t in translate(name, batch)]
            result["exports"][name] = translation_scores(hypotheses, references)
        seconds = {name: [] for name in exports}
        for _ in range(args.repeats):
            for name in exports:
                start = time.perf_counter()
                for batch in batches:
                    translate(name, batch)
                seconds[name].append(time.perf_counter() - start)
        for name in exports:
            rate = len(english) / statistics.median(seconds[name])
            result["exports"][name]["sentences_per_second"] = round(rate, 1)
    result["load_average"] = [load_before, os.getloadavg()]
    fast, slow = result["exports"]["int8"], result["exports"]["float"]
    result["speed_ratio"] = round(fast["sentences_per_second"] / slow["sentences_per_second"], 2)
    result["bleu_change"] = round(fast["bleu"] - slow["bleu"], 2)
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
