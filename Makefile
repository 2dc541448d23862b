# Quickstart: `make run` (set up, run the default job on an embedded local Ray) and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PIP    := $(BIN)/python -m pip --disable-pip-version-check -q
QUIET  := 2>&1 | { grep -v "is ignored: it is neither" || true; }
SHELL  := bash
.SHELLFLAGS := -o pipefail -ec

.PHONY: run test test-fast test-slow lint typecheck check clean bench

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	@# torch first and pinned to its CPU wheel: nothing may pull a CUDA build on a CPU machine.
	$(PIP) install "torch==2.13.0" $(QUIET)
	$(PIP) install -e ".[all,dev]" $(QUIET)
	$(BIN)/raydt --version
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/raydt run examples/seed-tune.json

test: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/mypy
	@# the fast tier on both cores (no Ray in it); the slow tier stays serial: one Ray workload at a time
	$(BIN)/pytest -q -m "not slow" -n 2
	$(BIN)/pytest -q -m slow

test-fast: $(STAMP)
	$(BIN)/pytest -q -m "not slow" -n 2

test-slow: $(STAMP)
	$(BIN)/pytest -q -m slow

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

# Benchmarks (by hand, not part of `make test`): every bench_*.py, then BENCHMARKS.md's table.
# BENCH_REPS=N overrides the repetitions; `make bench BENCH=small_trials` runs one.
BENCH ?= *
bench: $(STAMP)
	@for b in benchmarks/bench_$(BENCH).py; do echo "== $$b"; (cd benchmarks && ../$(BIN)/python $$(basename $$b)); done
	cd benchmarks && ../$(BIN)/python report.py

typecheck: $(STAMP)
	$(BIN)/mypy

check: lint typecheck test

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info .pytest_cache .mypy_cache .ruff_cache
