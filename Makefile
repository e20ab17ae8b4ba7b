# Two commands set up everything on a fresh machine:
#   make book   -- create the environment if missing, build the website into _build/html
#   make test   -- create the environment if missing, run the whole test suite
# Everything else here is a step of those two.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
MATHJAX_VERSION := 3.2.2
MATHJAX := _vendor/mathjax/tex-chtml.js
# The environment's bin/ must be on PATH: nbgrader runs `alembic`, the book build runs kernels.
export PATH := $(CURDIR)/$(BIN):$(PATH)
# Tiny models run fastest on one thread (and a busy 2-core machine is slowed 10x by two).
export OMP_NUM_THREADS ?= 1

.PHONY: book test test-fast lint format exercises publish benchmarks clean env mathjax chromium bubblewrap

env: $(BIN)/.installed
mathjax: $(MATHJAX)

$(BIN)/.installed: pyproject.toml instructor/pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c constraints.txt -e ".[dev]" -e "./instructor[cluster]"
	touch $@

# MathJax is served from the site itself so that math renders offline (fetched from the npm registry).
$(MATHJAX):
	rm -rf _vendor/mathjax _vendor/.mathjax-tmp && mkdir -p _vendor/.mathjax-tmp
	cd _vendor/.mathjax-tmp && npm pack --silent mathjax@$(MATHJAX_VERSION) >/dev/null && tar xzf mathjax-$(MATHJAX_VERSION).tgz
	mv _vendor/.mathjax-tmp/package/es5 _vendor/mathjax && rm -rf _vendor/.mathjax-tmp

# The browser tests need Debian's chromium; installed here when missing and we may (root).
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	  else echo "Install Chromium first (Debian/Ubuntu: sudo apt-get install chromium)"; exit 1; fi; }

book: env mathjax
	$(BIN)/jupyter-book build . -W -n --keep-going
	@echo "Open _build/html/index.html"

# The grading sandbox (instructor/adl4cv_grading/sandbox.py) needs Debian's bubblewrap; the same way.
bubblewrap:
	@command -v bwrap >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap; \
	  else echo "Install bubblewrap first (Debian/Ubuntu: sudo apt-get install bubblewrap)"; exit 1; fi; }

test: env mathjax chromium bubblewrap
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest

# The quick loop while developing: no book build, no browser, no nbgrader round trips.
test-fast: env
	$(BIN)/python -m pytest -m "not slow"

lint: env
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: env
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

exercises: env
	$(BIN)/python -m adl4cv_grading.release --all

# The student repository (book, release notebooks, student package; no solutions, tests or judge).
# Standard library only: no environment needed (-I: not even this folder's or the user's packages).
publish:
	@test -n "$(DEST)" || { echo "usage: make publish DEST=path/to/empty/folder"; exit 1; }
	$(PYTHON) -I instructor/adl4cv_grading/publish.py "$(DEST)"

benchmarks: env mathjax
	for script in benchmarks/checks*.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done
	$(BIN)/python benchmarks/grading.py
	$(BIN)/python benchmarks/cluster.py
	$(BIN)/python benchmarks/book.py

clean:
	rm -rf _build
