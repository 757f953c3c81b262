# umbrella-forecast. `make help` lists the targets.
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
export PATH := $(abspath $(BIN)):$(PATH)

.DEFAULT_GOAL := help

.PHONY: help
help: ## list the targets
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk -F ':.*?## ' '{printf "  %-10s %s\n", $$1, $$2}'

$(BIN)/.installed: pyproject.toml requirements.lock
	python3 -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c requirements.lock -e '.[dev]'
	touch $@

.PHONY: install
install: $(BIN)/.installed ## create .venv and install the pinned dependencies

.PHONY: run
run: install ## run the whole pipeline (dvc repro) on the configured data
	dvc repro

.PHONY: test
test: install ## run the test suite on 2 processes (first installs PostgreSQL and Chromium when missing: scripts/system-packages)
	scripts/system-packages
	pytest -n 2 --durations=10

.PHONY: test-fast
test-fast: install ## the tests not marked slow, on 2 processes: about 30 s here (2 cores, nothing else running)
	pytest -m "not slow" -n 2 --durations=5

.PHONY: fuzz
fuzz: install ## the fuzz suite (tests/data/test_fuzz.py) with many more examples, a few minutes
	HYPOTHESIS_PROFILE=fuzz pytest tests/data/test_fuzz.py --hypothesis-show-statistics

# A sweep compares models, seasonal naive included, whose orders are never shipped: a
# model that fails the gate still completes its experiment (predict.allow_failed_gate).
SWEEP_ORDERS := -S predict.allow_failed_gate=true
.PHONY: sweep
sweep: install ## queue a grid (3 models; gbm leaves x learning rate) and run it, 2 jobs at a time
	dvc exp run --queue $(SWEEP_ORDERS) -S 'train.model=seasonal_naive,linear'
	dvc exp run --queue $(SWEEP_ORDERS) -S 'train.model=gbm' -S 'train.gbm.max_leaf_nodes=7,15,31' \
		-S 'train.gbm.learning_rate=0.05,0.1'
	scripts/run-queue 2
	$(MAKE) --no-print-directory exps

# The settings of params.yaml `tune` tried as queued experiments; the cheapest on the
# validation period is applied (src/umbrella/ops/tune.py; docs/experiments.md).
.PHONY: tune
tune: install ## try params.yaml tune.space (tune.budget experiments, 2 at a time), apply the cheapest on validation; reports/tune.json
	umbrella tune

# Sorted by the validation period's cost: experiments are chosen on validation, the test
# period is reported once (choosing on it would overfit it; docs/experiments.md).
.PHONY: exps
exps: install ## the params that differ between the experiments and the headline metrics, as a Markdown table, cheapest on validation first
	@dvc exp show --md --only-changed --keep '^(model|skill|validation)\.cost$$|^gate\.passed$$' \
		--drop 'Created|monitor\.|.*/' --sort-by validation.cost --sort-order asc

.PHONY: bench
bench: install ## time and peak memory of every stage at 1,000, 3,000 and 10,000 stores, local and on a 2-worker Dask LocalCluster (about 2 h)
	OMP_NUM_THREADS=1 $(BIN)/python benchmarks/bench.py --stores 1000 3000 10000 --engines local dask

.PHONY: bench-own-files
bench-own-files: install ## peak memory of validate on a retailer's own files, cut by partition or whole (about 10 min)
	OMP_NUM_THREADS=1 $(BIN)/python benchmarks/validate_own_files.py --stores 1000 3000

$(BIN)/.peers: $(BIN)/.installed
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c requirements.lock -e '.[dev,peers]'
	touch $@

.PHONY: bench-limit
bench-limit: install ## the simulator's own equation fitted on the data, ordering as oracle_info (about 1 min; after make run)
	$(BIN)/python benchmarks/limit_learned.py

.PHONY: bench-stock
bench-stock: install ## the test year replayed day by day with stock that carries over: order-up-to, seasonal naive, perfect foresight (about 1 min; after make run)
	$(BIN)/python benchmarks/stock_replay.py

.PHONY: bench-peers
bench-peers: $(BIN)/.peers ## our gbm beside mlforecast + LightGBM and statsforecast (about 2 min)
	$(BIN)/python benchmarks/peers.py

.PHONY: bench-peers-stock
bench-peers-stock: $(BIN)/.peers ## our gbm and its peers through the same stock policy at L = 1, 2, 6 and R = 1, 7 (about 16 min with another job on the 2 cores)
	$(BIN)/python benchmarks/peers_stock.py

$(BIN)/.panel: $(BIN)/.peers
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c requirements.lock -e '.[dev,peers,panel]'
	touch $@

.PHONY: bench-real
bench-real: $(BIN)/.panel ## the model and its peers on real daily series with weather and on hard simulated ones (about 15 min)
	$(BIN)/python benchmarks/real_panel.py

.PHONY: bench-rain-errors
bench-rain-errors: $(BIN)/.panel ## fit the simulator's rain forecast errors to real forecasts (crch RainIbk) and plot them (about 1 min)
	$(BIN)/python benchmarks/rain_forecast_errors.py

.PHONY: lint
lint: install ## ruff lint and format check
	ruff check .
	ruff format --check .

.PHONY: typecheck
typecheck: install ## mypy on src/ (settings in pyproject.toml), zero errors
	mypy

.PHONY: docs
docs: install ## regenerate the docs' results tables (reports/, benchmarks/), build the site strictly into site/
	python docs/tables.py
	NO_MKDOCS_2_WARNING=1 mkdocs build --strict

.PHONY: format
format: install ## apply ruff's formatting and safe fixes
	ruff format .
	ruff check --fix .

.PHONY: clean
clean: ## remove caches (not data, models or the environment)
	rm -rf .pytest_cache .ruff_cache .mypy_cache site
