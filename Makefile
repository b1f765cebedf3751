# django-authstatus developer tasks. `make help` lists them.
#
# Variables (override on the command line, e.g. `make test VENV=.venv-py313`):
#   VENV         virtualenv directory                      (default .venv)
#   PYTHON       interpreter that creates the venv         (default python3)
#   DJANGO_SPEC  pip requirement installed after the project, e.g.
#                'Django>=6.0,<6.1' (default: none, pip's choice)
#   PYTEST_ARGS  extra arguments for pytest, e.g. PYTEST_ARGS='-k policy -x'
#   PYTEST_MARKERS  pytest -m expression (default 'not browser': the real-browser tests
#                need Chromium and run in `.ci/run browser`; PYTEST_MARKERS= runs all)
#   DEMO_ADDR    address for `make demo`'s runserver       (default 127.0.0.1:8000)

VENV ?= .venv
PYTHON ?= python3
DJANGO_SPEC ?=
PYTEST_ARGS ?=
PYTEST_MARKERS ?= not browser
DEMO_ADDR ?= 127.0.0.1:8000

PIP := $(VENV)/bin/pip --disable-pip-version-check -q
VPY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.DEFAULT_GOAL := help

# The stamp records the DJANGO_SPEC it was installed with: a different spec
# forces a reinstall, as does a newer pyproject.toml.
ifneq ($(strip $(shell cat $(STAMP) 2>/dev/null)),$(strip $(DJANGO_SPEC)))
STAMP_FORCE := FORCE
endif

.PHONY: help setup lint format typecheck migrations-check pytest test bench demo clean FORCE

help: ## Show this help
	@echo "Usage: make TARGET [VENV=.venv] [PYTHON=python3] [DJANGO_SPEC=...] [PYTEST_ARGS=...]"
	@echo
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | \
		awk 'BEGIN {FS = ":.*?## "}; {printf "  %-18s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml $(STAMP_FORCE)
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -e '.[dev]'
ifneq ($(strip $(DJANGO_SPEC)),)
	$(PIP) install "$(DJANGO_SPEC)"
endif
	@$(VPY) -c 'import sys, django; print("venv $(VENV): Python %s, Django %s" % (sys.version.split()[0], django.__version__))'
	@echo '$(DJANGO_SPEC)' > $@

setup: $(STAMP) ## Create/refresh the venv (only when pyproject.toml or DJANGO_SPEC changed)

lint: setup ## ruff check + ruff format --check
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: setup ## Apply ruff fixes and formatting
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

typecheck: setup ## mypy (configured in pyproject.toml)
	$(VENV)/bin/mypy

migrations-check: setup ## Fail if models changed without a migration
	$(VPY) manage.py makemigrations --check --dry-run --settings=tests.settings

# pytest exits 5 when it collected no tests; that is a failure too (it is
# non-zero, so make stops), but say so plainly.
pytest: setup ## Run the test suite (PYTEST_ARGS=... to pass options)
	@rc=0; $(VPY) -m pytest $(if $(strip $(PYTEST_MARKERS)),-m '$(PYTEST_MARKERS)') $(PYTEST_ARGS) || rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "make pytest: pytest collected no tests (exit 5)" >&2; fi; \
	exit $$rc

test: lint typecheck migrations-check pytest ## Everything CI runs per Python: lint, typecheck, migrations-check, pytest

bench: setup ## Run the benchmarks (see benchmarks/README.md)
	$(VPY) -m benchmarks.bench_matcher

demo: setup ## Migrate + seed the demo db, print a curl tour, run the dev server
	$(VPY) manage.py migrate --noinput
	$(VPY) manage.py seed_demo
	$(VPY) manage.py demo_tour
	$(VPY) manage.py runserver $(DEMO_ADDR)

clean: ## Remove venvs, caches, build output and the demo database
	rm -rf .venv .venv-* $(VENV)
	rm -rf .pytest_cache .mypy_cache .ruff_cache .hypothesis build dist *.egg-info
	find . -path './.git' -prune -o -type d -name __pycache__ -prune -exec rm -rf {} +
	rm -f demo_project/db.sqlite3

FORCE:
