"""Scoring what ships: the predictor and operating point of an exported artifact.

A manifest with ``detectors`` gives a :class:`figure_ml.ensemble.UnionPredictor` (channel
ids) and an operating point whose ``extra["members"]`` lists each member's thresholds and
padding; :mod:`figure_ml.eval.union` scores it.

``python -m figure_ml.eval manifest=X`` and the export's own re-evaluation both build the
predictor here, from the manifest's input, output and tiling blocks — the same values the
redactor reads — so the numbers in a manifest are the numbers of the redactor that loads it,
and re-evaluating the manifest reproduces them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from figure_ml import manifest as manifest_mod
from figure_ml.eval.operating_point import OperatingPoint
from figure_ml.eval.overlap import RECORD_KEYS
from figure_ml.eval.predictors import OnnxPredictor, Predictor
from figure_ml.eval.tiling import TiledPredictor
from figure_ml.tiling import TilingPolicy


def artifact_predictor(
    path: str | Path, spec: dict[str, Any], *, conf: float = 0.001, memo: dict | None = None
) -> Predictor:
    """An ONNX/ORT artifact run as the redactor runs it: the manifest's input size, output
    layout, NMS settings, mirrored pass and tiling policy (``spec`` holds the manifest's ``input``,
    ``output`` and ``tiling`` blocks). Predictions at ``conf`` so that budget sweeps see the
    scores below the operating thresholds too. ``memo``: shared by predictors of one artifact
    whose specs differ in the mirrored pass alone (:class:`figure_ml.onnx_detect.OnnxDetector`)."""
    out = spec["output"]
    inner = OnnxPredictor(
        path,
        conf=conf,
        iou=float(out["nms_iou"]),
        max_det=int(out["max_det"]),
        imgsz=int(spec["input"]["size"]),
        layout=out["layout"],
        flip=manifest_mod.flip_tta(spec),
        memo=memo,
    )
    tiling = spec.get("tiling") or {}
    policy = TilingPolicy(**tiling) if tiling else TilingPolicy(tile=inner.imgsz)
    return TiledPredictor(inner, policy)


def operating_point(data: dict[str, Any]) -> OperatingPoint:
    """The operating point a manifest ships (thresholds, padding, kappa, calibration flags, and
    which images calibrated it)."""
    cal = data.get("calibration") or {}
    return OperatingPoint(
        {k: float(v) for k, v in data["thresholds"].items()},
        {k: float(v) for k, v in data["padding"].items()},
        float(data.get("kappa", 0.95)),
        met=cal.get("met"),
        targets=cal.get("targets"),
        weights_sha256=(data.get("training") or {}).get("weights_sha256"),
        extra={k: cal[k] for k in RECORD_KEYS if cal.get(k) is not None},
    )


def manifest_predictor(
    path: str | Path, artifact: str | None = None
) -> tuple[Predictor, OperatingPoint, dict[str, Any]]:
    """Load a manifest with every artifact's sha256 verified and return the predictor of
    ``artifact`` (default: the first ONNX artifact, the redactor's default), the operating
    point, and a description of what was loaded."""
    m = manifest_mod.load(path, verify=True)
    if artifact:
        a = m.artifact(artifact)
    else:
        a = next((x for x in m.data["artifacts"] if x["format"] == "onnx"), None)
        if a is None:
            raise manifest_mod.ManifestError(f"{m.path}: no ONNX artifact")
    if a["format"] not in ("onnx", "ort"):
        raise manifest_mod.ManifestError(f"{m.path}: artifact {a['name']!r} is {a['format']}")
    predictor = artifact_predictor(m.artifact_path(a), m.data)
    op = operating_point(m.data)
    info = {
        "manifest": str(m.path),
        "manifest_name": m.data["name"],
        "artifact": a["name"],
        "file": a["file"],
        "sha256": a["sha256"],
        "precision": a["precision"],
        "nms_iou": float(m.data["output"]["nms_iou"]),  # the model's NMS (its figures depend on it)
        "flip_tta": manifest_mod.flip_tta(m.data),
        # where the manifest's thresholds came from (export: fitted on val; thresholds_file)
        "calibration_source": (m.data.get("calibration") or {}).get("source"),
    }
    if m.detectors:  # a detector set: every member as the redactor runs it, masks united
        from figure_ml.ensemble import (
            UnionPredictor,
            member_info,
            teacher_from_entry,
            teacher_tables,
        )

        # the teachers run in the artifact's precision where the set ships it (the redactor's rule)
        p = a["precision"]
        teachers = [teacher_from_entry(m.folder, d, precision=p) for d in m.detectors]
        names = ["model", *(d["name"] for d in m.detectors)]
        predictor = UnionPredictor([predictor, *teachers], names)
        op.extra["members"] = [
            {"name": "model", "thresholds": op.thresholds, "padding": op.padding},
            *(
                dict(zip(("thresholds", "padding"), teacher_tables(d), strict=True), name=d["name"])
                for d in m.detectors
            ),
        ]
        info["detectors"] = [member_info(d, p) for d in m.detectors]
    return predictor, op, info
