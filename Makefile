# zoo: `make test` (lint + tests, what CI runs) and `make demo` (the main job).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

export TF_CPP_MIN_LOG_LEVEL ?= 2

.PHONY: test test-tf test-jax lint demo tour bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[test,dev]"
	touch $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check zoo recipes tests benchmarks
	$(BIN)/ruff format --check zoo recipes tests benchmarks

test-tf: $(STAMP)
	KERAS_BACKEND=tensorflow $(BIN)/python -m pytest -q

# The layers and models also run on JAX (the lent GPU machine has JAX, not TensorFlow).
test-jax: $(STAMP)
	KERAS_BACKEND=jax $(BIN)/python -m pytest -q tests/layers tests/models

test: lint test-tf test-jax

DEMO_SENTENCES := "the ball is red" "the red balls are on the table" "the small cat sees the black dog" "the children eat the green apples"

# The main job: train on the embedded corpus, export, then translate in a fresh process that
# has TensorFlow alone.
demo: $(STAMP)
	$(BIN)/python -m recipes.translate --demo
	$(BIN)/python recipes/use_exported.py saved_models/translate_en_fr $(DEMO_SENTENCES)

# A tour of the zoo: every registered model, its size, and a few training steps on each task.
tour: $(STAMP)
	$(BIN)/python -m recipes.tour

bench: $(STAMP)
	$(BIN)/python -m benchmarks.sequential_vs_parallel

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
