# tap-tailscale developer commands. Everything runs from the project venv (.venv), which the
# targets create on first use.
#
#   make demo    set up and run the tap under Meltano against the local emulator (no account)
#   make demo-duckdb  the same into a local DuckDB file (output/warehouse.duckdb), then SQL answers
#   make test    the offline test suite (python -m pytest); the slow tiers run by marker:
#                python -m pytest -m e2e (Meltano + PostgreSQL, with TAP_TAILSCALE_PG_DSN set),
#                -m memory (peak RSS), -m packaging (sdist and wheel); .ci/run runs them all
#   make lint    ruff check, ruff format --check, mypy, and sqlfluff on the dbt project
#   make lint-sql  sqlfluff with the dbt templater on transform/ (its own venv, .venv-dbt)
#   make test-dbt  build the dbt project on planted emulator data (DuckDB; PostgreSQL too
#                when TAP_TAILSCALE_PG_DSN is set); installs dbt from PyPI
#   make bench   the benchmark (scripts/bench.py), when present
#   make clean   remove Meltano's plugin venvs and state, demo output and caches

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# Meltano 4 brings uv with it; meltano.yml's venv.backend: uv installs plugins with it.
# [postgres] adds psycopg, for the system database on PostgreSQL that parallel jobs share
# (README "Scale-out", tests/e2e/test_scale_out.py).
MELTANO_SPEC ?= meltano[postgres]>=4.4,<5
# sqlfluff's dbt templater compiles the project, so it needs dbt and an adapter beside it;
# they live in a venv of their own (dbt's pins would fight the tap's). duckdb as the loader's.
VENV_DBT ?= .venv-dbt
DBT_LINT_SPEC ?= sqlfluff==4.4.0 sqlfluff-templater-dbt==4.4.0 dbt-core>=1.10.5,<1.11 \
	dbt-duckdb~=1.10.0 duckdb==1.2.2

.PHONY: demo demo-duckdb test test-dbt lint lint-sql bench clean venv

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Stamps re-install when the package metadata changes. The demo needs the tap, the
# emulator (its own distribution in emulator/) and Meltano; tests and lint also need the [test] extra.
$(VENV)/.installed-demo: pyproject.toml emulator/pyproject.toml Makefile | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e . -e ./emulator '$(MELTANO_SPEC)'
	touch $@

$(VENV)/.installed: pyproject.toml emulator/pyproject.toml Makefile | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]' -e ./emulator '$(MELTANO_SPEC)'
	touch $@ $(VENV)/.installed-demo

$(VENV_DBT)/.installed: Makefile
	$(PYTHON) -m venv $(VENV_DBT)
	$(VENV_DBT)/bin/python -m pip install --quiet $(foreach spec,$(DBT_LINT_SPEC),'$(spec)')
	touch $@

venv: $(VENV)/.installed

demo: $(VENV)/.installed-demo
	$(BIN)/python scripts/demo.py

demo-duckdb: $(VENV)/.installed-demo
	$(BIN)/python scripts/demo_duckdb.py

test: $(VENV)/.installed
	$(BIN)/python -m pytest

test-dbt: $(VENV)/.installed
	TAP_TAILSCALE_DBT_TESTS=1 $(BIN)/python -m pytest -m dbt tests/e2e/test_dbt.py

lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(MAKE) lint-sql

lint-sql: $(VENV_DBT)/.installed
	mkdir -p transform/target
	cd transform && DBT_DUCKDB_PATH=target/lint.duckdb ../$(VENV_DBT)/bin/sqlfluff lint models snapshots

bench: $(VENV)/.installed
	@if [ -f scripts/bench.py ]; then \
		$(BIN)/python scripts/bench.py; \
	else \
		echo "scripts/bench.py is not present; nothing to run."; \
	fi

clean:
	rm -rf .meltano .demo .pytest_cache .mypy_cache .ruff_cache
	rm -f output/*.jsonl output/*.duckdb
	rm -rf transform/target transform/logs transform/dbt_packages
