# The project's own virtual environment lives in .venv; every target creates it when it is
# missing and (re)installs the package when pyproject.toml changed, so a second run is quick.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test lint bench clean docs

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[cli]'
	touch $@

# PyTorch is an optional oracle: where its CPU wheel cannot be had, its tests skip.
$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[test,cli,onnx,docs,package,dask]'
	$(BIN)/python -m pip install -q 'torch==2.13.0' || echo "torch not installed: its oracle tests will skip"
	touch $@

$(VENV)/.installed-bench: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[bench,cli]'
	touch $@

demo: $(VENV)/.installed
	$(BIN)/python -m deltaprop.command.demo

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .
	PYTHONPATH=src $(BIN)/mypy
	PYTHONPATH=src $(BIN)/lint-imports

test: lint
	PYTHONPATH=src $(BIN)/python -m pytest -q -n 2

bench: $(VENV)/.installed-bench
	$(BIN)/python benchmarks/run.py

# the documentation, warnings as errors; its examples run while it builds
docs: $(VENV)/.installed-test
	rm -rf docs/_build docs/generated docs/auto_examples
	PYTHONPATH=src $(BIN)/sphinx-build -W --keep-going -q -b html docs docs/_build/html

clean:
	rm -rf $(VENV) build src/*.egg-info .pytest_cache docs/_build docs/generated docs/auto_examples
