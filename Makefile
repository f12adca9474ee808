# The README's two commands: `make demo` (the main job on embedded defaults) and
# `make test` (the test suite). Both run scripts/setup.sh first, which is idempotent.
VENV ?= .venv
PY := $(VENV)/bin/python
export PYTHONUNBUFFERED := 1

.PHONY: setup demo test bench lint clean-sandboxes

setup:
	@bash scripts/setup.sh

demo: setup
	@$(PY) -m sandgym.demo

test: setup
	@$(VENV)/bin/sandgym model fetch
	@bash scripts/run_tests.sh

bench: setup
	@$(VENV)/bin/sandgym bench sandbox --json
	@$(VENV)/bin/sandgym bench grading --json

lint: setup
	@$(VENV)/bin/ruff check sandgym tests benchmarks examples

clean-sandboxes: setup
	@$(VENV)/bin/sandgym sandbox gc --all
