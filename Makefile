# Two commands do everything on a fresh machine: `make serve` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
KG := $(VENV)/bin/kg
STORE ?= data/store
HOST ?= 127.0.0.1
PORT ?= 8000
STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed
BUILD_INPUTS := $(shell find ontology kg -type f \( -name '*.ttl' -o -name '*.txt' -o -name '*.html' -o -name '*.pdf' -o -name '*.py' \) 2>/dev/null)

.PHONY: install build serve test validate bench soak clean

install: $(STAMP) $(NODE_STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

# The query page's YASGUI files and the browser driver of its test, from the npm registry (package-lock.json).
# Without npm the page still works with its plain editor, and the browser tests say what to install.
$(NODE_STAMP): package.json package-lock.json
	@if command -v npm >/dev/null 2>&1; then npm ci --no-audit --no-fund && touch $@; \
	else echo "npm not found: the query page will use its plain editor (install Node.js and npm, then make install)"; fi

# The store is rebuilt when the ontology, the bundled declarations or the code change.
$(STORE)/.built: $(STAMP) $(BUILD_INPUTS)
	$(KG) build --store $(STORE)
	touch $@

build: $(STORE)/.built

serve: build $(NODE_STAMP)
	$(KG) serve --store $(STORE) --host $(HOST) --port $(PORT)

validate: $(STAMP)
	$(KG) validate

test: $(STAMP) $(NODE_STAMP)
	$(PY) -m pytest $(PYTEST_ARGS)

# The whole suite (1M and 10M, about 45 minutes on 2 cores; writes docs/benchmarks.md), or one part:
# make bench BENCH_ARGS="endpoint --triples 1000000"
# What it measures with, from Debian's packages when missing (as root): wrk (the load generator), Virtuoso (the
# scale-out comparison) and jemalloc (kg serve's allocator). Without them it uses its asyncio client, leaves
# Virtuoso out and serves with the system allocator, and the report says so.
BENCH_PACKAGES := wrk:wrk virtuoso-t:virtuoso-opensource
bench: $(STAMP)
	@need=(); for p in $(BENCH_PACKAGES); do command -v $${p%%:*} >/dev/null 2>&1 || need+=($${p#*:}); done; \
	ldconfig -p 2>/dev/null | grep -q 'libjemalloc\.so\.2' || need+=(libjemalloc2); \
	if [ $${#need[@]} -gt 0 ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$${need[@]}" \
	      || echo "bench: could not install $${need[*]}; measuring without them"; \
	  else echo "bench: cannot install $${need[*]} (not root or no apt-get); measuring without them"; fi; \
	fi
	$(PY) -m bench $(or $(BENCH_ARGS),all)

# Minutes of mixed load at 32 clients against kg serve (tests/test_soak.py; SOAK_SECONDS, default 180); results
# are recorded in docs/reliability.md.
soak: $(STAMP)
	$(PY) -m pytest -m soak tests/test_soak.py -s -p no:cacheprovider $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) data build *.egg-info node_modules
