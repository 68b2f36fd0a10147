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

.PHONY: run test demo lint format migrate bench clean mutation mutation-report

$(BIN)/.runtime: requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(BIN)/.dev: requirements.txt requirements-dev.txt $(BIN)/.runtime
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

migrate: $(BIN)/.runtime
	$(BIN)/alembic upgrade head

run: migrate ## Start the API on http://localhost:$(PORT) (SQLite and simulated Retell unless configured)
	$(BIN)/uvicorn app.main:create_app --factory --host $(HOST) --port $(PORT) --timeout-keep-alive 75

test: $(BIN)/.dev ## Lint, check formatting and types, run the whole suite (SQLite, and PostgreSQL when reachable)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy app
	$(BIN)/pytest $(PYTEST_ARGS)

mutation: $(BIN)/.dev ## Mutation testing of the core modules, SQLite half, niced (not part of `make test`)
	nice -n 19 $(BIN)/mutmut run --max-children $(MUTATION_JOBS) $(foreach glob,$(MUTATE),"$(glob)")
	$(BIN)/python scripts/mutation_report.py

mutation-report: $(BIN)/.dev ## The last mutation run's score per module and the mutants still alive
	$(BIN)/python scripts/mutation_report.py

demo: $(BIN)/.runtime ## With `make run` going in another terminal: one call per persona, then a table
	$(BIN)/python scripts/demo.py

lint: $(BIN)/.dev
	$(BIN)/ruff check .
	$(BIN)/mypy app

format: $(BIN)/.dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: $(BIN)/.dev ## Measure webhook throughput and latency against a local server
	$(BIN)/python scripts/bench.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache voice_agent.db* mutants
