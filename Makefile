# Two commands for a fresh machine that has only python3:
#   make demo   the main job on the built-in defaults
#   make test   the whole test suite (what CI runs)
#   make test-fast  the unit tests only (no test marked slow): the edit loop, under 2 minutes
# Both create .venv when it is missing and install the project into it once (re-installed only
# when pyproject.toml changes).

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.figure_ml-installed

.PHONY: demo test test-fast lint install

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet --editable '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

# the DVC pipeline synth -> train -> eval -> export (dvc.yaml, params.yaml), then the per-class
# PHI-miss table and where the manifest, model card and ONNX files are
demo: $(STAMP)
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" DVC_NO_ANALYTICS=1 $(VENV)/bin/dvc repro
	$(PY) -m figure_ml.pipeline_summary
	@echo "dataset card:  data/synth/dvc/DATASET_CARD.md"
	@echo "all metrics:   $(VENV)/bin/dvc metrics show"
	@echo "compare runs:  notebooks/compare_runs.ipynb (MLflow store: sqlite:///mlruns/mlflow.db)"

test: $(STAMP)
	$(PY) -m ruff check src tests benchmarks
	$(PY) -m pytest -q

# markers: pyproject.toml [tool.pytest.ini_options] and README "Tests"
test-fast: $(STAMP)
	$(PY) -m ruff check src tests benchmarks
	$(PY) -m pytest -q -m "not slow"

lint: $(STAMP)
	$(PY) -m ruff check src tests benchmarks
	$(PY) -m ruff format --check src tests benchmarks
