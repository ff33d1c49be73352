"""Runs: what turns a short recipe script into a training run that can be trusted.

- `zoo.runs.settings`: a recipe's settings dataclass → its flags (help and defaults shown),
  `--config` replay, `settings.json`;
- `zoo.runs.training`: the run folder (new, continued from its backup, or finished), devices
  and strategy scope, `fit_model`, `results.json`;
- `zoo.runs.folders`: the folders are writable and the disk has room, before training;
- `zoo.runs.export`: the export hand-off (`export.json` → `zoo export RUN_DIR`, checked);
- `zoo.runs.command`: one-line errors, `--debug`, TensorFlow kept quiet;
- `zoo.runs.translate`, `classify`, `fill_mask`, `char_lm`: each recipe's data and data card,
  tokenizer, model, fit, evaluation and export request (imported by the recipe, not here).
"""

from zoo.runs.command import run_main
from zoo.runs.settings import RunSettings, parse_settings, setting
from zoo.runs.training import (
    describe_model,
    fit_model,
    model_scope,
    run_tokenizer,
    start_run,
    write_results,
)

__all__ = [
    "RunSettings",
    "describe_model",
    "fit_model",
    "model_scope",
    "parse_settings",
    "run_main",
    "run_tokenizer",
    "setting",
    "start_run",
    "write_results",
]
