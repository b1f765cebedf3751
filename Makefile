# django-authstatus developer tasks. `make help` lists them.
#
# Variables (override on the command line, e.g. `make test VENV=.venv-py313`):
#   VENV         virtualenv directory                      (default .venv)
#   PYTHON       interpreter that creates the venv         (default python3)
#   DJANGO_SPEC  pip requirement installed after the project, e.g.
#                'Django>=6.0,<6.1' (default: none, pip's choice)
#   DRF_SPEC, DOT_SPEC  the same for djangorestframework and django-oauth-toolkit, e.g.
#                'djangorestframework==3.15.2' (the oldest-supported CI stage)
#   PYTEST_ARGS  extra arguments for pytest, e.g. PYTEST_ARGS='-k policy -x'
#   PYTEST_MARKERS  pytest -m expression (default 'not browser and not openapi and not
#                faults': the real-browser tests need Chromium and run in `.ci/run browser`,
#                schemathesis runs in `.ci/run openapi`, the fault tests need Redis,
#                PostgreSQL and gunicorn and run in `.ci/run faults`; PYTEST_MARKERS= runs all)
#   DEMO_ADDR    address for `make demo`'s runserver       (default 127.0.0.1:8000)
#   DEMO_VENV    virtualenv of `make demo` (default $(VENV)): only the `demo` extra
#   DOCS_ADDR    address for `make docs-serve`              (default 127.0.0.1:8001)
#   FUZZ_EXAMPLES  examples per fuzz target for `make fuzz`  (default 100000)
#   BENCH_ARGS   options for `python -m benchmarks`, e.g. '--no-throughput --rounds 5'

VENV ?= .venv
PYTHON ?= python3
DJANGO_SPEC ?=
DRF_SPEC ?=
DOT_SPEC ?=
PYTEST_ARGS ?=
PYTEST_MARKERS ?= not browser and not openapi and not faults
DEMO_ADDR ?= 127.0.0.1:8000
DEMO_VENV ?= $(VENV)
DOCS_ADDR ?= 127.0.0.1:8001
BENCH_ARGS ?=
# apt-get for `make bench` runs through sudo unless we are root.
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)

PIP := $(VENV)/bin/pip --disable-pip-version-check -q
VPY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.DEFAULT_GOAL := help

# The stamp records the pins it was installed with: different pins force a
# reinstall, as does a newer pyproject.toml.
PINS := $(strip $(DJANGO_SPEC) $(DRF_SPEC) $(DOT_SPEC))
ifneq ($(strip $(shell cat $(STAMP) 2>/dev/null)),$(PINS))
STAMP_FORCE := FORCE
endif

.PHONY: help setup lint format typecheck migrations-check imports pytest test fuzz bench bench-concealment demo docs docs-serve clean FORCE

help: ## Show this help
	@echo "Usage: make TARGET [VENV=.venv] [PYTHON=python3] [DJANGO_SPEC=...] [PYTEST_ARGS=...]"
	@echo
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | \
		awk 'BEGIN {FS = ":.*?## "}; {printf "  %-18s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml $(STAMP_FORCE)
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -e '.[dev]' $(foreach p,$(PINS),'$(p)')
	@$(VPY) -c 'import sys, django; print("venv $(VENV): Python %s, Django %s" % (sys.version.split()[0], django.__version__))'
	@echo '$(PINS)' > $@

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

# tools/imports.py: no new import cycle, no import from core/policies/enforcement up into
# contrib/ or the middleware, no django-oauth-toolkit import outside contrib/oauth2_provider/
# beyond tools/imports-baseline.txt (python tools/imports.py prints the whole report).
imports: setup ## Import structure: fail on a cycle or upward import not in tools/imports-baseline.txt
	$(VPY) tools/imports.py --check

# pytest exits 5 when it collected no tests; that is a failure too (it is
# non-zero, so make stops), but say so plainly.
pytest: setup ## Run the test suite (PYTEST_ARGS=... to pass options)
	@rc=0; $(VPY) -m pytest $(if $(strip $(PYTEST_MARKERS)),-m '$(PYTEST_MARKERS)') $(PYTEST_ARGS) || rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "make pytest: pytest collected no tests (exit 5)" >&2; fi; \
	exit $$rc

test: lint typecheck migrations-check imports pytest ## Everything CI runs per Python: lint, typecheck, migrations-check, pytest

# The fuzz targets of tests/fuzz with the `fuzz` hypothesis profile: FUZZ_EXAMPLES hostile
# requests per configuration (two), every invariant checked. About 10 minutes at 100,000.
FUZZ_EXAMPLES ?= 100000
fuzz: setup ## Long fuzz run: FUZZ_EXAMPLES (100000) hostile requests per configuration
	AUTHSTATUS_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(VPY) -m pytest tests/fuzz -p no:cacheprovider \
		--hypothesis-profile=fuzz --hypothesis-show-statistics -q $(PYTEST_ARGS)

bench-concealment: setup ## Concealed vs missing timing per credential kind, uniform mode off/on, AUC target
	$(VPY) -m benchmarks.bench_concealment

# Installs what only the benchmark needs when it is missing: the `bench` extra (gunicorn,
# uvicorn, matplotlib) and Debian's wrk. Rewrites docs/performance.md and docs/performance-*.png.
bench: setup ## Run the benchmarks, rewrite docs/performance.md (BENCH_ARGS=--help for options)
	@$(VPY) -c 'import gunicorn, matplotlib, uvicorn' 2>/dev/null || $(PIP) install -e '.[bench]'
	@command -v wrk >/dev/null || { \
		echo "installing wrk (Debian package)"; \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq wrk >/dev/null; }
	$(VPY) -m benchmarks $(BENCH_ARGS)

# The demo needs only the `demo` extra; a venv made by `make setup` has it already (dev
# includes demo). DEBUG is off, so runserver serves no static files: WhiteNoise serves what
# collectstatic gathers into demo_project/staticfiles/.
demo: ## Migrate + seed the demo db, collect static files, print a curl tour, serve DEMO_ADDR
	@$(DEMO_VENV)/bin/python -c 'import authstatus, whitenoise' 2>/dev/null || { \
		[ -x $(DEMO_VENV)/bin/python ] || $(PYTHON) -m venv $(DEMO_VENV); \
		$(DEMO_VENV)/bin/pip --disable-pip-version-check -q install -e '.[demo]'; }
	$(DEMO_VENV)/bin/python manage.py migrate --noinput
	$(DEMO_VENV)/bin/python manage.py seed_demo
	$(DEMO_VENV)/bin/python manage.py collectstatic --noinput -v 0
	$(DEMO_VENV)/bin/python manage.py demo_tour --base http://$(DEMO_ADDR)
	$(DEMO_VENV)/bin/python manage.py runserver $(DEMO_ADDR)

docs: setup ## Build the documentation site into site/ (mkdocs --strict)
	$(VENV)/bin/mkdocs build --strict

docs-serve: setup ## Serve the docs with live reload on http://DOCS_ADDR/en/latest/
	$(VENV)/bin/mkdocs serve --strict -a $(DOCS_ADDR)

clean: ## Remove venvs, caches, build output and the demo database
	rm -rf .venv .venv-* $(VENV)
	rm -rf .pytest_cache .mypy_cache .ruff_cache .hypothesis build dist *.egg-info
	find . -path './.git' -prune -o -type d -name __pycache__ -prune -exec rm -rf {} +
	rm -rf site demo_project/staticfiles
	rm -f demo_project/db.sqlite3

FORCE:
