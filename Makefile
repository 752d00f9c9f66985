# wangge: `make demo` serves the demo street, `make test` runs the whole suite.
# Both run `make setup` first (idempotent, quick when nothing changed).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: setup system-packages demo test lint typecheck bench clean

setup: system-packages $(STAMP)

system-packages:
	@scripts/ensure-system-packages.sh

$(STAMP): pyproject.toml | system-packages
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $(STAMP)

demo: setup
	$(BIN)/wangge db start
	$(BIN)/wangge demo load
	$(BIN)/wangge demo keys
	$(BIN)/wangge serve

test: setup lint typecheck
	$(BIN)/pytest

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: setup
	$(BIN)/mypy gis api

bench: setup
	$(BIN)/python bench/import.py
	$(BIN)/python bench/assign.py
	$(BIN)/python bench/maps.py  # maps (issue 15)
	$(BIN)/python bench/geocode.py
	$(BIN)/python bench/ogc.py
	$(BIN)/python bench/coverage_report.py
	$(BIN)/python bench/intake.py
	$(BIN)/python bench/load.py  # reliability under load (issue 16)

clean:
	-$(BIN)/wangge db destroy --yes
	rm -rf $(VENV) .wangge
