"""Typed errors of the library. Only the ``__main__`` modules turn them into exit codes."""

from __future__ import annotations


class FigureMLError(Exception):
    """Base class of every error the library raises on purpose."""


class ConfigError(FigureMLError, ValueError):
    """A configuration value is missing, of the wrong type or impossible."""


class DatasetError(FigureMLError):
    """A dataset on disk is missing, malformed or not what the caller expected."""


class BadInputError(FigureMLError):
    """An input file (image, label, weights) cannot be used; the message names file and problem."""
