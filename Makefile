# Two entry points for a fresh machine (see README): `make run` and `make test`.
# Both create .venv/ and install the exact pins from requirements.lock.
VENV := .venv
PY := $(VENV)/bin/python
PYTHON ?= python3

.PHONY: setup run serve test lint bench system-deps test-tools

$(VENV)/.installed: requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements.lock
	# mediapipe's declared dependencies pull ~950 MiB (jax, ...) that Pose never uses: install it alone.
	$(PY) -m pip install -q --no-deps mediapipe==0.10.21
	$(PY) -m pip install -q --no-deps -e .
	touch $@

setup: $(VENV)/.installed

run: setup system-deps
	$(VENV)/bin/kneefix serve

# Debian's Chromium for the browser tests (Playwright never downloads a browser here).
# Without root or apt the browser tests skip and say why.
system-deps:
	@command -v chromium >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } \
	  || echo "warning: could not install Debian's chromium; the browser tests will be skipped"
	@ldconfig -p | grep -q libpangoft2 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libpangoft2-1.0-0 fonts-dejavu-core >/dev/null; } \
	  || echo "warning: could not install Pango; PDF handouts and reports need it (WeasyPrint)"

# Medplum's FHIR validator (Node.js, from the npm registry) for the FHIR tests' independent check;
# without npm those tests skip and say why.
tests/fhir_validator/node_modules/.installed: tests/fhir_validator/package-lock.json
	@command -v npm >/dev/null 2>&1 && npm ci --prefix tests/fhir_validator --no-audit --no-fund --silent && touch $@ \
	  || echo "warning: could not install the FHIR validator (npm); its tests will be skipped"

test-tools: tests/fhir_validator/node_modules/.installed

test: setup system-deps test-tools
	$(PY) -m pytest -n 2 -q

lint: setup
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/ruff format --check src tests bench
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports --no-cache

bench: setup
	$(PY) bench/run_all.py
