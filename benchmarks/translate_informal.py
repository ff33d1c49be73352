"""Translation as people type: BLEU on a run's test sources as written, and on the same
sources lower-cased without final punctuation, side by side for several runs.

    python -m benchmarks.translate_informal runs/translate_default runs/translate_informal \\
        --out docs/results/translate_informal.json

Each RUN_DIR is a finished `python -m recipes.translate --data ...` run. Its recorded
settings give the data, the split (`--seed`), the number of test sentences and the decoding
(`zoo.runs.translate.load_data` and `.decoding`, as the recipe); its model is what
`zoo.load(RUN_DIR)` returns (the checkpoint the run scored and exported). The test
sentences are scored twice against the same references: as written, then as
`zoo.tasks.translate.informal` makes them ("The ball is red." -> "the ball is red"). Also
translates the four lower-case demo sentences. Prints one markdown table.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from zoo.runs import run_main

DEMO_SENTENCES = [
    "the ball is red",
    "the red balls are on the table",
    "the small cat sees the black dog",
    "the children eat the green apples",
]


def score_run(run_dir: Path, sentences: int | None) -> dict:
    import zoo
    from zoo.runs import translate as translate_run
    from zoo.tasks import translate as translation

    result = json.loads((run_dir / "results.json").read_text())
    settings = argparse.Namespace(**result["settings"])
    if not settings.data:
        raise ValueError(f"{run_dir} was trained on the generated corpus; pass real-data runs.")
    test = translate_run.load_data(settings)[2]
    english, references = translation.one_reference_each(
        test, sentences or settings.test_examples, settings.seed
    )
    model = zoo.load(run_dir)
    tokenizer = model.preprocessor.tokenizer
    decoding = translate_run.decoding(settings)
    scores = translation.evaluate_as_typed(model, tokenizer, english, references, **decoding)
    demo = translation.translate_texts(model, tokenizer, DEMO_SENTENCES, **decoding)
    return {
        "run_dir": str(run_dir),
        "model": settings.model,
        "informal_share": getattr(settings, "informal_share", 0.0),
        "time_budget": settings.time_budget,
        "train_steps": result["metrics"].get("train_steps"),
        "recorded_bleu": result["metrics"].get("bleu"),
        "sentences": len(english),
        "bleu": scores["bleu"],
        "chrf": scores["chrf"],
        "bleu_informal": scores["informal"]["bleu"],
        "chrf_informal": scores["informal"]["chrf"],
        "gap": scores["informal_gap"],
        "demo": dict(zip(DEMO_SENTENCES, demo)),
        "examples": [
            {"source": s, "as_typed": h2, "as_written": h1}
            for s, h1, h2 in list(
                zip(english, scores["hypotheses"], scores["informal"]["hypotheses"])
            )[:5]
        ],
    }


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("run_dirs", nargs="+", help="finished recipes.translate --run-dir folders")
    parser.add_argument(
        "--sentences", type=int, default=None, help="test sentences (default: the run's)"
    )
    parser.add_argument("--out", default=None, help="write the figures here (JSON)")
    arguments = parser.parse_args(argv)
    rows = [score_run(Path(run_dir), arguments.sentences) for run_dir in arguments.run_dirs]
    print(
        "| run | --informal-share | steps | BLEU as written | BLEU as typed | gap "
        "| chrF as written | chrF as typed |\n|---|---:|---:|---:|---:|---:|---:|---:|"
    )
    for row in rows:
        print(
            f"| {row['run_dir']} ({row['model']}) | {row['informal_share']:g} "
            f"| {row['train_steps'] or 0:,} | {row['bleu']:.1f} | {row['bleu_informal']:.1f} "
            f"| {row['gap']:.1f} | {row['chrf']:.1f} | {row['chrf_informal']:.1f} |"
        )
    for row in rows:
        print(f"\n{row['run_dir']}:")
        for english, french in row["demo"].items():
            print(f"  {english}  ->  {french}")
    if arguments.out:
        figures = {"date": time.strftime("%Y-%m-%d"), "rows": rows}
        Path(arguments.out).write_text(json.dumps(figures, indent=1, ensure_ascii=False) + "\n")
        print(f"Wrote {arguments.out}.")


if __name__ == "__main__":
    run_main(main)
