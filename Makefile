# Two commands on a fresh machine:
#   make demo   - the example project with a local soketi, on SQLite
#   make test   - install what the tests need and run the whole suite
# Others: make bench, make load, make lint, make clean.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PORT        ?= 8000
SOKETI_PORT ?= 6001
export PORT SOKETI_PORT

.PHONY: demo test test-django42 lint bench load install chromium clean

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test,example,celery]"
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

install: $(VENV)/.installed node_modules/.installed

# The browser tests (tests/browser/) drive Debian's chromium; Playwright never
# downloads a browser. Installed once, when missing.
chromium:
	command -v chromium >/dev/null || (apt-get update && apt-get install -y chromium)

demo: install
	$(PY) manage.py createcachetable
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo
	PY=$(PY) bash scripts/demo.sh

test: install chromium
	$(PY) -m pytest

# The suite on Django 4.2 LTS (the lowest version pyproject.toml claims), on SQLite,
# in its own venv. The browser tests are left out (-m "not browser"): they test the
# JavaScript in Chromium, which does not depend on the Django version.
VENV_DJ42 := .venv-dj42
test-django42: node_modules/.installed
	test -x $(VENV_DJ42)/bin/python || $(PYTHON) -m venv $(VENV_DJ42)
	$(VENV_DJ42)/bin/python -m pip install --quiet --upgrade pip
	$(VENV_DJ42)/bin/python -m pip install --quiet -e ".[test,example,celery]" "django>=4.2,<5.0"
	DATABASE_URL=sqlite://:memory: $(VENV_DJ42)/bin/python -m pytest -m "not browser"

# ruff, mypy, and the import contracts of .importlinter (the package's layers).
lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy django_toolbox_realtime example_project
	$(VENV)/bin/lint-imports --no-cache

# Every benchmark on SQLite, then on PostgreSQL (BENCH_PG_URL); writes benchmarks/RESULTS.md.
bench: install
	$(PY) -m benchmarks $(BENCH_ARGS)

# The example project under gunicorn on PostgreSQL (LOAD_PG_URL) with soketi, under load.
load: install
	$(PY) -m benchmarks.load $(LOAD_ARGS)

clean:
	rm -rf $(VENV) node_modules .pytest_cache .mypy_cache .ruff_cache *.egg-info
