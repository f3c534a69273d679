# tap-tailscale developer commands. Everything runs from the project venv (.venv), which the
# targets create on first use.
#
#   make demo    set up and run the tap under Meltano against the local emulator (no account)
#   make demo-duckdb  the same into a local DuckDB file (output/warehouse.duckdb), then SQL answers
#   make test    the whole test suite (python -m pytest); the Meltano + PostgreSQL end-to-end
#                tests run when TAP_TAILSCALE_PG_DSN is set, e.g.
#                TAP_TAILSCALE_PG_DSN=postgresql://user:pass@127.0.0.1:5432/db make test
#   make lint    ruff check, ruff format --check, mypy
#   make bench   the benchmark (scripts/bench.py), when present
#   make clean   remove Meltano's plugin venvs and state, demo output and caches

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# Meltano 4 brings uv with it; meltano.yml's venv.backend: uv installs plugins with it.
# [postgres] adds psycopg, for the system database on PostgreSQL that parallel jobs share
# (README "Scale-out", tests/e2e/test_scale_out.py).
MELTANO_SPEC ?= meltano[postgres]>=4.4,<5

.PHONY: demo demo-duckdb test lint bench clean venv

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Stamps re-install when the package metadata changes. The demo needs the tap, the
# emulator (its own distribution in emulator/) and Meltano; tests and lint also need the [test] extra.
$(VENV)/.installed-demo: pyproject.toml emulator/pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e . -e ./emulator '$(MELTANO_SPEC)'
	touch $@

$(VENV)/.installed: pyproject.toml emulator/pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]' -e ./emulator '$(MELTANO_SPEC)'
	touch $@ $(VENV)/.installed-demo

venv: $(VENV)/.installed

demo: $(VENV)/.installed-demo
	$(BIN)/python scripts/demo.py

demo-duckdb: $(VENV)/.installed-demo
	$(BIN)/python scripts/demo_duckdb.py

test: $(VENV)/.installed
	$(BIN)/python -m pytest

lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

bench: $(VENV)/.installed
	@if [ -f scripts/bench.py ]; then \
		$(BIN)/python scripts/bench.py; \
	else \
		echo "scripts/bench.py is not present; nothing to run."; \
	fi

clean:
	rm -rf .meltano .demo .pytest_cache .mypy_cache .ruff_cache
	rm -f output/*.jsonl output/*.duckdb
