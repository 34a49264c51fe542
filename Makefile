# Two commands for a newcomer: `make demo` (the site with demo data) and `make test` (the suite).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# The suite's connections do not wait for the disk at each commit (synchronous_commit=off, for
# these connections only): a crash could lose the last commits of a test database, nothing else.
TEST_DATABASE_URL ?= postgres://marketplace:marketplace@127.0.0.1:5432/marketplace?options=-c%20synchronous_commit%3Doff
TEST_REDIS_URL ?= redis://127.0.0.1:6379/15
PYTEST_ARGS ?=

.PHONY: install demo demo-reset test test-services test-embedded services security lint format messages screenshots clean

install: $(VENV)/.installed node_modules/.installed

$(VENV)/.installed: pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet -c requirements.lock -e ".[dev]"
	touch $@

node_modules/.installed: package.json scripts/vendor-gcds.mjs
	npm install --no-package-lock --no-audit --no-fund
	touch $@

## The site with demo data and demo accounts on http://127.0.0.1:$(PORT) (`make demo PORT=8080`):
## the embedded default in demo mode (marketplace/settings.py, "Core"): debug off, plain http on
## this machine, a random signing key made once in var/secret_key (ignored by git).
## `make demo DEBUG=1`: debug on. The seed's own output (the emails it sends, printed by the
## console backend) goes to var/demo-seed.log; the demo logins are printed last, before the server.
PORT ?= 8000
DEBUG ?=
DEMO_DEBUG = $(if $(filter 1 true yes on,$(DEBUG)),true,false)
DEMO_ENV = MARKETPLACE_DEMO=1 DJANGO_DEBUG=$(DEMO_DEBUG) SITE_URL=http://127.0.0.1:$(PORT)
DEMO_LOG := var/demo-seed.log
demo: install
	$(DEMO_ENV) $(BIN)/python manage.py migrate --noinput --verbosity 0
	@mkdir -p var
	@echo "Seeding the demo data (its emails and log: $(DEMO_LOG)) …"
	@$(DEMO_ENV) $(BIN)/python manage.py seed_demo --verbosity 0 >$(DEMO_LOG) 2>&1 \
		|| { tail -n 40 $(DEMO_LOG); echo "seed_demo failed: see $(DEMO_LOG)"; exit 1; }
	$(DEMO_ENV) $(BIN)/python manage.py collectstatic --noinput --verbosity 0
	@echo
	@echo "Demo mode, for this machine only: plain http, staff sign in without an authenticator,"
	@echo "the signing key is random, kept in var/secret_key; DJANGO_DEBUG=$(DEMO_DEBUG)" \
		"(make demo DEBUG=1 turns it on)."
	@echo
	@$(DEMO_ENV) $(BIN)/python manage.py demo_logins
	@echo
	@echo "Serving http://127.0.0.1:$(PORT) — sign in with a demo account above (Ctrl-C to stop)."
	@$(DEMO_ENV) $(BIN)/python manage.py runserver 127.0.0.1:$(PORT)

## The demo from scratch: its database emptied (the SQLite file removed; with DATABASE_URL set,
## that database flushed), its uploaded files and seed log removed, then `make demo` again.
## The signing key in var/secret_key stays (sessions of the old demo no longer match any user).
demo-reset: install
	$(if $(DATABASE_URL),$(DEMO_ENV) $(BIN)/python manage.py flush --noinput,rm -f db.sqlite3 db.sqlite3-*)
	rm -rf private-media media $(DEMO_LOG)
	$(MAKE) --no-print-directory demo

## The whole suite: the linters and the static security checks, then the tests against
## PostgreSQL + Redis + a real Celery worker, then the embedded default; the time each half took
## and the total are printed at the end (the browser crawl prints its progress as it goes).
test: install services lint security
	@start=$$(date +%s); \
	$(MAKE) --no-print-directory test-services; status=$$?; half=$$(date +%s); \
	if [ $$status -eq 0 ]; then $(MAKE) --no-print-directory test-embedded; status=$$?; fi; \
	end=$$(date +%s); \
	took() { printf '%dm%02ds' $$(($$1 / 60)) $$(($$1 % 60)); }; \
	echo "make test: PostgreSQL + Redis $$(took $$((half - start)))," \
		"embedded $$(took $$((end - half))), total $$(took $$((end - start)))" \
		"$$([ $$status -eq 0 ] && echo passed || echo FAILED)"; \
	exit $$status

## Static security checks of the apps' code (bandit; `manage.py check --deploy` is a test).
security:
	$(BIN)/bandit -q -c pyproject.toml -r marketplace opportunities bids evaluation payments lifecycle reports

services:
	bash scripts/system-deps.sh
	bash scripts/services.sh

test-services:
	DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) $(BIN)/pytest $(PYTEST_ARGS)

test-embedded:
	env -u DATABASE_URL -u REDIS_URL $(BIN)/pytest $(PYTEST_ARGS)

## Style (ruff), the architecture's import contracts (import-linter, [tool.importlinter] in
## pyproject.toml) and the types of the domain code (mypy with the Django plugin, [tool.mypy]).
lint:
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/mypy

format:
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

## Refresh the French catalogue after changing interface strings (needs gettext).
messages:
	$(BIN)/python manage.py makemessages -l fr --ignore=.venv --ignore=node_modules --ignore=bench --no-obsolete
	$(BIN)/python scripts/compile_messages.py

## The README's screenshots (docs/screenshots/), from a throw-away seeded demo, in Chromium.
screenshots: install
	bash scripts/system-deps.sh
	$(BIN)/python scripts/screenshots.py

clean:
	rm -rf $(VENV) node_modules staticfiles .pytest_cache

## Benchmarks (bench/README.md): each creates and drops its own database, marketplace_bench
## (the page benchmark: marketplace_bench_pages_<scale>, the packet build: marketplace_bench_packets).
BENCH_DATABASE_URL ?= postgres://marketplace:marketplace@127.0.0.1:5432/marketplace_bench
BENCH_REDIS_URL ?= redis://127.0.0.1:6379/14
BENCH_ARGS ?=
BENCH_PAGES_ARGS ?=
BENCH_ENV = BENCH_DATABASE_URL=$(BENCH_DATABASE_URL) BENCH_REDIS_URL=$(BENCH_REDIS_URL)

.PHONY: bench bench-pages bench-packets bench-fanout bench-rush bench-faults bench-quick

## Everything at full size: the pages at 10 % and 100 % of the data set with the packet build,
## the alert fan-out, the closing-minute rush, the faults under load (about 40 minutes on 2 cores).
bench: install services
	$(BENCH_ENV) $(BIN)/python -m bench.pages --scaling $(BENCH_PAGES_ARGS)
	$(BENCH_ENV) $(BIN)/python -m bench.fanout $(BENCH_ARGS)
	$(BENCH_ENV) $(BIN)/python -m bench.rush
	$(BIN)/python -m bench.faults

## Page speed at full size against the floor, and the packet build (about 12 minutes).
bench-pages: install services
	$(BENCH_ENV) $(BIN)/python -m bench.pages $(BENCH_PAGES_ARGS)

## The packet build alone: 200 sealed bids, three rounds (under a minute).
bench-packets: install services
	$(BENCH_ENV) $(BIN)/python -m bench.packets

## Alert fan-out throughput with 50,000 subscribers and one worker (a few minutes).
bench-fanout: install services
	$(BENCH_ENV) $(BIN)/python -m bench.fanout $(BENCH_ARGS)

## The closing-minute rush: 300 suppliers in the last minute, then nothing lost (about 3 minutes).
bench-rush: install services
	$(BENCH_ENV) $(BIN)/python -m bench.rush

## PostgreSQL restarted, Redis killed, the worker killed mid-task, Stripe failing — under load,
## on a cluster and a Redis of its own; then nothing lost (about 5 minutes; CI runs --quick).
bench-faults: install services
	$(BIN)/python -m bench.faults

## Every benchmark at its smallest size, as a smoke run (under 5 minutes on 2 cores).
bench-quick: install services
	$(BENCH_ENV) $(BIN)/python -m bench.fanout --quick $(BENCH_ARGS)
	$(BENCH_ENV) $(BIN)/python -m bench.pages --quick $(BENCH_PAGES_ARGS)
	$(BENCH_ENV) $(BIN)/python -m bench.rush --quick
	$(BIN)/python -m bench.faults --quick
