# The two commands of the README: `make run` and `make test`. Both create .venv on first use.
# `make help` lists every target.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.DEFAULT_GOAL := help
.PHONY: help run seed test test-browser lint install install-dev clean

help: ## list the targets
	@echo "make targets (the virtualenv .venv is created on first use):"
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | awk -F'\t' '{printf "  %-14s %s\n", $$1, $$2}'
	@echo "then: $(BIN)/python run.py --help"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/runtime.stamp: requirements.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/dev.stamp: requirements-dev.txt $(VENV)/runtime.stamp
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $@

install: $(VENV)/runtime.stamp ## install the runtime dependencies into .venv
install-dev: $(VENV)/dev.stamp ## install the test dependencies too

run: install ## start everything on http://127.0.0.1:8080 (HOST, PORT, ... from the environment or .env)
	$(BIN)/python run.py

seed: install ## load the demo accounts and assignments (into the running server, else the store)
	$(BIN)/python run.py seed

test: install-dev lint ## lint, types, then the whole suite (the browser test skips without Chromium: apt-get install -y chromium)
	$(BIN)/python -m pytest

test-browser: install-dev ## only the browser tests of /console and /api/docs (needs Chromium)
	$(BIN)/python -m pytest tests/browser

lint: install-dev ## ruff (lint + format check) and mypy, configured in pyproject.toml
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

clean: ## remove .venv and the embedded stores' files (./var)
	rm -rf $(VENV) var .pytest_cache
