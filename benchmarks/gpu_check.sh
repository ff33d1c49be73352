#!/usr/bin/env bash
# The device check: zoo's layers and models on a GPU machine that has JAX but no TensorFlow.
# Under 10 minutes (one device call's limit): 4 + 4 + 2 minutes at most.
# Run from the repository root there, with the keras / namex / optree wheels in .whl/ (see
# the device tool's README): issue 11's GPU figures (the base Transformer's bf16 training
# step with its MFU against a bf16 matmul timed in the same run, and cached decoding
# tokens/s: benchmarks/accelerator_step.py), JAX-backend layer and model tests on the GPU,
# then the sequential-vs-parallel benchmark up to T = 4096. Results go to $OUT (or
# ./gpu_results).
set -uo pipefail
OUT=${OUT:-gpu_results}
mkdir -p "$OUT"
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
  --target /tmp/site .whl/*.whl || exit 1
export PYTHONPATH=/tmp/site:$PWD KERAS_BACKEND=jax PYTHONUNBUFFERED=1
nvidia-smi -L | tee "$OUT/gpu.txt"
python3 -c "import jax, keras; print(jax.devices(), keras.__version__)" | tee -a "$OUT/gpu.txt"
# Issue 11's figures first: the device's minutes are few.
timeout 240 python3 -m benchmarks.accelerator_step --output-dir "$OUT" 2>&1 \
  | tail -12 | tee "$OUT/accelerator_step.log"
timeout 240 python3 -m pytest -q -p no:cacheprovider tests/layers tests/models 2>&1 \
  | tail -40 | tee "$OUT/tests_jax_gpu.log"
timeout 120 python3 -m benchmarks.sequential_vs_parallel --output-dir "$OUT" \
  --lengths 16 64 256 1024 4096 --batch-size 32 2>&1 | tail -30 | tee "$OUT/bench.log"
