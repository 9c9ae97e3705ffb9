"""Training stage: ``python -m figure_ml.train`` (Hydra) over the plain :func:`train`."""

from figure_ml.train.run import RunInterrupted, TrainResult, resume, train

__all__ = ["RunInterrupted", "TrainResult", "resume", "train"]
