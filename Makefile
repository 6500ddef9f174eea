# Siaga: every target sets up what it needs from the project's own files.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
VENDOR := src/siaga/web/static/vendor
WEB    := $(VENDOR)/.installed

.PHONY: demo test lint typecheck serve clean setup web

setup: $(STAMP) $(WEB)

web: $(WEB)

# Browser libraries come from npm (pinned by package-lock.json) and are copied next to Siaga's own static files;
# they are never committed and never loaded from a CDN.
$(WEB): package.json package-lock.json
	npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	rm -rf $(VENDOR) && mkdir -p $(VENDOR)/preact $(VENDOR)/htm $(VENDOR)/leaflet $(VENDOR)/leaflet.markercluster
	cp node_modules/preact/dist/preact.mjs node_modules/preact/hooks/dist/hooks.mjs $(VENDOR)/preact/
	cp node_modules/htm/dist/htm.mjs node_modules/htm/LICENSE $(VENDOR)/htm/
	cp -r node_modules/leaflet/dist/leaflet-src.esm.js node_modules/leaflet/dist/leaflet.css \
	  node_modules/leaflet/dist/images $(VENDOR)/leaflet/
	cp node_modules/leaflet/LICENSE $(VENDOR)/leaflet/LICENSE
	cp node_modules/leaflet.markercluster/dist/leaflet.markercluster.js \
	  node_modules/leaflet.markercluster/dist/MarkerCluster.css $(VENDOR)/leaflet.markercluster/
	cp node_modules/leaflet.markercluster/MIT-LICENCE.txt $(VENDOR)/leaflet.markercluster/LICENSE
	cp node_modules/preact/LICENSE $(VENDOR)/preact/LICENSE
	@touch $(WEB)

$(STAMP): requirements/test.txt pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --require-hashes --no-deps -r requirements/test.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	@touch $(STAMP)

## make demo: set up, migrate and seed a SQLite database under ./var, print the accounts, serve.
demo: $(STAMP) $(WEB)
	SIAGA_DEV_MODE=1 $(BIN)/siaga demo

## make test: set up and run the whole suite over the machine's cores, a test file per worker (PostgreSQL tests skip
## with a reason if it is unreachable), with the 25 slowest steps and the coverage; it fails if coverage falls below
## the floor in pyproject.toml.
test: $(STAMP) $(WEB)
	$(BIN)/ruff check src tests
	$(BIN)/mypy
	$(BIN)/pytest -n auto --maxprocesses 4 --dist loadgroup --cov --durations=25

lint: $(STAMP)
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests

serve: $(STAMP) $(WEB)
	$(BIN)/siaga serve

clean:
	rm -rf $(VENV) var .mypy_cache .pytest_cache .ruff_cache node_modules $(VENDOR)

## make bench: the benchmarks (not part of make test): a real server on SQLite and PostgreSQL under an open-model
## load, with baselines from the same run; results in benchmarks/results/ and the README. BENCH_QUICK=1: a smoke run.
BENCH_STAMP := $(VENV)/.bench-installed

$(BENCH_STAMP): $(STAMP) requirements/bench.txt
	$(BIN)/python -m pip install --quiet --require-hashes --no-deps -r requirements/bench.txt
	@touch $(BENCH_STAMP)

.PHONY: bench
bench: $(BENCH_STAMP)
	$(BIN)/python -m benchmarks
