# The README's commands. Each creates .venv with the pinned requirements it needs.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
DB := $(or $(AIMS_DB),data/aims.duckdb)
PORT ?= 8501
# pytest-xdist workers: the suite runs on two cores in CI
WORKERS ?= 2

.PHONY: run test test-fast bench lint

$(VENV)/.run-installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

$(VENV)/.dev-installed: requirements.txt requirements-dev.txt $(VENV)/.run-installed
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

run: $(VENV)/.run-installed
	@test -f "$(DB)" || $(PY) -m aims_metrics --db "$(DB)" init --demo
	AIMS_DB="$(DB)" $(PY) -m streamlit run app.py --server.address localhost --server.port $(PORT)

test: $(VENV)/.dev-installed
	$(PY) -m pytest -n $(WORKERS)

# the edit loop: no browser, no slow tests
test-fast: $(VENV)/.dev-installed
	$(PY) -m pytest -n $(WORKERS) -m "not browser and not slow"

bench: $(VENV)/.dev-installed
	$(PY) -m bench

lint: $(VENV)/.dev-installed
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
