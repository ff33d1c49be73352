#!/usr/bin/env bash
# The device check: zoo's layers and models on a GPU machine that has JAX but no TensorFlow.
# Run from the repository root there, with the keras / namex / optree wheels in .whl/ (see
# the device tool's README): JAX-backend layer and model tests on the GPU, then the
# sequential-vs-parallel benchmark up to T = 4096. Results go to $OUT (or ./gpu_results).
set -uo pipefail
OUT=${OUT:-gpu_results}
mkdir -p "$OUT"
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
  --target /tmp/site .whl/*.whl || exit 1
export PYTHONPATH=/tmp/site:$PWD KERAS_BACKEND=jax PYTHONUNBUFFERED=1
nvidia-smi -L | tee "$OUT/gpu.txt"
python3 -c "import jax, keras; print(jax.devices(), keras.__version__)" | tee -a "$OUT/gpu.txt"
timeout 360 python3 -m pytest -q -p no:cacheprovider tests/layers tests/models 2>&1 \
  | tail -40 | tee "$OUT/tests_jax_gpu.log"
timeout 150 python3 -m benchmarks.sequential_vs_parallel --output-dir "$OUT" \
  --lengths 16 64 256 1024 4096 --batch-size 32 2>&1 | tail -30 | tee "$OUT/bench.log"
