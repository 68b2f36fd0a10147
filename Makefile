# The two commands: `make run` and `make test`. Both bootstrap .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
HOST ?= 0.0.0.0
export PORT

.PHONY: run test demo lint format migrate bench clean

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
	$(BIN)/pytest

demo: $(BIN)/.runtime ## With `make run` going in another terminal: one call per persona, then a table
	$(BIN)/python scripts/demo.py

lint: $(BIN)/.dev
	$(BIN)/ruff check .
	$(BIN)/mypy app

format: $(BIN)/.dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: $(BIN)/.dev ## Webhook ingest vs a reference receiver, reads at 1k/100k calls (PostgreSQL on 127.0.0.1); rewrites docs/BENCHMARKS.md
	$(BIN)/python scripts/bench.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache voice_agent.db*
