# Baton: two commands set everything up on a fresh machine — `make run` and `make test`.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-12)
PYTHON ?= python3

.PHONY: install system-deps run test lint fmt bench lock clean

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@echo "installing Baton into $(VENV) (the first run builds llama.cpp: a few minutes)"
	$(PY) -m pip install -q --disable-pip-version-check -U pip
	$(PY) -m pip install -q --disable-pip-version-check -e '.[dev,local]'
	@rm -f $(VENV)/.installed-* && touch $(STAMP)

install: $(STAMP)

system-deps:
	@scripts/system-deps.sh

run: install system-deps
	$(BIN)/baton serve

lint: install
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy src

fmt: install
	$(BIN)/ruff format src tests bench
	$(BIN)/ruff check --fix src tests bench

test: install system-deps lint
	$(PY) -m pytest $(PYTEST_ARGS)

bench: install
	bench/setup-peers.sh
	$(PY) -m bench $(BENCH)

# requirements.lock: every runtime dependency (with the local model) pinned with hashes, for
# `pip install --require-hashes -r requirements.lock`. Regenerate after changing pyproject.toml.
lock: install
	$(PY) -m pip install -q --disable-pip-version-check uv
	$(BIN)/uv pip compile pyproject.toml --extra local --generate-hashes --python-version 3.11 \
		--no-header --quiet -o requirements.lock

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
