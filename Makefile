# Two entry points, both documented at the top of README.md:
#   make demo   create .venv, install netgrade, run the built-in example
#   make test   install the test extras and run the whole suite
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
TSTAMP := $(VENV)/.installed-test

.PHONY: demo test clean bench chromium

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(TSTAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $@ $(STAMP)

demo: $(STAMP)
	$(BIN)/netgrade demo --output demo-output

# The browser test drives Debian's chromium (Playwright's Python package, system browser).
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing Debian's chromium for the browser test"; \
	  SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$SUDO apt-get update -qq && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

test: $(TSTAMP) chromium
	$(BIN)/python -m pytest -q

bench: $(TSTAMP)
	$(BIN)/python benchmarks/run.py
	$(BIN)/python benchmarks/network.py

clean:
	rm -rf $(VENV) demo-output .pytest_cache test-artifacts
