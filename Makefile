# Tipline: `make run` serves a demo instance; `make test` runs the whole suite.
# Both work from a fresh clone on a machine with Python 3.11+ and Node 20+.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
PY_STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed
INTAKE_BUNDLE := static/build/intake.js
HOST ?= 127.0.0.1
PORT ?= 5000
PYTEST_ARGS ?= -n 2

export TIPLINE_DATA_DIR ?= $(CURDIR)/instance

.PHONY: install run test lint format lock clean

install: $(PY_STAMP) $(NODE_STAMP) $(INTAKE_BUNDLE)

# Python dependencies are pinned with hashes; pip refuses anything that does not match.
$(PY_STAMP): requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --require-hashes -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $@

# npm dependencies come exactly from package-lock.json.
$(NODE_STAMP): package-lock.json package.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# The report page's intake: static/js/intake.mjs and all it imports bundled into one file by the
# pinned esbuild (app/web/vendor.py says why). Rebuilt whenever a module or node_modules changes;
# the app refuses to serve a bundle older than a module.
$(INTAKE_BUNDLE): $(wildcard static/js/*.mjs) scripts/build_intake.sh $(NODE_STAMP)
	sh scripts/build_intake.sh $@

run: install
	TIPLINE_ENV=$${TIPLINE_ENV:-development} $(BIN)/tipline demo --host $(HOST) --port $(PORT)
	TIPLINE_ENV=$${TIPLINE_ENV:-development} $(BIN)/tipline serve --host $(HOST) --port $(PORT)

test: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Regenerate the hash-pinned lock after editing pyproject.toml (needs uv or pip-tools).
lock:
	uv pip compile pyproject.toml --extra dev --generate-hashes --python-version 3.11 \
		--python-platform x86_64-manylinux_2_28 -o requirements.lock

clean:
	rm -rf $(VENV) node_modules static/build .pytest_cache .mypy_cache .ruff_cache
