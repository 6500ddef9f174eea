# Siaga: every target sets up what it needs from the project's own files.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint typecheck serve clean setup

setup: $(STAMP)

$(STAMP): requirements/test.txt pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --require-hashes --no-deps -r requirements/test.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	@touch $(STAMP)

## make demo: set up, migrate and seed a SQLite database under ./var, print the accounts, serve.
demo: $(STAMP)
	SIAGA_DEV_MODE=1 $(BIN)/siaga demo

## make test: set up and run the whole suite (PostgreSQL tests skip with a reason if it is unreachable).
test: $(STAMP)
	$(BIN)/ruff check src tests
	$(BIN)/mypy
	$(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests

serve: $(STAMP)
	$(BIN)/siaga serve

clean:
	rm -rf $(VENV) var .mypy_cache .pytest_cache .ruff_cache
