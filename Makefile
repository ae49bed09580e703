# One command per task; `make help` lists them. Every target installs what it needs first.
.DEFAULT_GOAL := help
SHELL := /bin/bash

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PG_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/postgres

.PHONY: help install run migrate token test test-pg test-compat openapi lint format typecheck check bench bench-scale clean

help: ## list the commands
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN{FS=":.*## "}{printf "  make %-12s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP) ## create .venv and install the service with its dev tools

run: $(STAMP) ## serve http://127.0.0.1:8585/api (SQLite in ./data, migrated on start)
	$(BIN)/mlmodel-emulator serve

migrate: $(STAMP) ## migrate the database named by DATABASE_URL (default: SQLite in ./data)
	$(BIN)/mlmodel-emulator migrate

token: $(STAMP) ## print an admin token for the local server
	@$(BIN)/mlmodel-emulator token admin

test: $(STAMP) ## the fast suite: SQLite, plus PostgreSQL when reachable (TEST_DATABASE_URL)
	$(BIN)/pytest -m "not compat"

test-pg: $(STAMP) ## the fast suite, failing if PostgreSQL is not reachable at PG_URL
	TEST_DATABASE_URL=$(PG_URL) MLMODEL_EMULATOR_REQUIRE_POSTGRES=1 $(BIN)/pytest -m "not compat"

test-compat: $(STAMP) ## the official openmetadata-ingestion client against a live server
	$(BIN)/pytest -m compat

openapi: $(STAMP) ## rewrite tests/snapshots/openapi.json after a deliberate API change
	$(BIN)/python -m tests.test_openapi

lint: $(STAMP) ## ruff lint and format check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP) ## apply ruff's fixes and formatting
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

typecheck: $(STAMP) ## mypy, strict
	$(BIN)/mypy

check: lint typecheck test ## lint, typecheck and the fast suite

bench: $(STAMP) ## benchmark against a minimal baseline app (needs wrk)
	$(BIN)/python bench/run.py --db both

bench-scale: $(STAMP) ## does each read and write cost the same at 1,000 and 100,000 services?
	$(BIN)/python bench/scale.py --db both

clean: ## remove the virtual environment and caches (keeps ./data)
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
