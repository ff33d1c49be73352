# zoo: `make test` (lint + tests, what CI runs) and `make demo` (the main job).
#
# Both install the exact versions in constraints.txt, the ones CI last passed with, so a
# fresh machine next month gets the same TensorFlow, Keras and keras-nlp (pyproject.toml keeps
# the version ranges, for library users). To move to newer versions: `make lock` rewrites
# constraints.txt from a fresh virtual environment with the newest versions the ranges
# allow; then `make clean test` (and `make demo`) on them, and commit constraints.txt if
# they pass.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
CONSTRAINTS := constraints.txt

export TF_CPP_MIN_LOG_LEVEL ?= 2

.PHONY: test test-tf test-jax lint demo tour bench clean lock

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml $(CONSTRAINTS) | $(BIN)/python
	$(BIN)/python -m pip install --quiet -c $(CONSTRAINTS) -e ".[test,dev,serve]"
	touch $(STAMP)

# Rewrites constraints.txt: installs ".[test,dev]" without constraints into a temporary
# virtual environment and freezes it, setuptools and wheel included (TensorFlow, TensorBoard
# and astunparse require them), pip and zoo itself left out. The comment lines at the top of
# constraints.txt are kept; the file is replaced only when the freeze succeeded.
lock:
	@set -e; lock_venv=$$(mktemp -d); trap 'rm -rf "$$lock_venv"' EXIT; \
	$(PYTHON) -m venv "$$lock_venv"; \
	"$$lock_venv/bin/python" -m pip install --quiet --upgrade pip; \
	"$$lock_venv/bin/python" -m pip install --quiet -e ".[test,dev,serve]"; \
	{ grep '^#' $(CONSTRAINTS) || true; "$$lock_venv/bin/python" -m pip freeze --all --exclude-editable \
		| grep -v '^pip=='; } \
		> "$$lock_venv/constraints.txt"; \
	mv "$$lock_venv/constraints.txt" $(CONSTRAINTS); \
	echo "Wrote $(CONSTRAINTS) ($$(grep -vc '^#' $(CONSTRAINTS)) packages); now run make clean test."

lint: $(STAMP)
	$(BIN)/ruff check zoo recipes experiments tests benchmarks
	$(BIN)/ruff format --check zoo recipes experiments tests benchmarks

# Tests run in one worker process per CPU core (pytest-xdist), a test file per worker at a
# time, so that a file's module fixtures are built once. `make test WORKERS=0` runs them in
# this process.
WORKERS ?= auto
PYTEST := $(BIN)/python -m pytest -q $(if $(filter 0,$(WORKERS)),,-n $(WORKERS) --dist loadfile)

test-tf: $(STAMP)
	KERAS_BACKEND=tensorflow $(PYTEST)

# The layers and models also run on JAX (the lent GPU machine has JAX, not TensorFlow).
test-jax: $(STAMP)
	KERAS_BACKEND=jax $(PYTEST) tests/layers tests/models

test: lint test-tf test-jax

DEMO_SENTENCES := "the ball is red" "the red balls are on the table" "the small cat sees the black dog" "the children eat the green apples"

# The main job: train on the embedded corpus, export, then translate in a fresh process that
# has TensorFlow alone.
demo: $(STAMP)
	$(BIN)/python -m recipes.translate --demo --restart
	$(BIN)/python recipes/use_exported.py saved_models/translate_en_fr $(DEMO_SENTENCES)

# A tour of the zoo: every registered model, its size, and a few training steps on each task.
tour: $(STAMP)
	$(BIN)/python -m recipes.tour

# Every benchmark (zoo against keras-nlp, plain Keras and the matmul peak; benchmarks/run_all.py),
# then BENCHMARKS.md and docs/results/*.json: about 15 minutes on 2 idle cores.
# `make bench BENCH_FLAGS=--quick`: CI-sized, into build/bench_quick/.
# `make bench BENCH_FLAGS="--only sequential_vs_parallel"`: what `make bench` ran before.
BENCH_FLAGS ?=
bench: $(STAMP)
	$(BIN)/python -m benchmarks.run_all $(BENCH_FLAGS)

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
