# The two commands: `make run` and `make test`. Both bootstrap .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
HOST ?= 0.0.0.0
export PORT

PYTEST_ARGS ?=
# `make mutation MUTATE='app.services.calls.* app.retell.live.*'`: only these modules (globs over mutant
# names, space-separated); MUTATION_JOBS mutants at a time. docs/TESTING.md has runs that fit in an hour.
MUTATE ?= app.*
MUTATION_JOBS ?= 2
# The SQLite half unless MUTATION_DATABASES=both, which adds PostgreSQL (127.0.0.1:5432): the webhook's
# one-statement hot path and the ingest pool exist only there.
MUTATION_DATABASES ?= sqlite
# MUTATION_TESTS: a pytest -k expression; only the covering tests it matches run against each mutant. For
# speed on the webhook's modules, which nearly every test reaches: a mutant those tests miss counts as alive.
MUTATION_TESTS ?=
MUTATION_K_DB := $(if $(filter both,$(MUTATION_DATABASES)),,not postgresql)
MUTATION_K := $(strip $(MUTATION_K_DB) $(if $(and $(MUTATION_K_DB),$(MUTATION_TESTS)),and) $(if $(MUTATION_TESTS),($(MUTATION_TESTS))))
MUTATION_PYTEST_ADDOPTS := $(if $(MUTATION_K),-k "$(MUTATION_K)")

.PHONY: run test demo converse lint format migrate bench clean browser-deps mutation mutation-report lock upgrade

# Installs come from the lock files: exact versions, each file checked against its hash. requirements*.txt
# hold the ranges we accept (edit those); `make lock` re-pins after an edit, `make upgrade` moves every pin
# to the newest release in range and runs the suite (README "Dependencies").
$(BIN)/.runtime: requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet --require-hashes -r requirements.lock
	touch $@

$(BIN)/.dev: requirements-dev.lock $(BIN)/.runtime
	$(BIN)/pip install --quiet --require-hashes -r requirements-dev.lock
	touch $@

PIP_COMPILE := $(BIN)/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras --no-emit-index-url --no-emit-find-links

$(BIN)/pip-compile:
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet pip-tools

lock: $(BIN)/pip-compile ## Re-pin requirements*.lock after editing requirements*.txt (keeps other pins)
	$(PIP_COMPILE) -o requirements.lock requirements.txt
	$(PIP_COMPILE) -c requirements.lock -o requirements-dev.lock requirements-dev.txt

upgrade: $(BIN)/pip-compile ## Re-lock every dependency to its newest release in range, install, run the suite
	$(PIP_COMPILE) --upgrade -o requirements.lock requirements.txt
	$(PIP_COMPILE) --upgrade -c requirements.lock -o requirements-dev.lock requirements-dev.txt
	$(MAKE) --no-print-directory test

# openapi-typescript and tsc for the TypeScript contract test, in a git-ignored folder. Without npm the
# test skips itself (with a message); .ci/run installs Node.js so CI always runs it.
CONTRACT := tests/contract
$(CONTRACT)/node_modules/.installed: $(CONTRACT)/package.json $(CONTRACT)/package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
		npm ci --prefix $(CONTRACT) --no-audit --no-fund --loglevel=error && touch $@; \
	else \
		echo "npm not found: the TypeScript contract test will be skipped"; \
	fi

migrate: $(BIN)/.runtime
	$(BIN)/alembic upgrade head

# app.serve: uvicorn with this service's connection, header and read-time limits (app/core/server.py).
run: migrate ## Start the API on http://localhost:$(PORT) (SQLite and simulated Retell unless configured)
	$(BIN)/python -m app.serve --host $(HOST) --port $(PORT)

# The browser test drives the system Chromium (apt's `chromium`) through playwright-core from npm, installed
# into tests/browser/node_modules; nothing downloads a browser. Without Chromium or npm the test is skipped.
BROWSER_DEPS := tests/browser/node_modules/.installed

$(BROWSER_DEPS): tests/browser/package.json tests/browser/package-lock.json
	cd tests/browser && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error
	touch $@

browser-deps:
	@if [ -x /usr/bin/chromium ] && command -v npm >/dev/null; then \
		$(MAKE) --no-print-directory $(BROWSER_DEPS) || echo "npm ci failed: the browser test will be skipped"; \
	else echo "no /usr/bin/chromium or npm: the browser test will be skipped"; fi

test: $(BIN)/.dev $(CONTRACT)/node_modules/.installed browser-deps ## Lint, check formatting and types, run the whole suite (SQLite, and PostgreSQL when reachable)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy app
	$(BIN)/pytest $(PYTEST_ARGS)

mutation: $(BIN)/.dev ## Mutation testing of the core modules, SQLite half, niced (not part of `make test`)
	PYTEST_ADDOPTS='$(MUTATION_PYTEST_ADDOPTS)' nice -n 19 $(BIN)/mutmut run --max-children $(MUTATION_JOBS) $(foreach glob,$(MUTATE),"$(glob)")
	$(BIN)/python scripts/mutation_report.py

mutation-report: $(BIN)/.dev ## The last mutation run's score per module and the mutants still alive
	$(BIN)/python scripts/mutation_report.py

demo: $(BIN)/.runtime ## With `make run` going in another terminal: one call per persona, then a table
	$(BIN)/python scripts/demo.py

converse: $(BIN)/.runtime ## Every persona, variant and hard case through the real LLM WebSocket, offline; writes docs/CONVERSATIONS.md
	$(BIN)/python scripts/converse.py $(CONVERSE_ARGS)

lint: $(BIN)/.dev
	$(BIN)/ruff check .
	$(BIN)/mypy app

format: $(BIN)/.dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: $(BIN)/.dev ## Webhook ingest vs a reference receiver, reads at 1k/100k calls, the live streams (PostgreSQL on 127.0.0.1); rewrites docs/BENCHMARKS*.md
	$(BIN)/python scripts/bench.py
	$(BIN)/python scripts/bench_streams.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache voice_agent.db* $(CONTRACT)/node_modules tests/browser/node_modules mutants
