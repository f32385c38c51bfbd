# TutorMax developer entry points. Everything installs into ./.venv from the
# project's own files; servers for dev and tests are started by the code itself.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: dev test test-fast test-browser bench install install-promtool install-chromium clean lint

$(STAMP): requirements.txt requirements-dev.txt pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is required")'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	$(PY) -m pip install --quiet --no-deps -e .
	@touch $(STAMP)

install: $(STAMP)

dev: $(STAMP)
	$(VENV)/bin/tutormax dev

test: $(STAMP)
	$(PY) -m pytest $(PYTEST_ARGS)

# Pure rules and schemas only: no servers, seconds.
test-fast: $(STAMP)
	$(PY) -m pytest -m "not stack" $(PYTEST_ARGS)

# The pages in headless Chromium (tests/browser, marked `browser`): Playwright drives Debian's
# `chromium`, since browsers cannot be downloaded here (`playwright install` is never run).
# `make test` skips them, saying so, where no Chromium is found; here a missing one fails the run.
# Screenshots of every page at 1280 px and 390 px land in var/screenshots/.
test-browser: $(STAMP) install-chromium
	TUTORMAX_BROWSER_REQUIRED=1 $(PY) -m pytest -m browser tests/browser $(PYTEST_ARGS)

install-chromium: $(STAMP)
	@if $(PY) -m tests.browser.chromium >/dev/null; then exit 0; fi; \
	if [ "$$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium; \
	else \
	  echo "Chromium not found: installing it needs root and apt-get (Debian's chromium), or set TUTORMAX_CHROMIUM"; \
	  exit 1; \
	fi

lint: $(STAMP)
	$(VENV)/bin/ruff check .

# promtool (Debian's `prometheus` package) checks ops/prometheus and the live /metrics in
# tests/test_ops_pack.py. Only root can install it; without it those tests skip, saying so.
install-promtool:
	@if command -v promtool >/dev/null 2>&1; then exit 0; fi; \
	if [ "$$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus) \
	    || echo "could not install promtool; its tests will be skipped"; \
	else \
	  echo "promtool not installed (installing it needs root and apt-get); its tests will be skipped"; \
	fi

bench: $(STAMP)
	$(VENV)/bin/tutormax bench

clean:
	rm -rf $(VENV) build *.egg-info
