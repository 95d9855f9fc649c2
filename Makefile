# Two commands: `make run` serves Sangjog for ODK Collect; `make test` runs the whole suite.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: run test test-sqlite lint forms translations clean

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "Python 3.11 is needed ($(PYTHON) not found)"; exit 1; }
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $@

tests/engine/node_modules/.installed: tests/engine/package.json
	cd tests/engine && npm install --no-audit --no-fund --loglevel=error
	touch $@

run: $(VENV)/.installed
	SERVER_URL="$${SERVER_URL:-http://127.0.0.1:$(PORT)}" $(BIN)/sangjog setup
	$(BIN)/sangjog serve --host $(HOST) --port $(PORT)

test: $(VENV)/.installed
	tools/system-deps.sh
	$(MAKE) tests/engine/node_modules/.installed
	$(BIN)/pytest

test-sqlite: $(VENV)/.installed
	$(BIN)/pytest --db=sqlite

lint: $(VENV)/.installed
	$(BIN)/ruff check sync_server pipeline exports tests bench

# Compile every .po into the .mo committed beside it (tests/test_i18n_catalogues.py checks them).
translations: $(VENV)/.installed
	$(BIN)/pybabel compile -d sync_server/translations

forms: $(VENV)/.installed
	$(BIN)/sangjog forms build

clean:
	rm -rf $(VENV) build .pytest_cache tests/engine/node_modules
