# The project's entry points. `make test` and `make demo` work on a machine with only
# Python >= 3.11 and pip: the first run creates .venv and installs everything.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install test lint typecheck unit demo bench docs constraints clean

install: $(STAMP)

# Reinstalls only when the project's dependency files change.
$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[test]'
	touch $(STAMP)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

typecheck: install
	$(BIN)/mypy

# The core must stay fully covered (branches too); the whole suite then runs once.
unit: install
	$(BIN)/pytest -q -p no:randomly tests/core --cov=scanctl.core --cov-branch \
		--cov-report=term-missing:skip-covered --cov-fail-under=100

test: lint typecheck unit
	$(BIN)/pytest -q

# The backend, a gate daemon with four simulated scanners and the supervisor TUI, all
# in a temporary directory; q (or Ctrl+C) stops everything and removes it.
demo: install
	$(BIN)/scanctl demo

bench: install
	@for script in bench/*.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

# Regenerates docs/cli.md and completions/ from the commands' help texts (a test checks them).
docs: install
	$(BIN)/python -m scanctl.cli.docs

# Regenerates the pinned versions after a dependency change in pyproject.toml.
constraints:
	$(BIN)/python -m pip freeze --exclude-editable | grep -v '^-e ' > constraints.txt

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache .coverage .hypothesis
