# Munja: `make run` to try it, `make test` to check it.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
# Django 6 needs Python 3.12+: take the first one found on PATH or under pyenv.
PYTHON ?= $(shell for p in python3.13 python3.12 $${PYENV_ROOT:-$$HOME/.pyenv}/versions/3.13*/bin/python3.13 $${PYENV_ROOT:-$$HOME/.pyenv}/versions/3.12*/bin/python3.12 python3; do \
	  if command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then command -v $$p; break; fi; done)

.PHONY: run test test-deps bench lint install messages clean screenshots

$(VENV)/.installed: pyproject.toml
	@test -n "$(PYTHON)" || { echo "Munja needs Python 3.12 or newer (none found on PATH or under pyenv)"; exit 1; }
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	@touch $@

install: $(VENV)/.installed

# The compiled catalogue is committed; recompile when gettext is installed.
messages: install
	@if command -v msgfmt >/dev/null; then $(PY) manage.py compilemessages --ignore=.venv -v 0; \
	else echo "msgfmt not found: using the committed locale/*/django.mo"; fi

run: export MUNJA_DEBUG ?= 1
run: install messages
	$(PY) manage.py migrate --noinput -v 0
	$(PY) manage.py createcachetable
	$(PY) manage.py run_console

# What the suite needs besides Python: Chromium for the browser tests
# (MUNJA_CHROMIUM, default /usr/bin/chromium), a Korean font so screens are
# drawn (and measured for overflow) with real Hangul glyphs, not boxes, and
# gettext for the catalogue.
# Missing ones are installed with apt-get when running as root (MUNJA_APT=0
# forbids it); otherwise this stops at once with the one command to run.
test-deps:
	@missing=""; \
	test -x "$${MUNJA_CHROMIUM:-/usr/bin/chromium}" || missing="$$missing chromium"; \
	command -v msgfmt >/dev/null 2>&1 || missing="$$missing gettext"; \
	fc-list :lang=ko 2>/dev/null | grep -q . || missing="$$missing fonts-nanum"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && [ "$${MUNJA_APT:-1}" != 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "== installing$$missing (apt-get)"; \
	    apt-get update -qq && apt-get install -y -qq $$missing >/dev/null || exit 1; \
	  else \
	    echo "The test suite needs$$missing, which is not installed. Run:"; \
	    echo "    sudo apt-get install -y$$missing"; \
	    echo "then make test again (or set MUNJA_CHROMIUM to your Chromium)."; \
	    exit 1; \
	  fi; \
	fi

test: install test-deps messages
	$(PY) -m pytest -q $(PYTEST_ARGS)

# Every main screen at desktop and phone size, in Korean and English, written
# to docs/screenshots/ by the same browser test that checks they fit (the few
# the README shows are committed; docs/screenshots/.gitignore names them).
screenshots: install messages
	MUNJA_SCREENSHOTS=docs/screenshots $(PY) -m pytest -q tests/test_screens_browser.py -k fits

bench: install
	@set -e; for script in bench/[!_]*.py; do [ -e "$$script" ] || continue; echo "== $$script"; $(PY) $$script; done

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

clean:
	rm -rf $(VENV) .data staticfiles
