# Set-up and everyday commands. `make demo` and `make test` work on a fresh machine
# with Python 3.11+ and make: they create the virtual environment themselves.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: install demo test serve bench mutation clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

# SQLite database in instance/, demo data, web UI on http://127.0.0.1:5000 (another port: make demo PORT=5001)
PORT ?= 5000
demo: $(STAMP)
	$(BIN)/inkl demo --port $(PORT)

# The whole suite on SQLite; also on PostgreSQL when INKL_TEST_POSTGRES_URL is set (CI sets it).
test: $(STAMP)
	$(BIN)/python -m pytest

serve: $(STAMP)
	$(BIN)/inkl serve --port $(PORT)

# Benchmarks (not part of `test`): data sets of 10 000, 100 000 and 1 000 000 postings on
# SQLite and PostgreSQL (database inkl_bench, dropped and recreated); table on stdout,
# JSON in bench/results/latest.json. E.g. make bench BENCH_ARGS="--sizes 10000 --db sqlite"
BENCH_ARGS ?=
bench: $(STAMP)
	$(BIN)/python -m bench $(BENCH_ARGS)

# Mutation testing (not part of `test`: about 20 minutes on 2 cores), docs/mutation-testing.md: mutmut in
# its own environment over the modules and with the fast tests named in pyproject.toml [tool.mutmut], on SQLite.
MUTVENV := .venv-mutation
mutation:
	$(PYTHON) -m venv $(MUTVENV)
	$(MUTVENV)/bin/python -m pip install --quiet 'mutmut==3.8.1' -e '.[test]'
	rm -rf mutants
	env -u INKL_TEST_POSTGRES_URL -u CI nice -n 10 $(MUTVENV)/bin/mutmut run --max-children 2; \
	$(MUTVENV)/bin/mutmut results

clean:
	rm -rf $(VENV) $(MUTVENV) mutants *.egg-info .pytest_cache .hypothesis
