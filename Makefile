# Two commands on a fresh machine:
#   make compare  creates .venv, installs rnnlab and runs the main job (RNN, LSTM, GRU on MNIST rows)
#   make test     creates .venv, installs rnnlab with its test tools and runs the whole test suite
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin

.PHONY: compare demo test lint lab bench results install clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install -q -e '.[test,notebooks]'
	touch $@

install: $(VENV)/.installed

compare: install
	$(BIN)/rnnlab compare

demo: install
	$(BIN)/rnnlab demo

test: install
	$(BIN)/python -m pytest -q

lint: install
	$(BIN)/ruff check

lab: install
	$(BIN)/jupyter lab notebooks/

bench: install
	$(BIN)/python benchmarks/engine_speed.py
	$(BIN)/python benchmarks/torch_speed.py
	$(BIN)/python benchmarks/layer_norm_speed.py --markdown

results: install
	$(BIN)/rnnlab bench --out bench-out

clean:
	rm -rf $(VENV) build src/*.egg-info .pytest_cache
