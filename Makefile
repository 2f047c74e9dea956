# `make test` and `make demo` work on a fresh clone with only Python 3.10+ and make: the first
# run creates .venv and installs the package with its test tools; later runs reuse it until
# pyproject.toml changes.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

.PHONY: test demo lint typecheck unit bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(INSTALLED): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --editable '.[test]'
	touch $@

test: lint typecheck unit

lint: $(INSTALLED)
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .

typecheck: $(INSTALLED)
	$(BIN)/mypy

unit: $(INSTALLED)
	$(BIN)/python -m pytest

# Runs the scrape-and-notify example DAG through Airflow against local stand-ins (or the real
# service when THORDATA_SCRAPER_TOKEN, THORDATA_PUBLIC_TOKEN, THORDATA_PUBLIC_KEY and
# THORDATA_WEBHOOK_URL are set) and prints the webhooks it delivered. State lives in .demo/.
demo: $(INSTALLED)
	$(BIN)/python -m airflow_provider_thordata.testing.demo --home .demo

bench: $(INSTALLED)
	for script in bench/bench_*.py; do $(BIN)/python $$script || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .benchmarks .demo
