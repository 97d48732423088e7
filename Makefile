# HgWatch: two set-up commands, `make run` and `make test`. Both work on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
WORKSPACE := data/demo_workspace.gpkg

.PHONY: install run test test-deps lint demo bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.runtime: requirements.txt pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $@

# Shared set-up: pinned runtime packages, the demo workspace (if missing), the map's front-end
# files (Leaflet from PyPI; protomaps-leaflet, pmtiles and pbf from the npm registry, so npm is needed),
# and HgWatch's own modules compiled (a shell or image with PYTHONDONTWRITEBYTECODE otherwise compiles
# them on every command: about 0.1-0.2 s of each start).
install: $(VENV)/.runtime
	@test -f $(WORKSPACE) || $(BIN)/python scripts/build_demo.py --out $(WORKSPACE)
	@command -v npm >/dev/null 2>&1 || { apt-get -o DPkg::Lock::Timeout=600 update -qq && apt-get -o DPkg::Lock::Timeout=600 install -y -qq npm >/dev/null; }
	$(BIN)/python scripts/install_assets.py --require-npm
	$(BIN)/python -m compileall -q -j 0 cli.py app.py served_app.py api commands geo layers render services settings ui

# The dashboard (http://localhost:8501) and the partner API (http://localhost:8502), one command;
# Ctrl-C stops both (cli.py serve). `streamlit run app.py` alone still works.
run: install
	$(BIN)/python cli.py serve

$(VENV)/.dev: requirements-dev.txt $(VENV)/.runtime
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $@

# Test-only system packages: Debian's Chromium for the one real-browser test, and PostgreSQL 15
# with PostGIS 3 for the PostGIS store tests (tests/postgis.py starts a throwaway server).
PG_BIN := /usr/lib/postgresql/15/bin
POSTGIS_CONTROL := /usr/share/postgresql/15/extension/postgis.control
# QGIS 3.22 for Debian's /usr/bin/python3 (python3-qgis) with its PostGIS provider (qgis-providers): tests/test_qgis.py
QGIS_POSTGRES := /usr/lib/qgis/plugins/libprovider_postgres.so
test-deps: $(VENV)/.dev
	@command -v chromium >/dev/null 2>&1 || { apt-get -o DPkg::Lock::Timeout=600 update -qq && apt-get -o DPkg::Lock::Timeout=600 install -y -qq chromium >/dev/null; }
	@{ test -x $(PG_BIN)/initdb && test -f $(POSTGIS_CONTROL); } || { apt-get -o DPkg::Lock::Timeout=600 update -qq && DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq postgresql-15-postgis-3 >/dev/null; }
	@{ /usr/bin/python3 -c 'import qgis.core' 2>/dev/null && test -f $(QGIS_POSTGRES); } || { apt-get -o DPkg::Lock::Timeout=600 update -qq && DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq python3-qgis qgis-providers >/dev/null; }

# Lint and types first (seconds), then the suite. A lint or type error fails `make test`.
lint: $(VENV)/.dev
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/vulture

test: install test-deps lint
	$(BIN)/python -m pytest -n 2 -q tests

demo: $(VENV)/.runtime
	$(BIN)/python scripts/build_demo.py --out $(WORKSPACE) --force

# Benchmarks print figures and ratios; they are not tests (README, benchmarks/README.md).
bench: install test-deps
	$(BIN)/python benchmarks/bench_rules.py
	$(BIN)/python benchmarks/bench_surface.py
	$(BIN)/python benchmarks/bench_inventory.py
	$(BIN)/python benchmarks/bench_map.py

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
