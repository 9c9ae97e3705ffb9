# Two commands for a fresh machine that has only python3:
#   make demo   the main job on the built-in defaults
#   make test   the whole test suite
# Both create .venv when it is missing and install the project into it once (re-installed only
# when pyproject.toml changes).

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.figure_ml-installed

.PHONY: demo test lint install clean-demo

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet --editable '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(PY) -m figure_ml.data.synth
	@echo "dataset card:  data/synth/default/DATASET_CARD.md"
	@echo "contact sheet: data/synth/default/contact_sheet.png"
	$(PY) -m figure_ml.train
	@echo "trained model: the newest runs/train/<time>-cpu_default/weights/best.pt"
	@echo "MLflow UI:     $(VENV)/bin/mlflow ui --backend-store-uri sqlite:///mlruns/mlflow.db"

test: $(STAMP)
	$(PY) -m ruff check src tests benchmarks
	$(PY) -m pytest -q

lint: $(STAMP)
	$(PY) -m ruff check src tests benchmarks
	$(PY) -m ruff format --check src tests benchmarks
