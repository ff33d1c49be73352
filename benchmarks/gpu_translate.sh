#!/usr/bin/env bash
# The translation recipe on the lent GPU machine, which has JAX but no TensorFlow: train there
# under JAX for a fixed budget, bring the run folder back, export and check it here.
#
#   benchmarks/gpu_translate.sh prepare          # here: wheels into .whl/, fra.txt into .gpu_data/
#   bash benchmarks/gpu_translate.sh train 300   # there, through the device tool's `run`, with
#                                                # carry [".whl", ".gpu_data"]; 300 s of training
#   benchmarks/gpu_translate.sh export FILES_AT  # here: the files that came back -> runs/gpu_translate
#                                                # -> zoo export -> saved_models/translate_gpu
#
# `train` runs the recipe on Tatoeba's English-French as README's CPU runs do (same split,
# scoring and defaults), prints steps per second and BLEU, and puts the run folder under $OUT
# (the checkpoint split into 15 MiB parts: the device tool brings back files of 16 MiB at most).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}

case "${1:-}" in
prepare)
  exclude=$(git rev-parse --git-path info/exclude)
  mkdir -p "$(dirname "$exclude")" .whl .gpu_data
  grep -qx "/.whl/" "$exclude" 2>/dev/null || echo "/.whl/" >>"$exclude"
  grep -qx "/.gpu_data/" "$exclude" 2>/dev/null || echo "/.gpu_data/" >>"$exclude"
  # What the machine lacks (its image has JAX, numpy, sentencepiece, sacrebleu, matplotlib).
  for package in "keras==$(.venv/bin/python -c 'import keras; print(keras.__version__)')" \
    namex optree; do
    .venv/bin/python -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 \
      --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 \
      --platform manylinux2014_x86_64 -d .whl "$package"
  done
  cp ../shared/data/fra-eng/fra.txt .gpu_data/fra.txt
  du -sh .whl .gpu_data
  ;;
train)
  budget=${2:-300}
  OUT=${OUT:-gpu_results}
  mkdir -p "$OUT"
  if [ -d .whl ] && ls .whl/*.whl >/dev/null 2>&1; then
    $PYTHON -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
      --target /tmp/site .whl/*.whl
    export PYTHONPATH=/tmp/site:$PWD${PYTHONPATH:+:$PYTHONPATH}
  fi
  export KERAS_BACKEND=jax PYTHONUNBUFFERED=1
  (nvidia-smi -L || echo "no nvidia-smi") | tee "$OUT/machine.txt"
  $PYTHON -c "import jax, keras; print(jax.devices(), 'keras', keras.__version__)" \
    | tee -a "$OUT/machine.txt"
  data=.gpu_data/fra.txt
  [ -f "$data" ] || data=../shared/data/fra-eng/fra.txt
  run=/tmp/gpu_translate
  rm -rf "$run"
  $PYTHON -m recipes.translate --data "$data" --time-budget "$budget" --run-dir "$run" \
    --out /tmp/gpu_translate_saved 2>&1 | tee "$OUT/recipe.log" | grep -v "━━━" | tail -40
  $PYTHON - "$run" <<'EOF' | tee -a "$OUT/machine.txt"
import json, sys
metrics = json.load(open(f"{sys.argv[1]}/results.json"))["metrics"]
steps, seconds = metrics["train_steps"], metrics["train_seconds"]
print(f"{steps} steps in {seconds} s = {steps / seconds:.2f} steps/s; BLEU {metrics['bleu']}, "
      f"chrF {metrics['chrf']}, {metrics['in_process_sentences_per_second']} sentences/s in process")
EOF
  # The checkpoint without its optimizer state (Adam's two moments and the weight average
  # would triple it): what an export needs, in 15 MiB parts.
  $PYTHON - "$run" <<'EOF'
import sys

import keras

import zoo  # noqa: F401  (registers zoo's classes)

run = sys.argv[1]
model = keras.saving.load_model(f"{run}/checkpoints/final.keras", compile=False)
model.save(f"{run}/weights_only.keras")
EOF
  split -b 15m "$run/weights_only.keras" "$OUT/final.keras.part-"
  cp "$run/export.json" "$run/results.json" "$run/tokenizer/sentencepiece.model" "$OUT/"
  ls -la "$OUT"
  ;;
export)
  files=${2:?"give the folder the device tool brought the files back to (files_at)"}
  run=runs/gpu_translate
  rm -rf "$run"
  mkdir -p "$run/checkpoints" "$run/tokenizer"
  found=$(find "$files" -name 'final.keras.part-*' | sort)
  cat $found >"$run/checkpoints/final.keras"
  cp "$(find "$files" -name export.json | head -1)" "$(find "$files" -name results.json | head -1)" "$run/"
  cp "$(find "$files" -name sentencepiece.model | head -1)" "$run/tokenizer/"
  cat "$(find "$files" -name machine.txt | head -1)" || true
  .venv/bin/zoo export "$run" --out saved_models/translate_gpu
  ;;
*)
  sed -n 2,14p "$0"
  exit 2
  ;;
esac
