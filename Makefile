VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SOURCES := $(wildcard ledger commands projections consumers tests bench)
# Every dependency (and pip) at the version a fresh install resolved, so that installs are
# repeatable; `make constraints` resolves them afresh (docs/design.md, "Dependencies").
CONSTRAINTS := constraints.txt

.PHONY: install demo test check format lint types clean constraints

$(STAMP): pyproject.toml $(CONSTRAINTS)
	python3 -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade -c $(CONSTRAINTS) pip
	$(BIN)/python -m pip install -q -c $(CONSTRAINTS) -e '.[test]'
	touch $(STAMP)

# A throwaway virtual environment resolves pyproject.toml's ranges as a new machine would;
# its versions, the project itself and setuptools (the build's own business) left out,
# become the constraints.
constraints:
	fresh=$$(mktemp -d) && trap 'rm -rf "$$fresh"' EXIT && \
	python3 -m venv "$$fresh" && \
	"$$fresh/bin/python" -m pip install -q --upgrade pip && \
	"$$fresh/bin/python" -m pip install -q -e "$$PWD[test]" && \
	{ echo "# Written by make constraints from a fresh install of .[test]; do not edit by hand."; \
	  "$$fresh/bin/python" -m pip freeze --all --exclude complaint-ledger --exclude setuptools; \
	} > $(CONSTRAINTS)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/complaint-ledger demo

test: $(STAMP)
	$(BIN)/pytest -q

format: $(STAMP)
	$(BIN)/ruff format $(SOURCES)
	$(BIN)/ruff check --fix $(SOURCES)

lint: $(STAMP)
	$(BIN)/ruff format --check $(SOURCES)
	$(BIN)/ruff check $(SOURCES)

types: $(STAMP)
	$(BIN)/mypy

check: lint types test

clean:
	rm -rf $(VENV) *.egg-info .mypy_cache .ruff_cache .pytest_cache
