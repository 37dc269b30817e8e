# Two commands a new user needs: `make run` and `make test`. Both set everything up first.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# The shared copy of MNIST when there is one; otherwise empty, and training and tests use Keras's
# cache (~/.keras/datasets/mnist.npz), then Keras's download.
MNIST_PATH ?= $(wildcard $(abspath ../shared/data/mnist.npz))
export MNIST_PATH

.PHONY: setup run test lint train bench clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $@

run: setup
	$(BIN)/digitbot run

test: setup
	$(BIN)/python -m pytest

lint: setup
	$(BIN)/ruff check bot digitbot recognizer training tests bench

train: setup
	$(BIN)/digitbot train

bench: setup
	$(BIN)/python bench/train_accuracy.py
	$(BIN)/python bench/photo_accuracy.py
	$(BIN)/python bench/latency.py

clean:
	rm -rf $(VENV) .pytest_cache
