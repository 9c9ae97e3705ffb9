"""Exporting a detector set: the trained model plus teachers (``teachers=[centerface,...]``).

Each teacher's ONNX — :meth:`Teacher.model_bytes`, the bytes its session runs — is copied into
the export as ``teacher_<name>.onnx`` and every later step runs the teacher *from that copy*
(sha256-checked), as the redactor will. Thresholds and padding of every member are calibrated
together on val (:func:`figure_ml.eval.union_calibration.calibrate_union`), the union is scored
on the test split through :mod:`figure_ml.eval.union` (the code ``eval manifest=`` runs), and
the manifest lists every member under ``detectors``. With ``int8.enabled`` each teacher also
gets an INT8 version where its paired parity holds (:mod:`figure_ml.export.teacher_int8`).
"""

from __future__ import annotations

import os
import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from figure_ml import manifest
from figure_ml.atomic import jsonable
from figure_ml.classes import CLASS_NAMES
from figure_ml.config import ExportConfig
from figure_ml.ensemble import UnionPredictor, member_part
from figure_ml.errors import ConfigError
from figure_ml.eval.calibration import budget_resamples, calibrated_point
from figure_ml.eval.data import EvalData, load_eval_data
from figure_ml.eval.operating_point import OperatingPoint
from figure_ml.eval.overlap import calibration_record, refuse_overlap
from figure_ml.eval.run import predict_split
from figure_ml.eval.union import member_table, union_metrics
from figure_ml.eval.union_calibration import calibrate_union
from figure_ml.export.contents import by_photo_size
from figure_ml.export.latency import cpu_model

#: photo size the per-member latency is measured on (pre- and post-processing included)
LATENCY_WH = (640, 480)


@dataclass
class SetResult:
    op: OperatingPoint  # member 0's operating point (the manifest's top level)
    teachers: list[Any]
    entries: list[dict[str, Any]]  # the manifest's ``detectors``
    union: dict[str, Any]  # union metrics on the test split (with ``members``)
    gts: list
    dets0: list  # member 0's detections on the test split (class ids)
    calibration: dict[str, Any]
    checks: list  # parity checks of the teachers' INT8 versions


def copy_teachers(names: list[str], dst: Path) -> list[tuple[Any, dict[str, Any]]]:
    """Copy each teacher's model into ``dst`` and load it back from the copy:
    ``[(teacher, provenance of the installed original)]``."""
    from figure_ml import atomic
    from figure_ml.teachers import make_teacher
    from figure_ml.teachers.registry import one_network_each

    if len(set(names)) != len(names):
        raise ConfigError(f"teachers lists a teacher twice: {names}")
    one_network_each(names)
    out = []
    for name in names:
        original = make_teacher(name)
        path = dst / f"teacher_{name}.onnx"
        atomic.write_bytes(path, original.model_bytes())
        copy = make_teacher(name, model_path=str(path), sha256=manifest.sha256_file(path))
        out.append((copy, original.info.as_dict()))
    return out


def teacher_latency(teacher: Any, *, runs: int, warmup: int) -> dict[str, Any]:
    """Median/p90 ms of ``teacher.detect`` on a 640x480 photo (pre- and post-processing in)."""
    w, h = LATENCY_WH
    image = np.random.default_rng(0).integers(0, 256, (h, w, 3), dtype=np.uint8)
    for _ in range(warmup):
        teacher.detect(image)
    times = []
    for _ in range(max(1, runs)):
        t0 = time.perf_counter()
        teacher.detect(image)
        times.append((time.perf_counter() - t0) * 1000)
    return {
        "median_ms": round(statistics.median(times), 3),
        "p90_ms": round(float(np.percentile(times, 90)), 3),
        "runs": len(times),
        "image": f"{w}x{h}",
        "includes": "pre- and post-processing",
        "threads": teacher.threads or os.cpu_count(),  # as the model's (export.latency)
        "cpu": cpu_model(),
    }


def build_set(
    cfg: ExportConfig,
    src: Any,
    dst: Path,
    fp32_pred: Any,
    test: EvalData,
    sha: str,
    int8_images: list[np.ndarray] | None = None,
) -> SetResult:
    """Copy the teachers, calibrate every member on val for the union, score it on test;
    with ``int8_images`` (INT8 calibration images) make each teacher's INT8 version."""
    if cfg.thresholds_file:
        raise ConfigError(
            "thresholds_file with teachers=: a detector set is calibrated on val as a whole "
            "(every member's thresholds together); drop thresholds_file"
        )
    pairs = copy_teachers(list(cfg.teachers), dst)
    teachers = [t for t, _ in pairs]
    names = ["model", *(t.name for t in teachers)]
    union = UnionPredictor([fp32_pred, *teachers], names)
    c = cfg.calibration
    val = load_eval_data(src.data_path, c.split, src.data_format)
    refuse_overlap(val, test)
    vg, vd, _ = predict_split(union, val, skip_bad=False)
    members = [[member_part(d, k) for d in vd] for k in range(len(names))]
    classes = [CLASS_NAMES, *(t.info.classes for t in teachers)]
    # the model's own operating point on the same split is its ceiling in the set (the union
    # then misses no more than the model alone); a teacher's ceiling is its authors' default
    alone = calibrated_point(vg, members[0], c, kappa=cfg.kappa, weights_sha256=sha, data=val)
    cal = calibrate_union(
        vg,
        members,
        classes,
        [alone.thresholds, *({n: t.default_threshold for n in t.info.classes} for t in teachers)],
        c.targets,
        c.padding_grid,
        model_padding=alone.padding,
        max_over_redaction=c.max_over_redaction,
        kappa=cfg.kappa,
        floor=c.floor,
        budget_resamples=budget_resamples(c, len(vg)),
        target_bound=c.target_bound,
    )
    m0 = cal["members"][0]
    extra = {"budget": cal["budget"], **calibration_record(c.split, val)}
    op = OperatingPoint(
        m0["thresholds"], m0["padding"], cfg.kappa, cal["met"], dict(c.targets), sha, extra
    )
    tables = [(mb["thresholds"], mb["padding"]) for mb in cal["members"]]
    gts, dets, metrics = _score_union(cfg, union, names, tables, test, fp32_pred.imgsz)
    entries, checks = [], []

    def latency(t: Any) -> dict[str, Any]:
        # timed on latency.threads, as the model is
        threads = cfg.latency.threads
        timed = t if threads in (None, t.threads) else t.rebuilt(threads=threads)
        return teacher_latency(timed, runs=cfg.latency.runs, warmup=cfg.latency.warmup)

    for k, ((t, original), (thr, pad)) in enumerate(zip(pairs, tables[1:], strict=True), 1):
        path = Path(t.info.path)
        int8 = None
        if int8_images:
            from figure_ml.export.teacher_int8 import teacher_int8

            int8, own = teacher_int8(
                cfg, t, (thr, pad), dst, int8_images, test, gts,
                [member_part(d, k) for d in dets], latency,
            )  # fmt: skip
            checks += own
        entries.append(
            {
                "name": t.name,
                "kind": "teacher",
                "teacher": t.name,
                "file": path.name,
                "format": "onnx",
                "precision": "fp32",
                "sha256": t.info.sha256,
                "size_bytes": path.stat().st_size,
                "licence": original["licence"],
                "licence_note": original["licence_note"],
                "package": original["package"],
                "package_version": original["package_version"],
                "source_sha256": original["sha256"],
                "classes": original["classes"],
                "options": t.options(),
                **{key: v for key, v in t.io_spec().items() if key in ("input", "output")},
                "thresholds": thr,
                "padding": pad,
                "metrics": jsonable(_brief(metrics["members"][names[k]])),
                "latency": latency(t),
                **({"int8": int8} if int8 else {}),
            }
        )
    dets0 = [member_part(d, 0) for d in dets]
    return SetResult(op, teachers, entries, metrics, gts, dets0, cal, checks)


def _score_union(
    cfg: ExportConfig, union: UnionPredictor, names: list[str], tables: list, test, imgsz: int
) -> tuple[list, list, dict[str, Any]]:
    """``union`` over every test image, scored at the members' ``(thresholds, padding)``."""
    gts, dets, _ = predict_split(union, test, skip_bad=False)
    metrics = union_metrics(
        gts,
        dets,
        names,
        tables,
        kappa=cfg.kappa,
        n_resamples=cfg.bootstrap_resamples,
        input_size=imgsz,
        budget=cfg.budget,
        curve=False,
        member_diagnostics=False,
    )
    return gts, dets, metrics


def _brief(m: dict[str, Any]) -> dict[str, Any]:
    keep = ("miss_rate", "miss_rate_ci", "miss_rate_upper", "n_gt", "n_missed")
    keep += ("miss_at_budget", "miss_at_budget_ci", "miss_at_budget_upper")
    return {
        "per_class": {c: {k: v.get(k) for k in keep} for c, v in m["per_class"].items()},
        "over_redaction": m["over_redaction"],
        "over_redaction_ci": m["over_redaction_ci"],
        "image_leak_rate": m["image_leak_rate"],
        "image_leak_rate_upper": m["image_leak_rate_upper"],
        "n_images_with_phi": m["n_images_with_phi"],
        "budget": m.get("budget"),
        "at_budget": m.get("at_budget"),
        "n_images": m["n_images"],
        "by_photo_size": by_photo_size(m),
    }


def _latencies(model: dict[str, Any] | None, teachers: dict[str, Any]) -> dict[str, Any]:
    lat = {"model": (model or {}).get("median_ms"), **teachers}
    return {**lat, "total": round(sum(v for v in lat.values() if v is not None), 3)}


def union_block(
    s: SetResult, model_latency: dict[str, Any] | None, model_int8: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The manifest's ``union``: the set's metrics, each member's, and latencies — FP32, and
    INT8 (each member's INT8 version where one ships, its FP32 one otherwise)."""
    members = {n: _brief(m) for n, m in s.union["members"].items()}
    fp32 = {e["name"]: e["latency"]["median_ms"] for e in s.entries}
    int8 = {e["name"]: (e.get("int8") or e)["latency"]["median_ms"] for e in s.entries}
    return jsonable(
        {
            **_brief(s.union),
            "members": members,
            "latency_ms": _latencies(model_latency, fp32),
            "latency_ms_int8": _latencies(model_int8 or model_latency, int8),
            "calibration": {
                "met": s.calibration["met"],
                "details": s.calibration["details"],
                "budget": {
                    k: s.calibration["budget"].get(k)
                    for k in (
                        "max_over_redaction",
                        "over_redaction",
                        "bound",
                        "over_redaction_ci",
                        "met",
                    )
                },
            },
        }
    )


def score_int8_set(
    cfg: ExportConfig, dst: Path, model_int8: Path, spec: dict[str, Any], s: SetResult, test
) -> dict[str, Any]:
    """The set the redactor runs with ``--precision int8`` — the INT8 model beside each
    teacher's INT8 version where one ships (its FP32 copy otherwise) — scored on the test split
    at the set's thresholds and padding. Each member passed its own paired parity check; this
    is the figure of the union they make, which no member's check bounds (report only: it
    ships or not with its members), with its misses beside the FP32 union's on the same boxes."""
    from figure_ml.ensemble import teacher_from_entry
    from figure_ml.eval.shipped import artifact_predictor

    names = ["model", *(e["name"] for e in s.entries)]
    members = [artifact_predictor(model_int8, spec)]
    members += [teacher_from_entry(dst, e, precision="int8") for e in s.entries]
    tables = [(mb["thresholds"], mb["padding"]) for mb in s.calibration["members"]]
    union = UnionPredictor(members, names)
    _, _, m = _score_union(cfg, union, names, tables, test, members[0].imgsz)
    brief = _brief(m)
    fp32 = s.union["per_class"]
    return jsonable(
        {
            "per_class": brief["per_class"],
            "over_redaction": brief["over_redaction"],
            "over_redaction_ci": brief["over_redaction_ci"],
            "image_leak_rate": brief["image_leak_rate"],
            "n_images": brief["n_images"],
            "members_int8": [e["name"] for e in s.entries if e.get("int8")],
            "missed_minus_fp32": {
                c: int(v["n_missed"]) - int(fp32[c]["n_missed"]) for c, v in m["per_class"].items()
            },
            "over_redaction_minus_fp32": float(m["over_redaction"] - s.union["over_redaction"]),
        }
    )


def card_section(data: dict[str, Any]) -> list[str]:
    """Model-card lines for a detector set: per member and union, and latencies."""
    u = data.get("union")
    if not u:
        return []
    out = [
        "## Detector set (union of every member's mask)",
        "",
        "Miss rate at the operating point / at the "
        f"{100 * float(data.get('budget') or 0.05):.0f}% over-redaction budget, on the "
        "evaluation split; over-redaction at the operating point.",
        "",
    ]
    out += member_table({**u, "members": u["members"]})
    q8 = u.get("int8")
    if q8:
        missed = ", ".join(
            f"{c} {v['n_missed']}/{v['n_gt']} ({q8['missed_minus_fp32'][c]:+d})"
            for c, v in q8["per_class"].items()
            if v["n_gt"]
        )
        out += [
            "",
            f"**The INT8 set** (`--precision int8`: the INT8 model, INT8 teachers "
            f"{', '.join(q8['members_int8']) or 'none'}, FP32 for the others), same test "
            f"images, thresholds and padding: missed {missed} (against the FP32 union); "
            f"over-redaction {100 * q8['over_redaction']:.1f}% "
            f"({100 * q8['over_redaction_minus_fp32']:+.1f} points).",
        ]
    out += [
        "",
        "Thresholds and padding of the teachers (the model's are under Operating point), "
        "calibrated together with the model's on the validation split "
        "(figure_ml.eval.union_calibration):",
        "",
        "| member | class | threshold | padding |",
        "|---|---|---|---|",
    ]
    for d in data.get("detectors") or []:
        for c, t in d["thresholds"].items():
            out.append(f"| {d['name']} | {c} | {t:.3f} | {d['padding'][c]:.2f} |")
    fp32, int8 = u.get("latency_ms") or {}, u.get("latency_ms_int8") or {}
    model_int8 = next((a["file"] for a in data["artifacts"] if a["name"] == "int8"), "—")
    out += [
        "",
        "| member | FP32 file | INT8 file | licence | FP32 ms | INT8 ms |",
        "|---|---|---|---|---|---|",
        f"| model | {data['artifacts'][0]['file']} | {model_int8} | see Training | "
        f"{fp32.get('model')} | {int8.get('model')} |",
    ]
    for d in data.get("detectors") or []:
        q = (d.get("int8") or {}).get("file", "— (FP32 runs)")
        out.append(
            f"| {d['name']} | {d['file']} | {q} | {d['licence']} | {fp32.get(d['name'])} | "
            f"{int8.get(d['name'])} |"
        )
    out += [
        f"| **total** | | | | {fp32.get('total')} | {int8.get('total')} |",
        "",
        "Model latency: model run only at its input size (twice with the mirrored pass, "
        "`output.flip_tta`); teachers: detect() on a 640x480 "
        "photo with pre- and post-processing. INT8 column: each member's INT8 version where it "
        "passed its paired parity (a member without one runs, and is timed, in FP32).",
        "",
    ]
    return out
