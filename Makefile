# Quickstart: `make run` (set up, run the default job on an embedded local Ray) and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PIP    := $(BIN)/python -m pip --disable-pip-version-check -q
QUIET  := 2>&1 | { grep -v "is ignored: it is neither" || true; }
SHELL  := bash
# Python caches compiled modules: a machine that sets PYTHONDONTWRITEBYTECODE recompiles raydt and every test
# module (pytest's assertion rewriting) in each of the hundreds of processes a test run starts. The caches
# (__pycache__) are git-ignored.
unexport PYTHONDONTWRITEBYTECODE
.SHELLFLAGS := -o pipefail -ec

.PHONY: run test test-fast test-slow test-e2e lint typecheck docs docs-build check clean bench

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	@# torch first and pinned to its CPU wheel: nothing may pull a CUDA build on a CPU machine.
	$(PIP) install "torch==2.13.0" $(QUIET)
	$(PIP) install -e ".[all,dev]" $(QUIET)
	$(BIN)/raydt --version
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/raydt run examples/seed-tune.json

# Tiers and budgets: docs/testing.md. Each tier's time is written to $(TIMES); the slow tier prints them all
# (and its 25 slowest tests) at its end, so every CI run shows where the time went.
TIMES := $(VENV)/test-times
FAST  := -m "not slow" -n 2 --durations=10
SLOW  := -m "slow and not e2e" --durations=25

test: $(STAMP)
	@rm -f $(TIMES); t0=$$(date +%s); \
	  $(BIN)/ruff check src tests benchmarks docs && $(BIN)/mypy && $(DOCS_BUILD) && \
	  echo "lint+types $$(( $$(date +%s) - t0 ))" >> $(TIMES)
	@# the fast tier on both cores (no Ray in it); the slow tier stays serial: one Ray workload at a time
	RAYDT_TEST_TIMES=$(TIMES) RAYDT_TEST_TIER=fast $(BIN)/pytest -q $(FAST)
	RAYDT_TEST_TIMES=$(TIMES) RAYDT_TEST_TIER=slow RAYDT_TEST_LAST=1 $(BIN)/pytest -q $(SLOW)

test-fast: $(STAMP)
	$(BIN)/pytest -q $(FAST)

test-slow: $(STAMP)
	$(BIN)/pytest -q $(SLOW)

# Outside CI (docs/testing.md): several raylets, an autoscaler, long waits, an exposed dashboard. Run it
# before resolving an issue that touches those areas, and when Ray or another pin changes.
test-e2e: $(STAMP)
	$(BIN)/pytest -q -m e2e --durations=0 --timeout=900

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks docs
	$(BIN)/ruff format --check src tests benchmarks docs

# The documentation site (mkdocs.yml, docs/): `make docs` serves it; `make test` builds it strictly (a broken
# link or anchor fails). Not `-q`: mkdocs' quiet flag drops the warnings that --strict counts, so a broken link
# would pass; the output is shown only when the build fails. NO_MKDOCS_2_WARNING: Material's banner off.
DOCS_ENV  := NO_MKDOCS_2_WARNING=1
DOCS_SITE := $(VENV)/docs-site
docs: $(STAMP)
	$(DOCS_ENV) $(BIN)/mkdocs serve -a 127.0.0.1:8000

DOCS_BUILD = { out=$$($(DOCS_ENV) $(BIN)/mkdocs build --strict -d $(DOCS_SITE) 2>&1) || { echo "$$out"; exit 1; }; }
docs-build: $(STAMP)
	@$(DOCS_BUILD)

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
	rm -rf $(VENV) build site *.egg-info src/*.egg-info .pytest_cache .mypy_cache .ruff_cache
