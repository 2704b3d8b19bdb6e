# ClimCRM: `make run` sets everything up and serves the app; `make test` runs the tests.
SHELL := /bin/bash
PYTHON_BOOT ?= $(shell for v in 3.12 3.13; do p=$$(command -v python$$v 2>/dev/null || ls -d $$HOME/.pyenv/versions/$$v*/bin/python$$v 2>/dev/null | tail -1); [ -n "$$p" ] && { echo $$p; break; }; done)
VENV := .venv
PY := $(VENV)/bin/python
export DEBUG ?= 1
PYTEST_ARGS ?=
# The browser tests drive the system's Chromium: CHROMIUM_PATH, else `chromium` on the PATH.
CHROMIUM_PATH ?= $(shell command -v chromium 2>/dev/null)

.PHONY: setup run test test-fast check-chromium lint messages clean

$(PY):
	@test -n "$(PYTHON_BOOT)" || { echo "Python 3.12 or 3.13 is required"; exit 1; }
	$(PYTHON_BOOT) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(VENV)/.deps: pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e . --group dev
	touch $@

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

static/vendor/.stamp: node_modules/.package-lock.json scripts/vendor_assets.py
	$(PY) scripts/vendor_assets.py
	touch $@

.env:
	cp .env.example .env

setup: .env $(VENV)/.deps static/vendor/.stamp
	$(PY) manage.py compilemessages --ignore=.venv --ignore=node_modules -v 0
	$(PY) manage.py migrate --no-input -v 0
	$(PY) manage.py seed_demo

# The development server and a background worker (emails, imports, periodic jobs) side by
# side; Ctrl-C stops both.
run: setup
	@$(PY) manage.py seed_demo --logins
	$(PY) scripts/dev_server.py 127.0.0.1:8000

test: check-chromium $(VENV)/.deps static/vendor/.stamp
	$(PY) manage.py compilemessages --ignore=.venv --ignore=node_modules -v 0
	CLIMCRM_TESTING=1 $(if $(CHROMIUM_PATH),CHROMIUM_PATH=$(CHROMIUM_PATH)) $(PY) -m pytest -n 2 $(PYTEST_ARGS)

# Stops `make test` before anything runs when Chromium is missing (unless the browser tests
# are left out), and says how to get it.
check-chromium:
ifeq ($(findstring not browser,$(PYTEST_ARGS)),)
	@if [ -z "$(CHROMIUM_PATH)" ] || [ ! -x "$(CHROMIUM_PATH)" ]; then \
	  echo "The browser tests need Chromium, and none was found (CHROMIUM_PATH, then 'chromium' on the PATH)."; \
	  echo "  Debian or Ubuntu:  sudo apt-get install chromium"; \
	  echo "  installed elsewhere:  make test CHROMIUM_PATH=/path/to/chromium"; \
	  echo "  or without the browser tests:  make test PYTEST_ARGS='-m \"not browser\"'"; \
	  exit 1; \
	fi
endif

lint: $(VENV)/.deps
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	CLIMCRM_TESTING=1 $(VENV)/bin/mypy
	CLIMCRM_TESTING=1 $(PY) manage.py makemigrations --check --dry-run
	./scripts/check_migrations.sh
	CLIMCRM_TESTING=1 $(PY) manage.py messages --check
	$(VENV)/bin/lint-imports --no-cache

messages: $(VENV)/.deps
	CLIMCRM_TESTING=1 $(PY) manage.py messages $(if $(APP),--app $(APP),)

# The date-sensitive tests (marker `dates`) once at each moment of tests/clock.py, the
# session's clock set there through CLIMCRM_TEST_NOW; every moment runs, then the failed
# ones are named. MOMENTS=quarter-end runs only that one.
MOMENTS ?= $(shell grep -o '^    "[a-z-]*": datetime' tests/clock.py | cut -d'"' -f2)

.PHONY: test-dates
test-dates: $(VENV)/.deps static/vendor/.stamp
	$(PY) manage.py compilemessages --ignore=.venv --ignore=node_modules -v 0
	@failed=""; for moment in $(MOMENTS); do \
	  echo "== Date-sensitive tests at $$moment"; \
	  CLIMCRM_TEST_NOW=$$moment CLIMCRM_TESTING=1 $(PY) -m pytest -n 2 -m dates -q $(PYTEST_ARGS) \
	    || failed="$$failed $$moment"; \
	done; \
	if [ -n "$$failed" ]; then echo "Date-sensitive tests failed at:$$failed"; exit 1; fi

clean:
	rm -rf $(VENV) node_modules static/vendor staticfiles db.sqlite3
