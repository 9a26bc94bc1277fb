# Two commands do all the set-up on a fresh clone with Python 3.11+:
#   make dev    start SmartQueue on the embedded default (PostgreSQL under ./var)
#   make test   run every test (unit, integration on a real PostgreSQL, end-to-end over HTTP)
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)

.PHONY: install browser dev test lint bench clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "SmartQueue needs Python 3.11 or newer")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	@rm -f $(VENV)/.installed-*
	@touch $@

install: $(STAMP)

# The page tests drive Debian's Chromium through Playwright (which never downloads a browser
# here); installed once, with apt, when missing. SMARTQUEUE_CHROMIUM names another binary.
browser:
	@command -v $${SMARTQUEUE_CHROMIUM:-chromium} >/dev/null || { \
	  echo "installing Debian's chromium for the page tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium; \
	} </dev/null

dev: install
	$(BIN)/smartqueue dev $(ARGS)

test: install browser
	$(BIN)/pytest $(ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/lint-imports

bench: install
	$(BIN)/python bench/write_path.py $(ARGS)

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache .hypothesis
