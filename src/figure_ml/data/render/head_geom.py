"""Where things sit on a head patch: centre, half axes, pose and pixel grids."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class HeadGeom:
    """A head on a square ``size`` patch whose face (hairline to chin) is ``hh`` px tall.

    Yaw is modelled on an ellipsoid: a feature at angle ``phi`` around the vertical axis lands at
    ``sin(phi + yaw)`` and is foreshortened by ``cos(phi + yaw)``.
    """

    size: int
    hh: float
    cx: float
    cy: float
    a: float  # half width of the face
    b: float  # half height of the face
    yaw: float
    light: float  # key light direction (radians, 0 = frontal)
    xx: np.ndarray  # (1, size) column coordinates; broadcasts against yy
    yy: np.ndarray  # (size, 1) row coordinates

    def px(self, phi: float, depth: float = 1.0) -> tuple[float, float]:
        """Patch x of a feature at ``phi`` (``depth`` x the face half width) and its cos."""
        return self.cx + self.a * depth * np.sin(phi + self.yaw), float(np.cos(phi + self.yaw))
