# Two commands on a fresh machine:
#   make compare  creates .venv, installs rnnlab and runs the main job (RNN, LSTM, GRU on MNIST rows)
#   make test     creates .venv, installs rnnlab with its test tools and runs the whole test suite
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin

.PHONY: compare demo test lint lab bench results install docs docs-build clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml constraints.txt
	$(BIN)/python -m pip install -q -c constraints.txt -e '.[test,notebooks]'
	touch $@

install: $(VENV)/.installed

$(VENV)/.docs-installed: $(VENV)/.installed
	$(BIN)/python -m pip install -q -c constraints.txt -e '.[test,notebooks,docs]'
	touch $@

compare: install
	$(BIN)/rnnlab compare

demo: install
	$(BIN)/rnnlab demo

test: install
	$(BIN)/python -m pytest -q -n 2

lint: install
	$(BIN)/ruff check

# JupyterLab lists each notebook once: the .py halves of the jupytext pairs (notebooks/jupytext.toml) are hidden,
# and saved with their .ipynb
HIDDEN = '["__pycache__", "*.pyc", "*.pyo", ".DS_Store", "*~", "*.so", "*.dylib", "*.py", "jupytext.toml"]'
lab: install
	$(BIN)/jupyter lab --ContentsManager.hide_globs=$(HIDDEN) notebooks/

# the documentation site (mkdocs.yml): built into site/ in strict mode (a broken link fails), then served
docs-build: $(VENV)/.docs-installed
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

docs: docs-build
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs serve --strict --dev-addr 127.0.0.1:8001

bench: install
	$(BIN)/python benchmarks/engine_speed.py
	$(BIN)/python benchmarks/torch_speed.py
	$(BIN)/python benchmarks/layer_norm_speed.py --markdown

results: install
	$(BIN)/rnnlab bench --out bench-out

clean:
	rm -rf $(VENV) build dist site src/*.egg-info src/rnnlab/_version.py .pytest_cache
