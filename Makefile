# Two commands do all the set-up on a fresh clone with Python 3.11+:
#   make dev    start SmartQueue on the embedded default (PostgreSQL, Redis, Kafka broker under ./var)
#   make test   run every test, in parallel (unit, integration on real services, end-to-end, browser)
# `make help` lists every target.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)

# pytest-xdist workers for `make test`: each starts its own embedded PostgreSQL, Redis and broker,
# and its end-to-end tests a whole SmartQueue (APIs, relay, gateway, projections). One per core:
# at one more, on two cores, the machine ran at a load of 7-14 and the live tests' latency bounds
# (a call on a display within 2 s) failed for want of CPU, not of correctness.
JOBS ?= $(shell $(PYTHON) -c 'import os; print(os.cpu_count() or 1)')

.PHONY: help install browser dev test test-fast lint bench vendor clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "SmartQueue needs Python 3.11 or newer")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	@rm -f $(VENV)/.installed-*
	@touch $@

install: $(STAMP) ## create .venv and install SmartQueue with its dev tools

# The page tests drive Debian's Chromium through Playwright (which never downloads a browser
# here); installed once, with apt, when missing. SMARTQUEUE_CHROMIUM names another binary.
browser: ## install Debian's chromium for the page tests, when missing
	@command -v $${SMARTQUEUE_CHROMIUM:-chromium} >/dev/null || { \
	  echo "installing Debian's chromium for the page tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium; \
	} </dev/null

dev: install ## run every role on the embedded services (keeps the terminal; Ctrl-C stops)
	$(BIN)/smartqueue dev $(ARGS)

test: install browser ## run the whole suite in parallel (ARGS="..." passes pytest options)
	$(BIN)/pytest -n $(JOBS) --dist loadfile --no-loadscope-reorder $(ARGS)

test-fast: install ## the unit tests only: seconds, no services
	$(BIN)/pytest -q tests/unit $(ARGS)

lint: install ## ruff and the import-linter layering contracts
	$(BIN)/ruff check .
	$(BIN)/lint-imports

bench: install ## the write-path benchmark (see docs/benchmarks.md for the others)
	$(BIN)/python bench/write_path.py $(ARGS)

# The dashboard's chart library, from its npm package (pinned version and sha512 in the script);
# the copied files are committed, so only whoever upgrades it needs npm.
vendor: ## copy uPlot from its npm package (integrity checked) into interfaces/http/static/
	deploy/vendor.sh

clean: ## delete .venv AND ./var: the embedded data and the local JWT signing key
	rm -rf $(VENV) var .pytest_cache .ruff_cache .hypothesis
