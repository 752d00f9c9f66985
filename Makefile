# wangge: `make demo` serves the demo street, `make test` runs the whole suite.
# Both run `make setup` first (idempotent, quick when nothing changed).

SHELL  := /bin/bash
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
LOCK   := requirements.lock
# One lock for every platform and Python >= 3.11, exact versions with PyPI's hashes (uv resolves
# from PyPI, its default index, whatever pip's configuration on this machine says).
LOCK_ARGS := pyproject.toml --extra dev --universal --generate-hashes --python-version 3.11 \
	-o $(LOCK)

.PHONY: setup system-packages lock demo test lint typecheck imports docs bench clean

setup: system-packages $(STAMP)

system-packages:
	@scripts/ensure-system-packages.sh

# Installs exactly the lock (hashes checked), then the project itself without its dependencies,
# then checks that what is installed is exactly what the lock pins.
$(STAMP): pyproject.toml $(LOCK) | system-packages
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --require-hashes --no-deps -r $(LOCK)
	$(BIN)/pip install --quiet --no-deps --no-build-isolation -e .
	$(BIN)/python scripts/check_lock.py
	@touch $(STAMP)

# Refresh the lock after editing pyproject.toml's dependencies (newest versions PyPI serves).
lock:
	@test -x $(BIN)/uv || { $(PYTHON) -m venv $(VENV) && $(BIN)/pip install --quiet uv; }
	$(BIN)/uv pip compile --quiet $(LOCK_ARGS)

demo: setup
	$(BIN)/wangge db start
	$(BIN)/wangge demo load
	$(BIN)/wangge demo keys
	$(BIN)/wangge serve

# The suite runs on every core (pytest-xdist; PYTEST_ARGS="-n 0" runs it in one process); its
# wall time (and the machine's load) is printed last.
PYTEST_ARGS ?= -n auto
test: setup lint typecheck imports docs
	@start=$$(date +%s); $(BIN)/pytest $(PYTEST_ARGS); rc=$$?; \
	echo "make test: pytest took $$(( $$(date +%s) - start )) s wall time on $$(nproc) cores" \
	     "(load average $$(cut -d' ' -f1-3 /proc/loadavg) at the end)"; exit $$rc

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: setup
	$(BIN)/mypy gis api

# The documentation site, built strictly (a broken link or a warning fails) into site/.
docs: setup
	$(BIN)/mkdocs build --strict 2>&1 | grep -v "^INFO" ; test $${PIPESTATUS[0]} -eq 0

# The import contracts of pyproject.toml ([tool.importlinter]) over the whole graph.
imports: setup
	$(BIN)/lint-imports --no-cache

bench: setup
	@scripts/ensure-system-packages.sh wrk  # the load generator of bench/serve.py
	$(BIN)/python bench/import.py
	$(BIN)/python bench/assign.py
	$(BIN)/python bench/maps.py  # map pages
	$(BIN)/python bench/geocode.py
	$(BIN)/python bench/ogc.py
	$(BIN)/python bench/coverage_report.py
	$(BIN)/python bench/intake.py
	$(BIN)/python bench/load.py  # reliability under load
	$(BIN)/python bench/patrols.py  # visited buildings: a city's day of patrols (issue 27)
	$(BIN)/python bench/field.py  # a field worker's "my work" page on a phone
	$(BIN)/python bench/stats.py  # statistics, dashboard data and exports over 1M incidents
	$(BIN)/python bench/events.py  # the outbox's cost to intake, webhook latency
	$(BIN)/python bench/serve.py  # per-request cost and memory per worker

clean:
	-$(BIN)/wangge db destroy --yes
	rm -rf $(VENV) .wangge
