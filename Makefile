# Recours: `make demo` runs it with demo data, `make test` passes the tests.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# Django 6 needs Python >= 3.12; the machine's default python3 may be older.
PYTHON ?= $(shell for c in python3.13 python3.12 $$HOME/.pyenv/versions/3.13*/bin/python3 \
	$$HOME/.pyenv/versions/3.12*/bin/python3 /usr/bin/python3.13 /usr/bin/python3.12 python3; do \
	"$$c" -c 'import sys; sys.exit(sys.version_info < (3, 12))' >/dev/null 2>&1 \
	&& { command -v "$$c"; break; }; done)
VENV := .venv
BIN := $(VENV)/bin
export DJANGO_SETTINGS_MODULE := recours.settings

.PHONY: help demo serve test test-fast lint install chromium clean

help: ## Show the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(BIN)/python:
	@test -n "$(PYTHON)" || { echo "Python >= 3.12 not found; set PYTHON=/path/to/python3.12" >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	@touch $@

$(VENV)/.installed-dev: pyproject.toml $(VENV)/.installed
	$(BIN)/pip install -q -e ".[test,lint]"
	@touch $@

install: $(VENV)/.installed ## Create the virtualenv and install Recours

demo: $(VENV)/.installed ## Migrate SQLite, load demo data, serve with the worker
	$(BIN)/recours migrate --no-input -v 0
	$(BIN)/recours collectstatic --no-input -v 0
	$(BIN)/recours demo --reset
	EMAIL_BACKEND=django.core.mail.backends.console.EmailBackend $(BIN)/recours serve

serve: $(VENV)/.installed ## Serve Recours and its worker (no demo data)
	$(BIN)/recours migrate --no-input -v 0
	$(BIN)/recours collectstatic --no-input -v 0
	$(BIN)/recours serve

chromium: ## Install Debian's Chromium for the browser tests if missing
	@command -v chromium >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; \
	  else echo "chromium missing: sudo apt-get install chromium" >&2; exit 1; fi; }

test: $(VENV)/.installed-dev chromium ## Run the whole test suite (SQLite, or DATABASE_URL)
	$(BIN)/pytest -q

test-fast: $(VENV)/.installed-dev ## Run the tests without the slow and browser ones
	$(BIN)/pytest -q -m "not slow and not browser"

lint: $(VENV)/.installed-dev ## ruff, mypy, import contracts, missing migrations
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy recours
	$(BIN)/lint-imports
	$(BIN)/recours makemigrations --check --dry-run

clean: ## Remove the virtualenv and local data (var/)
	rm -rf $(VENV) var
