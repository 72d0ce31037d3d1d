# SmartClinic: `make demo` serves a seeded demo campus; `make test` runs every check CI runs.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
CHROMIUM := /usr/bin/chromium
PG_URL := $(SMARTCLINIC_TEST_POSTGRES_URL)

.PHONY: demo test install install-dev lint typecheck importlint pytest browser-deps messages secrets clean

$(BIN)/python:
	$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), "SmartClinic needs Python 3.11"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

# The demo runs like production (DEBUG off), with secrets generated once into var/.
var/secret_key var/field_keys: | $(BIN)/python
	@mkdir -p var
	@test -s var/secret_key || $(BIN)/python -c 'import secrets; print(secrets.token_urlsafe(50))' > var/secret_key
	@test -s var/field_keys || $(BIN)/python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())' > var/field_keys
	@chmod 600 var/secret_key var/field_keys

secrets: var/secret_key var/field_keys

# The demo plays WeChat Pay and the HIS with local stand-ins (see the README); nothing leaves the machine.
DEMO_ENV := SECRET_KEY_FILE=var/secret_key FIELD_ENCRYPTION_KEYS_FILE=var/field_keys SMARTCLINIC_DEMO=1 \
	WECHATPAY_STANDIN=1 WECHATPAY_NOTIFY_URL=http://127.0.0.1:$(PORT)/api/v1/payments/wechat/notify \
	HIS_EXPORT_URL=http://127.0.0.1:8767/fhir HIS_EXPORT_ALLOW_HTTP=1 PUBLIC_BASE_URL=http://127.0.0.1:$(PORT)

demo: install secrets
	$(DEMO_ENV) $(BIN)/python manage.py migrate --no-input -v 0
	$(DEMO_ENV) $(BIN)/python manage.py collectstatic --no-input -v 0
	$(DEMO_ENV) $(BIN)/python manage.py seed_demo --accounts-json var/demo-accounts.json
	@echo
	@echo "SmartClinic is starting at http://127.0.0.1:$(PORT)  (patients: /login/, staff: /staff/login/, API: /api/docs)"
	@echo "Ctrl-C stops the web server and the worker."
	$(DEMO_ENV) SMARTCLINIC_PORT=$(PORT) exec $(BIN)/honcho start -f Procfile

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install-dev
	SMARTCLINIC_TESTING=1 $(BIN)/mypy smartclinic config

importlint: install-dev
	$(BIN)/lint-imports

# Browser tests drive Debian's Chromium (Playwright's own browser download is blocked here).
browser-deps:
	@if [ ! -x $(CHROMIUM) ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "Installing Debian's chromium for the browser tests..."; \
	    (apt-get install -y -qq chromium fonts-noto-cjk >/dev/null 2>&1 || \
	     (apt-get update -qq && apt-get install -y -qq chromium fonts-noto-cjk >/dev/null)) || true; \
	  fi; \
	fi
	@if [ ! -x $(CHROMIUM) ]; then \
	  echo "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"; \
	  echo "!!! $(CHROMIUM) is missing and could not be installed: BROWSER TESTS WILL BE SKIPPED"; \
	  echo "!!! (install it with: sudo apt-get install chromium fonts-noto-cjk)"; \
	  echo "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"; \
	fi

pytest: install-dev browser-deps
	@echo "=== pytest on SQLite ==="
	$(BIN)/pytest
	@if [ -n "$(PG_URL)" ]; then \
	  echo "=== pytest on PostgreSQL ($(PG_URL)) ==="; \
	  DATABASE_URL="$(PG_URL)" $(BIN)/pytest -m "not browser"; \
	else \
	  echo "SMARTCLINIC_TEST_POSTGRES_URL is not set: the PostgreSQL pass was skipped."; \
	fi

test: lint typecheck importlint pytest

# Regenerate translations (needs GNU gettext); the compiled .mo files are committed.
messages: install-dev
	DEBUG=1 $(BIN)/python manage.py makemessages -l zh_Hans --ignore=.venv --ignore=var --no-obsolete
	DEBUG=1 $(BIN)/python manage.py compilemessages --ignore=.venv

clean:
	rm -rf $(VENV) var/static var/*.sqlite3*

# The booking rush, end to end on this machine (not part of `make test`; see the README's
# Performance section). Needs PostgreSQL and Redis: BENCH_DATABASE_URL (default
# postgres://postgres@127.0.0.1:5432/smartclinic_bench; the name must end in "bench", that
# database is dropped and created again) and BENCH_REDIS_URL (default redis://127.0.0.1:6379/7).
# BENCH_ARGS passes options to bench/bench_rush.py (e.g. BENCH_ARGS="--students 2000 --skip-hot").
.PHONY: bench-rush
bench-rush: install-dev
	$(BIN)/python bench/bench_rush.py $(BENCH_ARGS)
