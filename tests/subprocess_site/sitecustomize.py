"""Imported by Python at start-up in every process the test suite starts (tests only).

``tests/conftest.py`` prepends this folder to ``PYTHONPATH`` and sets ``FIGURE_ML_NETBLOCK=1``
for the whole session, so ``python -m figure_ml....``, ``dvc`` and its stages, the notebook
kernel and the MLflow server all run with the network blocked except loopback (see
:mod:`figure_ml_netblock`). A ``sitecustomize`` further down ``sys.path`` still runs: Python
imports only the first one, so this file hands over to it.
"""

import importlib.machinery
import importlib.util
import os
import sys

import figure_ml_netblock

if os.environ.get(figure_ml_netblock.ENV_SWITCH) == "1":
    figure_ml_netblock.install()


def _chain() -> None:
    here = os.path.dirname(os.path.abspath(__file__))
    rest = [p for p in sys.path if os.path.abspath(p or os.curdir) != here]
    spec = importlib.machinery.PathFinder.find_spec("sitecustomize", rest)
    if spec is not None and spec.loader is not None and spec.origin != os.path.abspath(__file__):
        spec.loader.exec_module(importlib.util.module_from_spec(spec))


_chain()
