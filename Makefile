# Front door. `make build` sets up the pinned environment and runs the main job;
# `make test` runs every check. Nothing needs installing by hand beyond Python 3.11 and make.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# Variables you can set, e.g. `make build SCALE=medium SEED=7`; `make help` lists each with its
# meaning (HELP_<name>) and value. Add a new one to VARIABLES too.
VARIABLES := SCALE SEED PYTHON HEALTH_EQUITY_DB OUT CHROMIUM BENCH_PATIENTS BENCH_FORMATS BENCH_REPEAT
SCALE ?= small
HELP_SCALE := size of the synthetic extracts: small (10k patients), medium (100k) or large (1M)
SEED ?= 42
HELP_SEED := random seed of the synthetic world; the same seed gives the same bytes
SCALES := small medium large
# A rejected value stops make before any recipe runs, so nothing (data, its scale marker, the
# warehouse) is touched: the next good `make build` carries on from where the last one left off.
ifneq ($(words $(SCALE)),1)
$(error SCALE='$(SCALE)' is not one of: $(SCALES). Nothing was changed)
endif
ifeq ($(filter $(SCALES),$(SCALE)),)
$(error SCALE=$(SCALE) is not one of: $(SCALES). Nothing was changed)
endif
ifneq ($(shell printf '%s' '$(SEED)' | grep -cxE '[0-9]{1,10}'),1)
$(error SEED=$(SEED) is not a whole number from 0 to 4294967295. Nothing was changed)
endif
PYTHON ?= $(shell command -v python3.11 || command -v python3)
HELP_PYTHON := Python 3.11 that creates .venv (only used when .venv is created)
HEALTH_EQUITY_DB ?= health_equity.duckdb
export HEALTH_EQUITY_DB
HELP_HEALTH_EQUITY_DB := the DuckDB warehouse dbt builds and exports and report read
HELP_OUT := where `make report` writes the report (default reports/health_equity_report.html); with OUT the report reads HEALTH_EQUITY_DB as it is, without rebuilding it
BENCH_PATIENTS ?= 100000 1000000
HELP_BENCH_PATIENTS := the scales `make bench` measures, in patients (a 100-patient build, the fixed cost, always runs first); e.g. BENCH_PATIENTS=100000 for a quick run
BENCH_FORMATS ?= csv parquet
HELP_BENCH_FORMATS := the extract formats `make bench` measures (csv, parquet or both)
BENCH_REPEAT ?= 1
HELP_BENCH_REPEAT := how many times `make bench` runs each dbt build, keeping the fastest (a shared machine is noisy)
HELP_CHROMIUM := Chromium binary for the browser tests; unset, the first of chromium, chromium-browser, google-chrome on PATH

VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DATA := seeds/synthetic
DBT := $(BIN)/dbt
DBT_FLAGS := --profiles-dir . --project-dir .
export DBT_SEND_ANONYMOUS_USAGE_STATS := False
export DO_NOT_TRACK := 1

TEST_STAMP := $(VENV)/.installed-test

.PHONY: help venv test-env spark-env java data dbt-build docs exports report build test lint pytest browser bench clean

help: ## list the targets and the variables you can set
	@echo "Targets (make <target>):"
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | column -t -s $$'\t' | sed 's/^/  /'
	@echo "Variables (make <target> NAME=value):"
	@$(foreach v,$(VARIABLES),printf '  %-17s %s (%s: %s)\n' '$(v)' '$(HELP_$(v))' \
		'$(if $(filter file undefined,$(origin $(v))),default,set to)' '$(or $($(v)),unset)';)

# The environment is rebuilt only when the pins change: a second `make build` installs nothing.
# --compile-bytecode writes every installed module's .pyc once, here (about 12 s): uv does not by
# default, and where PYTHONDONTWRITEBYTECODE is set Python never caches them either, so every dbt,
# generator and test process would compile dbt, pandas, scipy and scikit-learn from source again
# (about 3 s of each `dbt build`).
$(STAMP): requirements.txt pyproject.toml
	@echo "==> creating $(VENV) with pinned dependencies"
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv==0.13.8
	$(BIN)/uv pip install --quiet --python $(BIN)/python --compile-bytecode -r requirements.txt
	$(BIN)/uv pip install --quiet --python $(BIN)/python --no-deps -e .
	@touch $@

venv: $(STAMP) ## create .venv from requirements.txt (once)

# Test-only pins: the browser driver (uses the OS Chromium).
$(TEST_STAMP): $(STAMP) requirements-test.txt
	@echo "==> adding test dependencies to $(VENV)"
	$(BIN)/uv pip install --quiet --python $(BIN)/python --compile-bytecode -r requirements-test.txt
	@touch $@

test-env: $(TEST_STAMP)

# The Spark extra (dbt-spark in session mode, PySpark) for the Spark build test: the same pins
# `pip install '.[spark]'` reads; it changes none of requirements.txt's versions.
SPARK_STAMP := $(VENV)/.installed-spark
$(SPARK_STAMP): $(STAMP) requirements-spark.txt
	@echo "==> adding the Spark extra to $(VENV)"
	$(BIN)/uv pip install --quiet --python $(BIN)/python --compile-bytecode -r requirements-spark.txt
	@touch $@

spark-env: $(SPARK_STAMP) java ## the Spark extra in .venv and a Java 17+ runtime (OS packages, installed if absent)

java: ## make sure a Java 17+ runtime is installed for the Spark tests (apt as root)
	@bash scripts/ensure-java

browser: ## make sure a Chromium is installed for the browser tests (apt as root)
	@bash scripts/ensure-chromium

# Regenerated only when the generators, the reference seeds or the size change.
$(DATA)/manifest.json: $(STAMP) $(wildcard generators/*.py) $(wildcard seeds/reference/*.csv) $(DATA)/.scale-$(SCALE)-$(SEED)
	@echo "==> generating synthetic extracts (scale=$(SCALE), seed=$(SEED)) into $(DATA)"
	$(BIN)/python -m generators --seed $(SEED) --scale $(SCALE) --out $(DATA)

$(DATA)/.scale-$(SCALE)-$(SEED):
	@mkdir -p $(DATA) && rm -f $(DATA)/.scale-* && touch $@

data: $(DATA)/manifest.json ## generate the default synthetic extracts

# A second `make build` with nothing changed does nothing: each step is a file that make rebuilds
# only when what it is made from changed. The warehouse is rebuilt when a model, macro, seed, dbt
# setting, the Python package or the extracts change; a failed build marks the warehouse stale.
# The warehouse's Python inputs are the folders dbt runs (health_equity/stats for the Python
# models, health_equity/engine for the plugin and the preflight); health_equity/outputs and
# health_equity/devtools only read the warehouse, so a change there does not rebuild it.
DBT_INPUTS := $(shell git ls-files models macros seeds/reference tests/dbt analyses \
	health_equity/__init__.py health_equity/stats health_equity/engine 2>/dev/null) \
	dbt_project.yml profiles.yml selectors.yml
OUTPUT_TOOLS := $(shell git ls-files health_equity/outputs 2>/dev/null)
DOCS_SITE := target/static_index.html
HYPER := exports/health_equity.hyper
DEFAULT_REPORT := reports/health_equity_report.html
REPORT := $(or $(OUT),$(DEFAULT_REPORT))

# The unit tests (fixed inputs, the SQL logic) are left out of this production build, as dbt's
# docs advise: they check the code, not the data, and `make test` runs them (every pytest
# `dbt build` includes them; tests/python/warehouse/test_contracts.py checks they all pass).
DBT_BUILD_FLAGS := --exclude-resource-type unit_test
$(HEALTH_EQUITY_DB): $(STAMP) $(DATA)/manifest.json $(DBT_INPUTS)
	@echo "==> dbt build into $(HEALTH_EQUITY_DB)"
	$(DBT) build $(DBT_FLAGS) $(DBT_BUILD_FLAGS) || { touch -d '2000-01-01' $@ 2>/dev/null; exit 1; }
	@touch $@

dbt-build: $(HEALTH_EQUITY_DB) ## dbt build: seeds, models, Python models and tests (when an input changed)

$(DOCS_SITE): $(HEALTH_EQUITY_DB) $(OUTPUT_TOOLS)
	@echo "==> dbt docs generate"
	$(DBT) docs generate $(DBT_FLAGS) --static
	$(BIN)/python -m health_equity.outputs.docs_site target/static_index.html target/index.html

docs: $(DOCS_SITE) ## dbt docs generate: target/index.html and one self-contained target/static_index.html

# Only the marts dbt_project.yml marks `meta: {release: published}` leave the warehouse; the
# manifest that says so is the one `dbt docs generate` (the docs step) just wrote.
$(HYPER): $(HEALTH_EQUITY_DB) $(DOCS_SITE) $(OUTPUT_TOOLS)
	@echo "==> exports: published marts of $(HEALTH_EQUITY_DB) to exports/"
	$(BIN)/python -m health_equity.outputs.exports --db $(HEALTH_EQUITY_DB) --out exports --manifest target/manifest.json

exports: $(HYPER) ## published marts only: exports/<mart>.parquet, health_equity.hyper, a .tds per analysis

# With OUT, the report is written for whichever warehouse HEALTH_EQUITY_DB names, as it is (it is
# not rebuilt), and the default report is left alone.
ifdef OUT
report: | $(STAMP)
	@test -f '$(HEALTH_EQUITY_DB)' || { echo "make report: no warehouse at $(HEALTH_EQUITY_DB) (set HEALTH_EQUITY_DB, or run make build)" >&2; exit 2; }
	@echo "==> report: $(OUT) from $(HEALTH_EQUITY_DB)"
	$(BIN)/python -m health_equity.outputs.report --db '$(HEALTH_EQUITY_DB)' --out '$(OUT)'
else
$(REPORT): $(HEALTH_EQUITY_DB) $(OUTPUT_TOOLS)
	@echo "==> report: $@ from $(HEALTH_EQUITY_DB)"
	$(BIN)/python -m health_equity.outputs.report --db $(HEALTH_EQUITY_DB) --out $@

report: $(REPORT)
endif
report: ## the offline HTML report: reports/health_equity_report.html, or OUT=<file> for any warehouse (HEALTH_EQUITY_DB)

build: dbt-build docs exports report ## the main job: environment, data, dbt build, docs, exports, report
	@echo "==> done: $(HEALTH_EQUITY_DB), exports/*.parquet, $(REPORT), target/static_index.html"

# The lint checks, one target each; .pre-commit-config.yaml runs the same targets as local hooks,
# and `make lint` fails if one of them is not a hook there.
LINT_CHECKS := lint-ruff lint-format lint-sql lint-yaml
YAML_FILES = $(or $(shell git ls-files --cached --others --exclude-standard '*.yml' '*.yaml' 2>/dev/null),\
	$(shell find . -name '*.y*ml' -not -path './.venv/*' -not -path './target/*' -not -path './dbt_packages/*'))
define CHECK_YAML
import sys, yaml
bad = 0
for name in sys.argv[1:]:
    try:
        with open(name, encoding="utf-8") as fh:
            list(yaml.safe_load_all(fh))
    except yaml.YAMLError as exc:
        print(f"{name}: {exc}", file=sys.stderr)
        bad = 1
sys.exit(bad)
endef
export CHECK_YAML
.PHONY: $(LINT_CHECKS)

lint: $(LINT_CHECKS) ## every lint check (ruff, ruff format, sqlfluff, YAML), as the pre-commit hooks run them
	@for check in $(LINT_CHECKS); do grep -q "entry: make $$check$$" .pre-commit-config.yaml \
		|| { echo "$$check is not a hook in .pre-commit-config.yaml" >&2; exit 1; }; done

lint-ruff: venv ## ruff check: Python lint
	$(BIN)/ruff check .

lint-format: venv ## ruff format --check: Python formatting
	$(BIN)/ruff format --check .

lint-sql: venv ## sqlfluff lint of the SQL (models, macros, tests, analyses), one process per core
	$(BIN)/sqlfluff lint --processes 0 models macros tests/dbt analyses
	$(BIN)/sqlfluff lint --processes 0 --config .sqlfluff-omop models/staging/omop models/marts/data_quality/omop

lint-yaml: venv ## every YAML file parses
	$(BIN)/python -c "$$CHECK_YAML" $(YAML_FILES)

pytest: test-env browser spark-env ## unit tests, the dbt integration tests (DuckDB and Spark) and the browser tests
	$(BIN)/pytest

test: lint pytest ## every check (what CI runs)

bench: venv ## speed figures: generators; dbt build's fixed cost, data-dependent part (1 thread and every core), floor and pandas
	$(BIN)/python benchmarks/bench_generators.py
	$(BIN)/python benchmarks/bench_warehouse.py --patients $(BENCH_PATIENTS) --formats $(BENCH_FORMATS) --repeat $(BENCH_REPEAT)

clean: ## remove build outputs (keeps .venv)
	rm -rf target logs $(DATA) exports reports screenshots health_equity.duckdb
