"""The redactor a server embeds: manifest + ONNX file in, redacted pixels and boxes out.

It loads only ``manifest.json`` and the ONNX artifact it names, through
:func:`figure_ml.manifest.load` (schema, size and SHA-256 checked: a model that is not the one
evaluated is refused). Detection is :class:`figure_ml.onnx_detect.OnnxDetector` and
:func:`figure_ml.tiling.detect_tiled`, and the rectangles hidden are
:func:`figure_ml.eval.redaction.redaction_mask` — the exact code the evaluator measures, so
the miss rate in the manifest is the miss rate of this redactor. No torch, no ultralytics.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from figure_ml.classes import CLASS_NAMES
from figure_ml.errors import BadInputError
from figure_ml.eval.records import Detections
from figure_ml.eval.redaction import redaction_mask
from figure_ml.imageio import decode_image
from figure_ml.manifest import Manifest, ManifestError, load
from figure_ml.redact import encode as enc
from figure_ml.redact.styles import STYLES, apply_style
from figure_ml.tiling import TilingPolicy, detect_tiled, tile_windows

log = logging.getLogger(__name__)

TILE_MODES = ("auto", "on", "off")


@dataclass
class Result:
    """What one photo's redaction produced, for the caller and the JSON sidecar."""

    image: np.ndarray  # redacted RGB uint8
    detections: Detections  # the detections hidden (score >= their class threshold)
    rects: np.ndarray  # (N, 4) padded, clipped rectangles actually hidden
    strategy: dict[str, Any] = field(default_factory=dict)

    def sidecar(self, redactor: Redactor, **extra: Any) -> dict[str, Any]:
        d = self.detections
        h, w = self.image.shape[:2]
        return {
            **extra,
            "width": w,
            "height": h,
            "style": redactor.style,
            "strategy": self.strategy,
            "model": redactor.model_info,
            "thresholds": dict(zip(CLASS_NAMES, redactor.thresholds.tolist(), strict=True)),
            "padding": dict(zip(CLASS_NAMES, redactor.padding.tolist(), strict=True)),
            "detections": [
                {
                    "class": CLASS_NAMES[int(c)],
                    "class_id": int(c),
                    "score": round(float(s), 6),
                    "box": [round(float(v), 2) for v in b],
                    "redacted_box": [round(float(v), 2) for v in r],
                }
                for b, s, c, r in zip(d.boxes, d.scores, d.classes, self.rects, strict=True)
            ],
        }


class Redactor:
    """Detect PHI with an exported model and hide it. Build with :meth:`from_manifest`."""

    def __init__(
        self,
        detector,
        *,
        thresholds: np.ndarray,
        padding: np.ndarray,
        policy: TilingPolicy,
        style: str = "fill",
        model_info: dict[str, Any] | None = None,
    ) -> None:
        if style not in STYLES:
            raise ValueError(f"unknown style {style!r}; expected one of {STYLES}")
        self.detector = detector
        self.thresholds = np.asarray(thresholds, np.float64)
        self.padding = np.asarray(padding, np.float64)
        self.policy = policy
        self.style = style
        self.model_info = model_info or {}

    @classmethod
    def from_manifest(
        cls,
        path: str | Path,
        *,
        artifact: str | None = None,
        precision: str | None = None,
        style: str = "fill",
        tiles: str | None = None,
        tile: int | None = None,
        overlap: float | None = None,
        min_long_side: int | None = None,
        threads: int | None = None,
    ) -> Redactor:
        """Load a manifest (file or folder) and its ONNX artifact, verified by SHA-256.

        ``artifact`` names one (default: the first ONNX, or the first of ``precision``).
        ``tiles`` (``auto``/``on``/``off``) and ``tile``/``overlap``/``min_long_side``
        override the manifest's tiling policy.
        """
        m = load(path, verify=False)
        a = m.artifact(artifact) if artifact else _first_onnx(m, precision)
        if a["format"] != "onnx":
            raise ManifestError(f"{m.path}: artifact {a['name']!r} is {a['format']}, not onnx")
        # verify only the file we run: other artifacts (ORT for phones, .pt) may be absent here
        m = load(m.path, verify=[a["name"]])
        return cls(
            _detector(m, a, threads),
            thresholds=np.array(m.thresholds()),
            padding=np.array(m.padding()),
            policy=_policy(m, tiles, tile, overlap, min_long_side),
            style=style,
            model_info={
                "manifest": m.data["name"],
                "artifact": a["name"],
                "file": a["file"],
                "precision": a["precision"],
                "sha256": a["sha256"],
            },
        )

    def detect(self, image: np.ndarray) -> tuple[Detections, dict[str, Any]]:
        """All detections of an RGB uint8 image (whole-image pass, plus tiles when the policy
        applies) and a description of the strategy used."""
        h, w = image.shape[:2]
        tiled = self.policy.applies(w, h)
        boxes, scores, classes = detect_tiled(image, self.detector.detect, self.policy)
        strategy: dict[str, Any] = {"name": "tiled" if tiled else "whole"}
        if tiled:
            p = self.policy
            n = len(tile_windows(w, h, p.tile, p.overlap))
            strategy.update(tile=p.tile, overlap=p.overlap, tiles=n, merge_iou=p.merge_iou)
        return Detections(boxes, scores, classes), strategy

    def redact_full(self, image: np.ndarray) -> Result:
        """Detect and hide; the :class:`Result` carries everything the sidecar records."""
        image = _as_rgb(image)
        h, w = image.shape[:2]
        det, strategy = self.detect(image)
        hidden = det.select(det.scores >= self.thresholds[det.classes])
        # exactly the evaluator's mask: same >= thresholds, same padding, same clipping
        rects = redaction_mask(det, self.thresholds, self.padding, w, h)
        return Result(apply_style(image, rects, self.style), hidden, rects, strategy)

    def redact(self, image: np.ndarray) -> tuple[np.ndarray, Detections]:
        """``(redacted RGB uint8 image, detections hidden)`` of an RGB uint8 image."""
        r = self.redact_full(image)
        return r.image, r.detections

    def redact_encoded(self, data: bytes, name: str = "image.jpg") -> tuple[bytes, str, Result]:
        """Decode (EXIF orientation applied), redact, re-encode without metadata.

        Returns ``(encoded bytes, output suffix, result)``; ``name`` picks the format.
        """
        image = decode_image(data, name=name)
        result = self.redact_full(image)
        fmt, suffix = enc.output_format(name)
        return enc.encode(result.image, fmt), suffix, result


def _as_rgb(image: np.ndarray) -> np.ndarray:
    a = np.asarray(image)
    if a.dtype != np.uint8 or a.ndim != 3 or a.shape[2] != 3:
        raise BadInputError(
            f"expected an (H, W, 3) uint8 RGB array, got {a.dtype} {a.shape};"
            " decode files with figure_ml.imageio.decode_image"
        )
    return a


def _first_onnx(m: Manifest, precision: str | None) -> dict[str, Any]:
    # not Manifest.artifact(precision=...): that may return the phones' .ort file first
    for a in m.data["artifacts"]:
        if a["format"] == "onnx" and precision in (None, a["precision"]):
            return a
    what = f"ONNX artifact of precision {precision}" if precision else "ONNX artifact"
    raise ManifestError(f"{m.path}: no {what}")


def _detector(m: Manifest, a: dict[str, Any], threads: int | None):
    from figure_ml.onnx_detect import OnnxDetector

    out = m.data["output"]
    # run the model at the lowest operating threshold: greedy class-aware NMS keeps exactly
    # the same boxes above each class's threshold as a run at the evaluator's 0.001 would
    # (a box is only suppressed by a higher-scoring one of its class), and it is faster
    conf = max(0.0, float(min(m.thresholds())) - 1e-6)
    try:
        det = OnnxDetector(
            str(m.artifact_path(a)),
            conf=conf,
            iou=float(out["nms_iou"]),
            max_det=int(out["max_det"]),
            threads=threads,
            imgsz=int(m.data["input"]["size"]),
            layout=out["layout"],
        )
    except ValueError as exc:
        raise ManifestError(f"{m.path}: {exc}") from exc
    except Exception as exc:  # onnxruntime raises its own exception types
        raise ManifestError(f"{m.artifact_path(a)}: onnxruntime cannot load it ({exc})") from exc
    shape = det.session.get_outputs()[0].shape
    if det.layout == "yolo_raw" and isinstance(shape[1], int) and shape[1] != 4 + len(CLASS_NAMES):
        # more score columns than classes would index past the per-class thresholds
        raise ManifestError(
            f"{m.artifact_path(a)}: output has {shape[1] - 4} class scores, the manifest"
            f" {len(CLASS_NAMES)} classes"
        )
    return det


def _policy(m: Manifest, mode, tile, overlap, min_long_side) -> TilingPolicy:
    size = int(m.data["input"]["size"])
    base = TilingPolicy(**m.data["tiling"]) if "tiling" in m.data else TilingPolicy(tile=size)
    if mode is not None and mode not in TILE_MODES:
        raise ValueError(f"unknown tiles mode {mode!r}; expected one of {TILE_MODES}")
    changes = {
        k: v
        for k, v in {
            "mode": mode,
            "tile": tile,
            "overlap": overlap,
            "min_long_side": min_long_side,
        }.items()
        if v is not None
    }
    return replace(base, **changes)
