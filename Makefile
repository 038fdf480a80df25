# The two commands of the README: `make demo` and `make test`. Both start from a
# fresh clone with only Python 3.10+ and pip: they create .venv and install into it.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install test lint typecheck docs format demo i18n clean bench bench-small bench-feeds bench-purge

$(STAMP): pyproject.toml setup.py sample-app/setup.py
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]' -e sample-app
	touch $(STAMP)

install: $(STAMP)

# A fresh SQLite database with the demo users (setup-app prints their logins),
# then the site on http://127.0.0.1:8080 until Ctrl-C.
demo: $(STAMP)
	mkdir -p sample-app/data
	rm -f sample-app/data/demo.sqlite
	cd sample-app && $(abspath $(VENV))/bin/gearbox setup-app -c development.ini
	cd sample-app && $(abspath $(VENV))/bin/gearbox serve -c development.ini

# axe-core for the browser test's accessibility check (package.json, package-lock.json)
AXE := node_modules/axe-core/axe.min.js

$(AXE): package.json package-lock.json
	npm ci --no-audit --no-fund || npm install --no-audit --no-fund
	touch $(AXE)

# SecantusDB (a MongoDB wire-protocol server) in a venv of its own: the test run
# starts it on a free port and runs the Ming tests on it too (tests/secantus.py)
SECANTUS := .venv-secantus/bin/secantusd-py

$(SECANTUS):
	$(PYTHON) -m venv .venv-secantus
	.venv-secantus/bin/python -m pip install --quiet 'secantusdb==0.7.0b3'

test: $(STAMP) lint typecheck docs $(AXE) $(SECANTUS)
	$(PY) -m pytest

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# mypy on the package, configured in pyproject.toml ([tool.mypy])
typecheck: $(STAMP)
	$(VENV)/bin/mypy

# The documentation site (docs/, Sphinx): docs/_build/html/index.html. Any warning, a
# broken cross-reference included (-n), fails the build; -E reads every page each time, so
# a warning never hides in a cached page. `make test` builds it.
DOCS_STAMP := $(VENV)/.docs-installed

$(DOCS_STAMP): $(STAMP) pyproject.toml
	$(PY) -m pip install --quiet -e '.[docs]'
	touch $(DOCS_STAMP)

docs: $(DOCS_STAMP)
	$(VENV)/bin/sphinx-build -E -W --keep-going -n -b html docs docs/_build/html

format: $(STAMP)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

# Compile the gettext catalogs (the .mo files are committed, so users need no Babel).
i18n: $(STAMP)
	$(VENV)/bin/pybabel extract -F pyproject.toml -k l_ --project tgapp-activitystream -o activitystream/i18n/activitystream.pot activitystream
	$(VENV)/bin/pybabel update -i activitystream/i18n/activitystream.pot -d activitystream/i18n -D activitystream
	$(VENV)/bin/pybabel compile -d activitystream/i18n -D activitystream

clean:
	rm -rf $(VENV) .venv-secantus build dist *.egg-info docs/_build

# Benchmarks (bench/, docs/benchmarks.md); not part of `make test`. PostgreSQL from
# ACTIVITYSTREAM_PG_URL (default postgres@127.0.0.1/test), MongoDB when ACTIVITYSTREAM_MONGO_URL is set.
BENCH_STAMP := $(VENV)/.bench-installed
BENCH_BACKENDS ?= sqlite,postgresql,ming$(if $(ACTIVITYSTREAM_MONGO_URL),$(comma)mongodb)
comma := ,

$(BENCH_STAMP): $(STAMP) pyproject.toml
	$(PY) -m pip install --quiet -e '.[bench]'
	touch $(BENCH_STAMP)

# seed size (60k users, 500k activities, ~5M deliveries) + scaling chart: loads take a while.
# Ming runs on mim:// (no indexes, every query scans) at the tiny size unless BENCH_ARGS says
# --ming-size small; a real MongoDB runs at the chosen size.
bench: $(BENCH_STAMP)
	$(PY) -m bench --size seed --backends $(BENCH_BACKENDS) --scaling $(BENCH_ARGS)

# small size (6k users, 50k activities), every backend, 500 users in one round: ~3 minutes
bench-small: $(BENCH_STAMP)
	$(PY) -m bench --size small --backends $(BENCH_BACKENDS) --users 500 --rounds 1 $(BENCH_ARGS)

# feeds (issue 10): fan-out to 10,000 followers inline and on 2 Celery workers (RabbitMQ),
# inserts/s, reads, follow, rebuild and memory beside raw redis-py, SQLite and PostgreSQL;
# real Redis under a prefix of its own: about a minute. Needs the test dependencies only.
bench-feeds: $(STAMP)
	$(PY) -m bench.feeds $(BENCH_ARGS)

# retention (issue 11): am.purge of the oldest 10% of the seed deliveries on PostgreSQL, batch
# 500 and 5,000, 5 purges each, while another process reads Q1/Q2; loads a template database
# of its own once (~8 minutes; kept for the next run), then copies it per purge (~5 minutes
# in all). bench/results/purge.{json,md}
bench-purge: $(BENCH_STAMP)
	$(PY) -m bench.purge --size seed $(BENCH_ARGS)
