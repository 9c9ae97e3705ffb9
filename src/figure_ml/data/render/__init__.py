"""Procedural renderers of clinical photo scenes with PHI (see :mod:`.scene`)."""
