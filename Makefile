# Front door. `make build` sets up the pinned environment and runs the main job;
# `make test` runs every check. Nothing needs installing by hand beyond Python 3.11 and make.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SEED ?= 42
SCALE ?= small
DATA := seeds/synthetic
DBT := $(BIN)/dbt
DBT_FLAGS := --profiles-dir . --project-dir .
export DBT_SEND_ANONYMOUS_USAGE_STATS := False
export DO_NOT_TRACK := 1

TEST_STAMP := $(VENV)/.installed-test

.PHONY: help venv test-env data dbt-build docs exports report build test lint pytest browser bench clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | column -t -s $$'\t'

# The environment is rebuilt only when the pins change: a second `make build` installs nothing.
$(STAMP): requirements.txt pyproject.toml
	@echo "==> creating $(VENV) with pinned dependencies"
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv==0.13.8
	$(BIN)/uv pip install --quiet --python $(BIN)/python -r requirements.txt
	$(BIN)/uv pip install --quiet --python $(BIN)/python --no-deps -e .
	@touch $@

venv: $(STAMP) ## create .venv from requirements.txt (once)

# Test-only pins: the browser driver (uses the OS Chromium).
$(TEST_STAMP): $(STAMP) requirements-test.txt
	@echo "==> adding test dependencies to $(VENV)"
	$(BIN)/uv pip install --quiet --python $(BIN)/python -r requirements-test.txt
	@touch $@

test-env: $(TEST_STAMP)

browser: ## make sure a Chromium is installed for the browser tests (apt as root)
	@bash scripts/ensure-chromium

# Regenerated only when the generators, the reference seeds or the size change.
$(DATA)/manifest.json: $(STAMP) $(wildcard generators/*.py) $(wildcard seeds/reference/*.csv) $(DATA)/.scale-$(SCALE)-$(SEED)
	@echo "==> generating synthetic extracts (scale=$(SCALE), seed=$(SEED)) into $(DATA)"
	$(BIN)/python -m generators --seed $(SEED) --scale $(SCALE) --out $(DATA)

$(DATA)/.scale-$(SCALE)-$(SEED):
	@mkdir -p $(DATA) && rm -f $(DATA)/.scale-* && touch $@

data: $(DATA)/manifest.json ## generate the default synthetic extracts

dbt-build: venv data ## dbt build: seeds, models, Python models and tests
	@echo "==> dbt build"
	$(DBT) build $(DBT_FLAGS)

docs: venv ## dbt docs generate: target/index.html and one self-contained target/static_index.html
	@echo "==> dbt docs generate"
	$(DBT) docs generate $(DBT_FLAGS) --static
	$(BIN)/python -m health_equity.docs_site target/static_index.html target/index.html

exports: venv ## every mart to exports/<mart>.parquet, exports/health_equity.hyper and a Tableau .tds per analysis
	@echo "==> exports"
	$(BIN)/python -m health_equity.exports --db health_equity.duckdb --out exports

report: venv ## the offline HTML report: reports/health_equity_report.html
	@echo "==> report"
	$(BIN)/python -m health_equity.report --db health_equity.duckdb --out reports/health_equity_report.html

build: dbt-build docs exports report ## the main job: environment, data, dbt build, docs, exports, report
	@echo "==> done: health_equity.duckdb, exports/*.parquet, reports/health_equity_report.html, target/static_index.html"

lint: venv ## ruff and sqlfluff
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/sqlfluff lint models macros tests/dbt analyses

pytest: test-env browser ## unit tests, the dbt integration tests and the browser tests
	$(BIN)/pytest

test: lint pytest ## every check (what CI runs)

bench: venv ## speed figures at several scales (generators, dbt build, models)
	$(BIN)/python benchmarks/bench_generators.py
	$(BIN)/python benchmarks/bench_warehouse.py

clean: ## remove build outputs (keeps .venv)
	rm -rf target logs $(DATA) exports reports screenshots health_equity.duckdb
