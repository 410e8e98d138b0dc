# aprior: the two commands a newcomer needs are `make demo` and `make test`.
# Both create (or reuse) the virtual environment in $(VENV) and install the package with the
# exact versions in constraints/ci.txt (the CPU build of torch on machines without a GPU).

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
STAMP := $(VENV)/.aprior-installed
CORES ?= 2
DEMO_OUT ?= demo-output
PYTEST_ARGS ?=

.PHONY: install test lint demo bench clean help

help:
	@echo "make demo   - install, then run the Snakemake workflow on the simulated study"
	@echo "make test   - install, then lint (ruff) and run the test suite"
	@echo "make bench  - run the performance benchmark (needs the 'bench' extra)"

$(STAMP): pyproject.toml constraints/ci.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints/ci.txt -e ".[test,workflow,combat]"
	touch $(STAMP)

install: $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check aprior_cli tests workflows

test: $(STAMP)
	$(BIN)/ruff check aprior_cli tests workflows
	$(BIN)/pytest -n $(CORES) $(PYTEST_ARGS)

demo: $(STAMP)
	cd workflows && ../$(BIN)/snakemake --cores $(CORES) --profile profiles/default \
		--directory "$(abspath $(DEMO_OUT))" --configfile config/config.yaml
	@echo "Report: $(DEMO_OUT)/results/report/report.html"

bench: $(STAMP)
	$(PY) -m pip install --quiet -c constraints/ci.txt -e ".[bench]"
	$(BIN)/aprior bench --threads 2
	$(PY) tests/benchmarks/bench_graph.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache $(DEMO_OUT)
