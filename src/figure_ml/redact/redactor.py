"""The redactor a server embeds: manifest + ONNX file in, redacted pixels and boxes out.

It loads only ``manifest.json`` and the ONNX artifact it names, through
:func:`figure_ml.manifest.load` (schema, size and SHA-256 checked: a model that is not the one
evaluated is refused). Detection is :class:`figure_ml.onnx_detect.OnnxDetector` and
:func:`figure_ml.tiling.detect_tiled`, and the rectangles hidden are
:func:`figure_ml.boxes.redaction_mask` — the exact code the evaluator measures, so
the miss rate in the manifest is the miss rate of this redactor. No torch, no ultralytics.

A manifest that lists ``detectors`` (a detector set, DESIGN §5) runs every member on each
photo — the model as above, each teacher from its exported copy (sha256-verified) on the whole
photo — and hides the union of every member's padded boxes above that member's per-class
threshold (channels of :mod:`figure_ml.ensemble`: again the evaluator's exact mask).

It fails closed (:mod:`figure_ml.redact.checks`): settings, the graph against its manifest and
every detection are checked, and a photo whose redaction cannot be trusted raises instead of
being returned with its PHI visible.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from figure_ml.boxes import Detections, redaction_mask
from figure_ml.classes import CLASS_NAMES, NUM_CLASSES
from figure_ml.ensemble import (
    channel_arrays,
    member_info,
    teacher_from_entry,
    teacher_tables,
    to_channels,
    to_classes,
)
from figure_ml.errors import BadInputError, ConfigError
from figure_ml.imageio import decode_image
from figure_ml.manifest import Manifest, ManifestError, flip_tta, load
from figure_ml.redact import encode as enc
from figure_ml.redact.checks import (
    ModelOutputError,
    as_rgb,
    check_detections,
    check_graph,
    per_class,
)
from figure_ml.redact.styles import STYLES, apply_style
from figure_ml.tiling import TILE_MODES, TilingPolicy, detect_tiled

log = logging.getLogger(__name__)

__all__ = ["MAX_MEGAPIXELS", "MAX_TILES", "TILE_MODES", "Redactor", "Result"]

#: default pixel cap: larger photos are refused from their header, before decoding
MAX_MEGAPIXELS = 100.0
#: a photo needing more tiles is refused (100 MP at 320 px tiles, overlap 0.2: about 1,600)
MAX_TILES = 4096


@dataclass
class Result:
    """What one photo's redaction produced, for the caller and the JSON sidecar."""

    image: np.ndarray  # redacted RGB uint8
    detections: Detections  # the detections hidden (score >= their class threshold), class ids
    rects: np.ndarray  # (N, 4) padded, clipped rectangles actually hidden
    strategy: dict[str, Any] = field(default_factory=dict)
    #: (N,) index of the member (0: the model; 1..: the manifest's detectors) of each detection
    members: np.ndarray | None = None

    def sidecar(self, redactor: Redactor, **extra: Any) -> dict[str, Any]:
        d = self.detections
        h, w = self.image.shape[:2]
        members = self.members if self.members is not None else np.zeros(len(d), np.int64)
        names = redactor.member_names
        out = {
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
                    **({"member": names[int(k)]} if len(names) > 1 else {}),
                }
                for b, s, c, r, k in zip(
                    d.boxes, d.scores, d.classes, self.rects, members, strict=True
                )
            ],
        }
        if len(names) > 1:
            out["detectors"] = redactor.detectors_info
        return out


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
        max_megapixels: float = MAX_MEGAPIXELS,
        teachers: Sequence[Any] = (),
        teacher_tables: Sequence[tuple[dict[str, float], dict[str, float]]] = (),
        detectors_info: list[dict[str, Any]] | None = None,
    ) -> None:
        """``teachers`` (with ``teacher_tables``: each one's ``(thresholds, padding)`` by class
        name): the other members of a detector set, run on the whole photo."""
        if style not in STYLES:
            raise ConfigError(f"unknown style {style!r}; expected one of {STYLES}")
        if not isinstance(policy, TilingPolicy):
            raise ConfigError(f"policy must be a TilingPolicy, got {type(policy).__name__}")
        _check_megapixels(max_megapixels)
        self.detector = detector
        # a NaN here once hid nothing (padding) or kept nothing (threshold), with exit 0
        self.thresholds = per_class(thresholds, "thresholds")
        self.padding = per_class(padding, "padding")
        if len(teachers) != len(teacher_tables):
            raise ConfigError("each teacher needs its (thresholds, padding) tables")
        self.teachers = list(teachers)
        self.member_names = ["model", *(t.name for t in self.teachers)]
        self.detectors_info = detectors_info or []
        base = (
            dict(zip(CLASS_NAMES, self.thresholds.tolist(), strict=True)),
            dict(zip(CLASS_NAMES, self.padding.tolist(), strict=True)),
        )
        #: thresholds and padding per channel (member * NUM_CLASSES + class)
        self.channel_thresholds, self.channel_padding = channel_arrays([base, *teacher_tables])
        self.policy = policy
        self.style = style
        self.model_info = model_info or {}
        self.max_pixels = int(max_megapixels * 1e6)

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
        tile_long_side: int | None = None,
        threads: int | None = None,
        max_megapixels: float = MAX_MEGAPIXELS,
    ) -> Redactor:
        """Load a manifest (file or folder) and its ONNX artifact, verified by SHA-256.

        ``artifact`` names one (default: the first ONNX, or the first of ``precision``).
        ``tiles`` (``auto``/``on``/``off``) and ``tile``/``overlap``/``min_long_side``/
        ``tile_long_side`` override the manifest's tiling policy. The graph's input size and
        type, output layout and class count must match the manifest (:class:`ManifestError`
        otherwise).
        ``max_megapixels``: larger photos are refused by :meth:`redact_encoded`.
        """
        # every setting is checked before any file is read
        overrides = _overrides(tiles, tile, overlap, min_long_side, tile_long_side)
        replace(TilingPolicy(), **overrides)  # raises ConfigError on an impossible value
        if threads is not None and not (isinstance(threads, int) and threads >= 1):
            raise ConfigError(f"threads must be an integer >= 1, got {threads!r}")
        if style not in STYLES:
            raise ConfigError(f"unknown style {style!r}; expected one of {STYLES}")
        _check_megapixels(max_megapixels)
        m = load(path, verify=False)
        a = m.artifact(artifact) if artifact else _first_onnx(m, precision)
        if a["format"] != "onnx":
            raise ManifestError(f"{m.path}: artifact {a['name']!r} is {a['format']}, not onnx")
        # verify only the file we run: other artifacts (ORT for phones, .pt) may be absent here
        m = load(m.path, verify=[a["name"]])  # and every member of a detector set
        # a set's teachers run in the picked artifact's precision where they ship it
        teachers = [teacher_from_entry(m.folder, d, threads, a["precision"]) for d in m.detectors]
        return cls(
            _detector(m, a, threads),
            thresholds=np.array(m.thresholds()),
            padding=np.array(m.padding()),
            policy=_policy(m, overrides),
            style=style,
            max_megapixels=max_megapixels,
            model_info={
                "manifest": m.data["name"],
                "artifact": a["name"],
                "file": a["file"],
                "precision": a["precision"],
                "sha256": a["sha256"],
            },
            teachers=teachers,
            teacher_tables=[teacher_tables(d) for d in m.detectors],
            detectors_info=[member_info(d, a["precision"]) for d in m.detectors],
        )

    def detect(self, image: np.ndarray) -> tuple[Detections, dict[str, Any]]:
        """All detections of an RGB uint8 image (whole-image pass, plus tiles when the policy
        applies) and a description of the strategy used."""
        image = as_rgb(image)
        h, w = image.shape[:2]
        tiled = self.policy.applies(w, h)
        strategy: dict[str, Any] = {"name": "tiled" if tiled else "whole"}
        if tiled:
            p = self.policy
            n = len(p.windows(w, h))
            if n > MAX_TILES:
                raise BadInputError(
                    f"{w}x{h} would need {n} tiles of {p.tile} px (limit {MAX_TILES});"
                    " use a larger --tile or a smaller --overlap"
                )
            strategy.update(tile=p.tile, overlap=p.overlap, tiles=n, merge_iou=p.merge_iou)
            strategy.update(p.optional_settings())
        if self.detector.flip:  # every pass (whole photo, each tile) ran mirrored too
            strategy["mirror"] = True
        try:
            boxes, scores, classes = detect_tiled(image, self.detector.detect, self.policy)
        except FloatingPointError as exc:  # OnnxDetector.require_finite
            raise ModelOutputError(f"{exc}; nothing written") from exc
        check_detections(boxes, scores, classes)
        det = Detections(boxes, scores, classes)
        if self.teachers:  # channel ids: member * NUM_CLASSES + class
            parts = [to_channels(det, 0)]
            for k, t in enumerate(self.teachers, 1):
                b, sc, c = t.detect(image)
                check_detections(b, sc, c)
                parts.append(to_channels(Detections(b, sc, c), k))
            det = Detections(*(np.concatenate([getattr(p, f) for p in parts]) for f in _FIELDS))
            strategy["members"] = self.member_names
        return det, strategy

    def redact_full(self, image: np.ndarray, *, in_place: bool = False) -> Result:
        """Detect and hide; the :class:`Result` carries everything the sidecar records.

        ``in_place``: paint into ``image`` itself (saves a copy of a large photo).
        """
        image = as_rgb(image)
        h, w = image.shape[:2]
        det, strategy = self.detect(image)
        thr, pad = self.channel_thresholds, self.channel_padding
        hidden = det.select(det.scores >= thr[det.classes])
        # exactly the evaluator's mask: same >= thresholds, same padding, same clipping
        rects = redaction_mask(det, thr, pad, w, h)
        if len(rects) != len(hidden) or not np.isfinite(rects).all():
            raise ModelOutputError("a redaction rectangle is not finite; nothing written")
        redacted = apply_style(image, rects, self.style, in_place=in_place)
        members = hidden.classes // NUM_CLASSES
        return Result(redacted, to_classes(hidden), rects, strategy, members)

    def redact(self, image: np.ndarray) -> tuple[np.ndarray, Detections]:
        """``(redacted RGB uint8 image, detections hidden)`` of an RGB uint8 image."""
        r = self.redact_full(image)
        return r.image, r.detections

    def redact_encoded(self, data: bytes, name: str = "image.jpg") -> tuple[bytes, str, Result]:
        """Decode (EXIF orientation applied), redact, re-encode without metadata.

        Returns ``(encoded bytes, output suffix, result)``; ``name`` picks the format. A photo
        above the pixel cap is refused from its header (:class:`BadInputError`, size named).
        """
        image = decode_image(data, name=name, max_pixels=self.max_pixels)
        # the decoded array is ours: paint into it rather than copy a 50 MP photo
        result = self.redact_full(image, in_place=True)
        fmt, suffix = enc.output_format(name)
        return enc.encode(result.image, fmt), suffix, result


_FIELDS = ("boxes", "scores", "classes")


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
    conf = max(0.0, float(min(m.thresholds())) - 1e-6)  # finite: load() checked them
    try:
        det = OnnxDetector(
            str(m.artifact_path(a)),
            conf=conf,
            iou=float(out["nms_iou"]),
            max_det=int(out["max_det"]),
            threads=threads,
            imgsz=int(m.data["input"]["size"]),
            layout=out["layout"],
            flip=flip_tta(m.data),
        )
    except ValueError as exc:
        raise ManifestError(f"{m.path}: {exc}") from exc
    except Exception as exc:  # onnxruntime raises its own exception types
        raise ManifestError(f"{m.artifact_path(a)}: onnxruntime cannot load it ({exc})") from exc
    # a wrong layout or class count used to load, then fail on every file with IndexError
    check_graph(det.session, m.data, str(m.artifact_path(a)))
    det.require_finite = True
    return det


def _overrides(mode, tile, overlap, min_long_side, tile_long_side) -> dict[str, Any]:
    given = {
        "mode": mode,
        "tile": tile,
        "overlap": overlap,
        "min_long_side": min_long_side,
        "tile_long_side": tile_long_side,
    }
    return {k: v for k, v in given.items() if v is not None}


def _policy(m: Manifest, overrides: dict[str, Any]) -> TilingPolicy:
    size = int(m.data["input"]["size"])
    base = TilingPolicy(**m.data["tiling"]) if "tiling" in m.data else TilingPolicy(tile=size)
    return replace(base, **overrides)


def _check_megapixels(value: Any) -> None:
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    if not (ok and 0 < value < float("inf")):
        raise ConfigError(f"max_megapixels must be a finite number > 0, got {value!r}")
