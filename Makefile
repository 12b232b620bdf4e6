# immunopet — the two commands a newcomer needs are `make demo` and `make test`.
# Each creates the local virtual environment (.venv) on first use.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_DIR ?= demo-output
PYTEST_WORKERS ?= 2

.PHONY: demo test lint bench clean install

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	@# --no-compile: no bytecode for every file of every dependency at install (34 s of
	@# the 58 s measured); Python compiles only the modules it imports, on first import.
	$(BIN)/python -m pip install --quiet --no-compile -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/immunopet demo -o $(DEMO_DIR)

test: $(STAMP)
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist loadfile -q

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

bench: $(STAMP)
	@for b in benchmarks/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) $(DEMO_DIR) .pytest_cache build *.egg-info src/*.egg-info
