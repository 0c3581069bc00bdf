# insar_ae: two commands.  `make serve` opens the dashboard; `make test` runs the suite.
PYTHON ?= python3.11
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
HOST   ?= localhost
PORT   ?= 5006
STAMP  := $(VENV)/.installed
EXPORTS ?= $(VENV)/exports

.PHONY: setup serve test lint browser clean bench train lab

$(PY):
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "Python 3.11 is required (set PYTHON=...)"; exit 1; }
	$(PYTHON) -m venv $(VENV)

# torch is pinned first: the CPU wheel lies on local disk; an unpinned torch would pull CUDA builds.
$(STAMP): $(PY) pyproject.toml
	$(PIP) install -q --upgrade pip
	$(PIP) install -q torch==2.13.0
	$(PIP) install -q -e ".[test,lab]"
	@touch $(STAMP)

setup: $(STAMP)

# Debian's Chromium for the browser tests (Playwright cannot download its own browser here).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "Installing Debian's chromium for the browser tests"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	  || echo "WARNING: could not install chromium; browser tests will be skipped"; }

# Large exports (the denoised cube) are written to EXPORTS and downloaded over plain HTTP.
serve: setup
	@mkdir -p $(EXPORTS)
	INSAR_AE_EXPORT_DIR=$(abspath $(EXPORTS)) $(VENV)/bin/panel serve app/main.py --address $(HOST) --port $(PORT) --allow-websocket-origin=$(HOST):$(PORT) --static-dirs exports=$(abspath $(EXPORTS)) --warm --show

# JupyterLab on the notebooks, with the .venv kernel (the package and the dashboard importable).
lab: setup
	$(VENV)/bin/jupyter lab notebooks/

# The project's own ruff config (pyproject.toml): lint and formatting, before the suite.
lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

test: setup browser lint
	$(PY) -m pytest -q

bench: setup
	$(PY) bench/generator.py

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
