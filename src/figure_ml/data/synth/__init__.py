"""The procedural PHI dataset generator (``python -m figure_ml.data.synth``)."""

from figure_ml.data.synth.generator import generate, spec_from_config

__all__ = ["generate", "spec_from_config"]
