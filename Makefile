# Two commands matter: `make run` (start the app) and `make test` (the whole suite).
# Both create .venv on a fresh machine. `make serve` serves a room (a process per core).
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PORT ?= 8501

.PHONY: run serve test check bench load chromium haproxy clean-cache train

$(VENV)/.installed-run: requirements.txt requirements-serving.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check --upgrade pip
	$(PY) -m pip install -q --disable-pip-version-check -r requirements.txt
	$(PY) -m pip install -q --disable-pip-version-check --no-deps -r requirements-serving.txt
	# the project itself, editable: the `cls-explorer` command and `import cls_core` from anywhere
	$(PY) -m pip install -q --disable-pip-version-check --no-deps -e .
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed-run requirements-dev.txt
	$(PY) -m pip install -q --disable-pip-version-check -r requirements-dev.txt
	touch $@

# Browser tests use Debian's chromium (Playwright cannot download browsers here).
chromium:
	@if [ ! -x /usr/bin/chromium ]; then \
	  echo "installing Debian chromium for the browser tests"; \
	  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium fonts-dejavu-core; \
	fi

# `cls-explorer serve` puts the app's processes behind HAProxy (Debian's package).
haproxy:
	@if ! command -v haproxy >/dev/null && [ ! -x /usr/sbin/haproxy ]; then \
	  echo "installing Debian haproxy for cls-explorer serve and its tests"; \
	  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends haproxy; \
	fi

run: $(VENV)/.installed-run
	$(PY) -m streamlit run app.py --server.address 127.0.0.1 --server.port $(PORT)

# A room of users: one Streamlit process per core (or PROCESSES=N) behind HAProxy.
serve: $(VENV)/.installed-run haproxy
	$(VENV)/bin/cls-explorer serve --port $(PORT) $(if $(PROCESSES),--processes $(PROCESSES))

test: $(VENV)/.installed-dev chromium haproxy
	$(PY) -m pytest

check: $(VENV)/.installed-dev
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy
	$(VENV)/bin/lint-imports

bench: $(VENV)/.installed-dev
	@for b in benchmarks/bench_*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

# 50 concurrent sessions through Streamlit's WebSocket protocol (p50/p95, errors, leaks, memory):
# one process, then two behind HAProxy (`cls-explorer serve --processes 2`).
load: $(VENV)/.installed-dev haproxy
	$(PY) benchmarks/load_sessions.py
	$(PY) benchmarks/load_sessions.py --processes 2

# Retrain the bundled models from ../shared/data (see README, "Models").
train: $(VENV)/.installed-run
	for m in banking77 ekman goemotions; do $(VENV)/bin/cls-explorer train $$m --data-dir ../shared/data --out models/$$m || exit 1; done

clean-cache:
	rm -rf .cache
