# The two commands a newcomer needs: `make report` and `make test`. Both create .venv/ first.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: venv test test-fast report lint format bench clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test,dask]'
	touch $(STAMP)

# two test workers (pytest-xdist), each taking whole files: a module's fixtures and a
# notebook's cells stay together; TEST_WORKERS=0 runs everything in this process
TEST_WORKERS ?= 2
test: venv
	$(PY) -m pytest -q -n $(TEST_WORKERS) --dist loadfile

test-fast: venv
	$(PY) -m pytest -q -m "not slow"

# the default comparison: business as usual against three playbooks from the seed articles
REPORT_POLICIES := bau_default playbook_software playbook_fashion playbook_loyalty_app
report: venv
	$(VENV)/bin/retention-sim report params/scenarios/default.yaml \
		$(foreach p,$(REPORT_POLICIES),-p params/policies/$(p).yaml) \
		--replications 10 --customers 10000 --days 365 \
		--title "Default retailer: business as usual against the seed playbooks" \
		--out reports/default

lint: venv
	$(VENV)/bin/ruff check retention_sim tests benchmarks
	$(VENV)/bin/ruff format --check retention_sim tests benchmarks
	$(VENV)/bin/mypy

format: venv
	$(VENV)/bin/ruff format retention_sim tests benchmarks
	$(VENV)/bin/ruff check --fix retention_sim tests benchmarks

bench: venv
	$(VENV)/bin/retention-sim bench

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache build *.egg-info
