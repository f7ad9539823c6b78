# Two commands do everything on a fresh machine:  make run   /   make test
# Inner loop while editing: make test-fast (everything but the tests marked slow, under a minute)
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: run test test-fast lint bench bench-smoke clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[dev]"
	touch $(STAMP)

run: $(STAMP)
	$(PY) -m segstudio $(ARGS)

test: $(STAMP)
	$(VENV)/bin/ruff check segstudio tests benchmarks
	$(VENV)/bin/lint-imports
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest -q $(PYTEST_ARGS)

test-fast: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest -q -m "not slow" $(PYTEST_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check segstudio tests benchmarks
	$(VENV)/bin/lint-imports

bench: $(STAMP)
	for f in benchmarks/bench_*.py; do echo "== $$f"; QT_QPA_PLATFORM=offscreen $(PY) $$f || exit 1; done

# seconds per script: each benchmark still runs (the test suite does the same, tests/benchmarks/)
bench-smoke: $(STAMP)
	for f in benchmarks/bench_*.py; do echo "== $$f"; QT_QPA_PLATFORM=offscreen $(PY) $$f --smoke || exit 1; done

clean:
	rm -rf $(VENV) build dist *.egg-info
