"""The reference redactor: numpy + onnxruntime + pillow (+ OpenCV's resize); no torch.

Library::

    from figure_ml.redact import Redactor
    redactor = Redactor.from_manifest("model/manifest.json")
    redacted, detections = redactor.redact(rgb_uint8_array)

CLI: ``python -m figure_ml.redact --manifest X/manifest.json --out OUTDIR INPUT...``.
"""

from figure_ml.redact.redactor import Redactor, Result
from figure_ml.redact.styles import STYLES

__all__ = ["STYLES", "Redactor", "Result"]
