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
BUILD_INPUTS := $(shell find ontology kg -type f \( -name '*.ttl' -o -name '*.txt' -o -name '*.html' -o -name '*.pdf' -o -name '*.py' \) 2>/dev/null)

.PHONY: install build serve test validate bench clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

# The store is rebuilt when the ontology, the bundled declarations or the code change.
$(STORE)/.built: $(STAMP) $(BUILD_INPUTS)
	$(KG) build --store $(STORE)
	touch $@

build: $(STORE)/.built

serve: build
	$(KG) serve --store $(STORE) --host $(HOST) --port $(PORT)

validate: $(STAMP)
	$(KG) validate

test: $(STAMP)
	$(PY) -m pytest $(PYTEST_ARGS)

bench: $(STAMP)
	$(PY) -m bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) data build *.egg-info
