"""The export hand-off: a run's checkpoint and tokenizer become a versioned SavedModel.

    zoo export runs/translate                        # to the folder the recipe chose
    zoo export runs/translate --out saved_models/translate_lstm --version 7
    zoo export runs/translate/preset --out saved_models/mine   # a preset folder

Every recipe ends by writing `export.json` into its run folder (`write_request`; and the
trained model as a preset folder, `preset/`, which `zoo.load(run_folder)` reads): the
checkpoint to export, the tokenizer, the family, the task's export options, the data card
and metrics for the model card, and what the model answered in process for a few inputs.
It then hands the folder over (`hand_off`): in the same process on the TensorFlow backend;
on JAX (or PyTorch) in a TensorFlow-backend subprocess (`zoo export`) when TensorFlow is
installed; on a machine without TensorFlow (the GPU machine) it prints the command to run
later on one that has it. Whatever backend trained the model, the export is the same: built
from the saved `.keras` file by TensorFlow, loaded back with TensorFlow alone, and checked
to answer as the model did in process. The check and the timing go to `export_result.json`
beside `export.json`.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import keras
import numpy as np

REQUEST = "export.json"
RESULT = "export_result.json"
BYTES = "bytes"  # the tokenizer of byte-level models (`zoo.data.ByteTokenizer`)
TOKENIZER = "tokenizer"  # the folder of a run's SentencePiece model


def check(
    signature: str, inputs: Mapping, expected: Mapping, *, atol: float = 1e-3, rtol: float = 0.0
) -> dict:
    """One agreement check: the export's `signature` called with `inputs` must return
    `expected` (what the model answered in process): strings and integers exactly (integer
    rows compared without their trailing padding), floats within `atol + rtol * |expected|`."""
    return {
        "signature": signature,
        "inputs": _plain(inputs),
        "expected": _plain(expected),
        "atol": atol,
        "rtol": rtol,
    }


def tolerance(model) -> dict:
    """`{"atol", "rtol"}` for comparing a model's float outputs across backends: float32
    agrees to about 1e-5; bfloat16 (8 bits of mantissa) is rounded differently by XLA (JAX)
    and TensorFlow's kernels, which moves a sentence's log-probability by up to a few
    hundredths (measured: 0.048 on a score near -20)."""
    if "bfloat16" in str(model.dtype_policy.compute_dtype):
        return {"atol": 0.05, "rtol": 0.02}
    return {"atol": 1e-3, "rtol": 0.0}


def write_request(
    run_dir,
    *,
    family: str,
    out: str,
    tokenizer,
    checkpoint: str = "checkpoints/final.keras",
    options: Mapping | None = None,
    data: Mapping | None = None,
    metrics: Mapping | None = None,
    checks: Sequence[dict] = (),
    timing: Mapping | None = None,
) -> Path:
    """Write `run_dir/export.json`: what `zoo export run_dir` exports.

    Args:
        run_dir: the run folder; `checkpoint` and `tokenizer` are relative to it.
        family: the registry name, for the model card.
        out: the export folder (versions inside) used when the command is given no `--out`.
        tokenizer: the model's tokenizer: a `SubwordTokenizer` (its SentencePiece model is
            kept in `run_dir/tokenizer/` unless it is there already, so that the run folder
            is all an export needs) or a `ByteTokenizer`.
        checkpoint: the `.keras` file to export.
        options: the task's export options (`zoo.export_model(..., **options)`).
        data, metrics: the model card's data description and figures.
        checks: `check(...)`s the export must pass.
        timing: `{"signature", "inputs"}`: a call to time (median of three, after a warm-up).
    """
    run_dir = Path(run_dir)
    if not (run_dir / checkpoint).is_file():
        raise FileNotFoundError(f"No checkpoint at {run_dir / checkpoint} to export.")
    request = {
        "checkpoint": checkpoint,
        "tokenizer": _keep_tokenizer(run_dir, tokenizer),
        "family": family,
        "out": str(out),
        "options": _plain(options or {}),
        "data": _plain(data or {}),
        "metrics": _plain(metrics or {}),
        "checks": list(checks),
        "timing": _plain(timing) if timing else None,
        "trained_with": {"backend": keras.config.backend(), "keras": keras.__version__},
    }
    path = run_dir / REQUEST
    path.write_text(json.dumps(request, indent=2, ensure_ascii=False))
    try:
        write_preset(run_dir, request)
    except ImportError as error:  # the task's module needs TensorFlow, absent here
        print(f"No preset folder written ({error}); export.json holds what it needs.")
    return path


def write_preset(run_dir: Path, request: Mapping) -> Path:
    """The run's trained model as a preset folder, `run_dir/preset/` (`zoo.save_to_preset`):
    the checkpoint the export request names, its tokenizer and the preprocessor options among
    the export options, the data card and the metrics. `zoo.load(run_dir)` reads it."""
    import zoo
    from zoo.presets import RUN_PRESET, from_run_request

    model = from_run_request(run_dir)
    return zoo.save_to_preset(
        model,
        run_dir / RUN_PRESET,
        family=request["family"],
        data=request["data"],
        metrics=request["metrics"],
    )


def _keep_tokenizer(run_dir: Path, tokenizer) -> str:
    from zoo.data import ByteTokenizer
    from zoo.data.tokenizers import PROTO_FILENAME

    if isinstance(tokenizer, ByteTokenizer):
        return BYTES
    kept = run_dir / TOKENIZER / PROTO_FILENAME
    if not kept.is_file() or kept.read_bytes() != tokenizer.proto:
        kept.parent.mkdir(parents=True, exist_ok=True)
        kept.write_bytes(tokenizer.proto)
    return TOKENIZER


def read_request(run_dir) -> dict:
    path = Path(run_dir) / REQUEST
    if not path.is_file():
        saved = Path(run_dir) / "checkpoints" / "final.keras"
        if (Path(run_dir) / "checkpoints" / "detector.keras").is_file():
            raise ValueError(
                f"'{run_dir}' pre-trained an encoder by replaced-token detection "
                "(`recipes.fill_mask --objective rtd`): there is no product to export. Fine-tune "
                f"it: python -m recipes.classify --pretrained {run_dir}"
            )
        hint = (
            f"the recipe stopped after training, before writing it; export {saved} in Python "
            "with zoo.export_model(keras.saving.load_model(path), tokenizer, folder, family=...), "
            "or run the recipe again"
            if saved.is_file()
            else "pass the --run-dir folder of a recipe run that finished training"
        )
        raise FileNotFoundError(f"No {REQUEST} in '{run_dir}' ({hint}).")
    try:
        request = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ValueError(f"'{path}' is not a JSON export request ({error}).") from None
    missing = {"checkpoint", "tokenizer", "family", "out"} - set(request)
    if missing:
        raise ValueError(f"'{path}' lacks {sorted(missing)}; write it with `write_request`.")
    return request


def export_run(run_dir, out=None, *, version: int | None = None, verbose: bool = True) -> dict:
    """Export the run in `run_dir` as its `export.json` says (TensorFlow backend), reload it
    with TensorFlow alone, run its checks and timing; returns (and writes to
    `export_result.json`) `{"export", "checks", "agrees", "timing", ...}`."""
    import zoo
    import zoo.models  # noqa: F401  (registers the classes the checkpoint names)

    run_dir = Path(run_dir)
    if (run_dir / "config.json").is_file():
        return export_preset(run_dir, out, version=version, verbose=verbose)
    request = read_request(run_dir)
    start = time.perf_counter()
    model = keras.saving.load_model(run_dir / request["checkpoint"], compile=False)
    tokenizer = load_tokenizer(run_dir, request["tokenizer"])
    out = out or request["out"]
    path = zoo.export_model(
        model,
        tokenizer,
        out,
        family=request["family"],
        data=request["data"],
        metrics=request["metrics"],
        version=version,
        **request["options"],
    )
    export_seconds = time.perf_counter() - start
    checks, timing = run_checks(path, request["checks"], request.get("timing"))
    result = {
        "export": str(path),
        "run_dir": str(run_dir),
        "checkpoint": request["checkpoint"],
        "trained_with": request.get("trained_with"),
        "exported_with": {"backend": keras.config.backend(), "keras": keras.__version__},
        "export_seconds": round(export_seconds, 1),
        "checks": checks,
        "agrees": all(c["agrees"] for c in checks),
        "timing": timing,
    }
    (run_dir / RESULT).write_text(json.dumps(result, indent=2, ensure_ascii=False))
    if verbose:
        report(result)
    return result


def export_preset(folder, out=None, *, version: int | None = None, verbose: bool = True) -> dict:
    """Export a preset folder (`zoo.save_to_preset`) with its preprocessor's options, data
    card and metrics; `out` defaults to `saved_models/<the folder's name>` (a run's
    `preset/` folder: the run folder's name)."""
    import zoo
    from zoo.presets import RUN_PRESET, read_metadata

    folder = Path(folder)
    model = zoo.from_preset(folder)
    metadata = read_metadata(folder)
    if model.preprocessor is None:
        raise ValueError(f"{folder} holds a {model.config.task} model, which has no text export.")
    name = folder.resolve().parent.name if folder.name == RUN_PRESET else folder.name
    out = Path(out or Path("saved_models") / name)
    start = time.perf_counter()
    path = zoo.export_model(
        model,
        model.preprocessor.tokenizer,
        out,
        family=metadata["family"],
        data=metadata.get("data"),
        metrics=metadata.get("metrics"),
        version=version,
        **model.preprocessor.options,
    )
    result = {
        "export": str(path),
        "preset": str(folder),
        "checkpoint": str(folder / "model.weights.h5"),
        "exported_with": {"backend": keras.config.backend(), "keras": keras.__version__},
        "export_seconds": round(time.perf_counter() - start, 1),
        "checks": [],
        "agrees": True,
        "timing": None,
    }
    if verbose:
        report(result)
    return result


def load_tokenizer(run_dir: Path, tokenizer: str):
    from zoo.data import ByteTokenizer, SubwordTokenizer

    if tokenizer == BYTES:
        return ByteTokenizer()
    return SubwordTokenizer.load(run_dir / tokenizer)


def run_checks(path, checks: Sequence[dict], timing: Mapping | None):
    """Call the export's signatures, loaded with TensorFlow alone: `(checks, timing)`."""
    import tensorflow as tf
    import tensorflow_text  # noqa: F401  (the SentencePiece ops of the graph)

    loaded = tf.saved_model.load(str(path))
    results = []
    for item in checks:
        function = loaded.signatures[item["signature"]]
        outputs = function(**_tensors(tf, function, item["inputs"]))
        results.append(compare(item, {k: v.numpy() for k, v in outputs.items()}))
    timed = None
    if timing:
        function = loaded.signatures[timing["signature"]]
        inputs = _tensors(tf, function, timing["inputs"])
        function(**inputs)  # the first call after loading traces nothing, but warms caches
        seconds = []
        for _ in range(3):
            began = time.perf_counter()
            function(**inputs)
            seconds.append(time.perf_counter() - began)
        batch = len(next(iter(timing["inputs"].values())))
        timed = {
            "signature": timing["signature"],
            "batch": batch,
            "items_per_second": round(batch / float(np.median(seconds)), 1),
        }
    return results, timed


def compare(item: Mapping, outputs: Mapping) -> dict:
    """`{"signature", "agrees", "differences", "outputs"}` for one check's outputs."""
    differences = {}
    for name, expected in item["expected"].items():
        if name not in outputs:
            differences[name] = "missing from the export's outputs"
            continue
        got = _plain(outputs[name])
        expected_array = np.asarray(expected)
        if expected_array.dtype.kind in "US" or isinstance(expected, str):
            if got != expected:
                differences[name] = _first_difference(got, expected)
        elif expected_array.dtype.kind in "iub":
            if _trim(got) != _trim(expected):
                differences[name] = _first_difference(_trim(got), _trim(expected))
        else:
            got_array = np.asarray(got, dtype=np.float64)
            if got_array.shape != expected_array.shape:
                differences[name] = f"shape {got_array.shape} != {expected_array.shape}"
            elif not np.allclose(
                got_array, expected_array, atol=item["atol"], rtol=item.get("rtol", 0.0)
            ):
                largest = float(np.max(np.abs(got_array - expected_array)))
                differences[name] = (
                    f"largest difference {largest:.2e}, beyond atol {item['atol']} "
                    f"+ rtol {item.get('rtol', 0.0)}"
                )
    return {
        "signature": item["signature"],
        "agrees": not differences,
        "differences": differences,
        "outputs": {name: _plain(outputs[name]) for name in item["expected"] if name in outputs},
    }


def _first_difference(got, expected) -> str:
    """E.g. "2 of 4 differ; the first, item 0: 'la balle est' != 'la boule est'" (long
    items cut to 60 characters)."""
    if not isinstance(got, list) or not isinstance(expected, list):
        return f"{str(got)[:60]!r} != {str(expected)[:60]!r}"
    if len(got) != len(expected):
        return f"{len(got)} items != {len(expected)}"
    differing = [i for i, (a, b) in enumerate(zip(got, expected)) if a != b]
    first = differing[0]
    shown = [got[first], expected[first]]
    if isinstance(shown[0], list) and isinstance(shown[1], list):  # id rows: from where they part
        start = next((j for j, (a, b) in enumerate(zip(*shown)) if a != b), min(map(len, shown)))
        shown = [row[start : start + 8] for row in shown]
        where = f"item {first} from position {start}"
    else:
        shown = [str(item)[:60] for item in shown]
        where = f"item {first}"
    count = f"{len(differing)} of {len(expected)} differ"
    return f"{count}; the first, {where}: {shown[0]} != {shown[1]}"


def report(result: Mapping) -> None:
    print(
        f"Exported to {result['export']} (from {result['checkpoint']}, trained on "
        f"{(result.get('trained_with') or {}).get('backend', '?')})."
    )
    for item in result["checks"]:
        if item["agrees"]:
            print(
                f"  Reloaded with TensorFlow alone, `{item['signature']}` answers as the "
                "model did in process."
            )
        else:
            print(
                f"  WARNING: `{item['signature']}` answers differently from the model in "
                f"process: {item['differences']}"
            )
    if result.get("timing"):
        timing = result["timing"]
        print(
            f"  `{timing['signature']}`: {timing['items_per_second']:.0f} inputs/s at batch "
            f"{timing['batch']}."
        )


def hand_off(run_dir, out=None, *, export: bool = True) -> dict | None:
    """Export the run whatever the backend: in process on TensorFlow, else in a
    TensorFlow-backend subprocess; `None` (and the command to run later, printed) on a
    machine without TensorFlow, or when `export` is False (a recipe's `--no-export`)."""
    command = [sys.executable, "-m", "zoo.cli", "export", str(run_dir)]
    if out:
        command += ["--out", str(out)]
    if not export:
        print(
            f"\nNot exported (--no-export). The run folder holds all an export needs; run\n"
            f"  zoo export {run_dir}" + (f" --out {out}" if out else "")
        )
        return None
    if keras.config.backend() == "tensorflow":
        return export_run(run_dir, out)
    if not has_tensorflow():
        print(
            f"\nThis machine has no TensorFlow, so the model is not exported here. Its run "
            f"folder holds all an export needs; on a machine with TensorFlow and zoo, run\n"
            f"  zoo export {run_dir}" + (f" --out {out}" if out else "")
        )
        return None
    print(f"\nExporting with TensorFlow in a subprocess (trained on {keras.config.backend()}):")
    sys.stdout.flush()
    env = {**os.environ, "KERAS_BACKEND": "tensorflow"}
    finished = subprocess.run(command, env=env, check=False)
    if finished.returncode != 0:
        raise RuntimeError(
            f"The export of {run_dir} failed (exit status {finished.returncode}; its output is "
            f"above). The run folder is intact: run `zoo export {run_dir}` again to retry."
        )
    return json.loads((Path(run_dir) / RESULT).read_text(encoding="utf-8"))


def has_tensorflow() -> bool:
    """Whether TensorFlow is installed here (without importing it)."""
    try:
        return importlib.util.find_spec("tensorflow") is not None
    except ImportError:
        return False


def _tensors(tf, function, inputs: Mapping) -> dict:
    """The check's inputs as tensors of the dtypes the signature declares."""
    specs = function.structured_input_signature[1]
    unknown = set(inputs) - set(specs)
    if unknown:
        raise ValueError(f"The signature takes {sorted(specs)}; the check gives {sorted(unknown)}.")
    return {name: tf.constant(value, dtype=specs[name].dtype) for name, value in inputs.items()}


def _trim(rows):
    """Integer rows without their trailing zeros (padding after the end)."""
    if isinstance(rows, list) and rows and isinstance(rows[0], list):
        trimmed = []
        for row in rows:
            row = list(row)
            while row and row[-1] == 0:
                row.pop()
            trimmed.append(row)
        return trimmed
    return rows


def _plain(value):
    """JSON-ready: arrays and tensors to lists, bytes to text, numpy scalars to Python."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if hasattr(value, "numpy") and not isinstance(value, np.ndarray):
        value = value.numpy()
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if isinstance(value, np.generic):
        return value.item()
    return value
