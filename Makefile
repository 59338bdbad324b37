# Waypoint: `make run` serves the demo; `make test` runs the whole suite.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
PORT   ?= 8000

.PHONY: run test check lint typecheck bench wrk browser clean

$(BIN)/waypoint: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e .
	@touch $@

$(VENV)/.test-deps: $(BIN)/waypoint
	$(BIN)/pip install --quiet -e ".[test]"
	@touch $@

## run: start the API with the demo catalog, intents, model and customers on :$(PORT)
run: $(BIN)/waypoint
	$(BIN)/waypoint serve --demo --port $(PORT)

## browser: Debian's Chromium for the console tests (never a downloaded browser)
browser:
	@command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ] || \
	  { echo "installing Debian's chromium for the browser tests"; \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) \
	    >/dev/null || echo "could not install chromium: browser tests will be skipped"; }

## test: install what the tests need and run the whole suite
test: $(VENV)/.test-deps browser wrk
	$(BIN)/python -m pytest -q

## check: lint, type-check, then test (what CI runs)
check: lint typecheck test

lint: $(VENV)/.test-deps
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(VENV)/.test-deps
	$(BIN)/mypy

## bench: load benchmark, wrk against the demo server and a floor app (BENCH_ARGS: options,
##        e.g. make bench BENCH_ARGS="--catalog-size 100000"); installs Debian's wrk if it can
bench: $(BIN)/waypoint wrk
	@command -v wrk >/dev/null 2>&1 || \
	  { echo "the benchmark needs wrk: install it as root, e.g. 'sudo apt-get install wrk'"; exit 1; }
	$(BIN)/waypoint bench $(BENCH_ARGS)

## wrk: Debian's wrk for the benchmark and its test (skipped without it)
wrk:
	@command -v wrk >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing Debian's wrk for the benchmark"; \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk) \
	      >/dev/null || echo "could not install wrk: the benchmark test will be skipped"; \
	  else \
	    echo "wrk is missing (as root: apt-get install wrk): the benchmark test will be skipped"; \
	  fi; }

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache *.egg-info
