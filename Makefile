# TutorMax developer entry points. Everything installs into ./.venv from the
# project's own files; servers for dev and tests are started by the code itself.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: dev test test-fast bench install install-promtool clean lint

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
