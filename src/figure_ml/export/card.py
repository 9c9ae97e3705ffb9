"""``MODEL_CARD.md``, generated from the manifest (the manifest is the source of truth)."""

from __future__ import annotations

import math
from typing import Any

from figure_ml.classes import CLASS_NAMES
from figure_ml.manifest import flip_tta
from figure_ml.sizes import PHOTO_BANDS


def _pct(v: Any) -> str:
    return "n/a" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{100 * v:.2f}%"


def _ci(ci: Any) -> str:
    return f"[{_pct(ci[0])}, {_pct(ci[1])}]" if ci else ""


def render_model_card(m: dict[str, Any]) -> str:
    arts = m["artifacts"]
    out = [
        f"# Model card — {m['name']}",
        "",
        f"Created {m['created_at']} from commit `{m['git_commit']}`.",
        "",
        "## Intended use",
        "",
        "Detects protected health information in clinical photos — faces, tattoos, patient "
        "wristbands and text (names, record numbers, dates, barcodes, QR codes) — so that a "
        "redactor hides it before a photo is shared. Hide every detection at or above its "
        "class threshold, padded as stated below; the figures below were measured that way.",
        "",
        "## Limits",
        "",
        "- Miss rates are measured on the evaluation data named below; photos unlike it "
        "(other devices, lighting, populations, languages or scripts) can miss more.",
        "- Trained and evaluated on synthetic data only unless the dataset list says "
        "otherwise: procedural faces and scenes do not stand for real patients.",
        "- Not a guarantee: a human review step is still needed before publication.",
        "- Blur and pixelation styles are not safe for text; use solid fill.",
        "",
        "## Operating point",
        "",
    ]
    cal = m.get("calibration") or {}
    met, targets = cal.get("met") or {}, cal.get("targets") or {}
    first = (arts[0].get("metrics") or {}) if arts else {}
    budget = m.get("budget", first.get("budget"))
    # a detector set: a class is met or not by the union, so its figures are the union's
    figures = m.get("union") or first
    for c in cal.get("not_met") or []:
        pc = (figures.get("per_class") or {}).get(c, {})
        at = pc.get("miss_at_budget")  # None for a set: given per member (figure_ml.eval.union)
        at_budget = f", {_pct(at)} at the {_pct(budget)} over-redaction budget"
        out.append(
            f"- **{c}: target {_pct(targets.get(c))} NOT MET** — "
            f"{_pct(pc.get('miss_rate'))} missed at the operating point"
            + (at_budget if at is not None else "")
        )
    upper = cal.get("budget_bound") == "upper" and bool(cal.get("over_redaction_ci"))
    if cal.get("budget_met") is False:
        judged = (
            f"upper 95% bound {_pct(cal['over_redaction_ci'][1])} (point "
            f"{_pct(cal.get('over_redaction'))})"
            if upper
            else _pct(cal.get("over_redaction"))
        )
        out.append(
            f"- **Over-redaction budget NOT MET on {cal.get('split')}: "
            f"{judged} > {_pct(cal.get('max_over_redaction'))}** — no "
            "threshold raise or padding shrink lowers it further, so no class counts as met."
        )
    if cal.get("not_met"):
        out.append("")
    out += ["| class | threshold | padding | target | met |", "|---|---|---|---|---|"]
    out += [
        f"| {c} | {m['thresholds'][c]:.3f} | {m['padding'][c]:.2f} | {_pct(targets.get(c))} | "
        f"{'yes' if met.get(c) else 'NO' if c in met else 'n/a'} |"
        for c in CLASS_NAMES
    ]
    out += ["", f"kappa (coverage for a box to count as hidden): {m.get('kappa', 0.95)}"]
    out += _mirror_lines(m)
    if cal.get("max_over_redaction") is not None and cal.get("source") == "export_union":
        out.append(
            f"Calibrated on the {cal.get('split')} split as a detector set: every member's "
            f"thresholds and padding together so that the union meets the targets, then, while "
            f"the union's validation over-redaction{' (its upper 95% bound)' if upper else ''} "
            f"is above {_pct(cal['max_over_redaction'])}, the member's threshold raise or "
            f"teacher's padding shrink that gives up the least miss per point of "
            f"over-redaction; the model never above its own single-model operating point "
            f"(figure_ml.eval.union_calibration)."
        )
    elif cal.get("max_over_redaction") is not None:
        out.append(
            f"Calibrated on the {cal.get('split')} split: per class the (padding, threshold) "
            f"pair that meets the target with the least over-redaction, thresholds then raised "
            f"so that validation over-redaction"
            f"{' (the upper end of its 95% bootstrap interval)' if upper else ''} stays within "
            f"{_pct(cal['max_over_redaction'])}; "
            f"classes that budget binds share the padding that misses least at it."
        )
    out.append("")
    if budget is not None:
        out += [
            f"## Miss rate at an over-redaction budget of {_pct(budget)} (headline)",
            "",
            "One global threshold for all classes, the lowest whose over-redaction is within the "
            "budget (95% bootstrap interval; gates use the larger of it and the exact bound).",
            "",
            "| artifact | " + " | ".join(CLASS_NAMES) + " | over-redaction |",
            "|---|" + "---|" * (len(CLASS_NAMES) + 1),
        ]
        for a in arts:
            mt = a.get("metrics") or {}
            pc = mt.get("per_class", {})
            cells = [
                f"{_pct(pc[c].get('miss_at_budget'))} {_ci(pc[c].get('miss_at_budget_ci'))}"
                if c in pc
                else "n/a"
                for c in CLASS_NAMES
            ]
            at = mt.get("at_budget") or {}
            out.append(
                f"| {a['name']} | " + " | ".join(cells) + f" | {_pct(at.get('over_redaction'))} |"
            )
        out += ["", "![miss vs over-redaction](miss_vs_over_redaction.png)", ""]
    out += ["## PHI-miss rate per artifact at the operating point (95% bootstrap interval)", ""]
    if m.get("union"):  # the redactor runs the union: say whose figures these are
        out += [
            "The model's artifacts alone. What ships is the detector set: its misses and its "
            "over-redaction (at least these) are under Detector set.",
            "",
        ]
    out += ["| artifact | " + " | ".join(CLASS_NAMES) + " | image leak | over-redaction |"]
    out += ["|---|" + "---|" * (len(CLASS_NAMES) + 2)]
    for a in arts:
        mt = a.get("metrics") or {}
        pc = mt.get("per_class", {})
        cells = [
            f"{_pct(pc[c]['miss_rate'])} {_ci(pc[c]['miss_rate_ci'])}" if c in pc else "n/a"
            for c in CLASS_NAMES
        ]
        out.append(
            f"| {a['name']} | "
            + " | ".join(cells)
            + f" | {_pct(mt.get('image_leak_rate'))} | {_pct(mt.get('over_redaction'))} |"
        )
    union = m.get("union")
    out += _photo_size_lines(
        (union or first).get("by_photo_size") or {},
        "the detector set" if union else f"artifact {arts[0]['name'] if arts else 'n/a'}",
    )
    worst = (arts[0].get("metrics") or {}).get("worst_slices") or []
    if worst:
        out += [
            "",
            "## Worst slices (first artifact)",
            "",
            "| slice | miss rate | 95% CI | GT |",
            "|---|---|---|---|",
        ]
        out += [
            f"| {w['slice']} | {_pct(w['miss_rate'])} | {_ci(w['miss_rate_ci'])} | {w['n_gt']} |"
            for w in worst
        ]
    out += [
        "",
        "## Quantization and latency",
        "",
        "| artifact | precision | size | median ms | threads | parity |",
        "|---|---|---|---|---|---|",
    ]
    for a in arts:
        lat = a.get("latency") or {}
        parity = a.get("parity") or {}
        out.append(
            f"| {a['name']} | {a['precision']} | {a['size_bytes'] / 1e6:.2f} MB | "
            f"{lat.get('median_ms', 'n/a')} | {lat.get('threads', '')} | "
            f"{'pass' if parity.get('passed', True) else 'FAIL'} |"
        )
    lat = next((a["latency"] for a in arts if a.get("latency")), None)
    if lat and lat["cpu"]:
        passes = lat.get("passes", 1)
        how = "model run only" if passes == 1 else f"model run only, {passes} runs per photo"
        out += ["", f"Latency: {how}, batch 1, onnxruntime CPU on {lat['cpu']}."]
    parity = next((a["parity"] for a in arts if a["precision"] == "int8" and a.get("parity")), None)
    if parity is not None:
        line = (
            "Parity: per class, the upper 95% bound of the paired miss-rate difference against "
            f"FP32 (same images) is at most {100 * parity['int8_max_delta']:.2f} points"
        )
        if parity.get("max_over_redaction_delta") is not None:
            line += (
                ", and that of the paired over-redaction difference at most "
                f"{100 * parity['max_over_redaction_delta']:.2f} points"
            )
        out += [line + "."]
    for x in m.get("left_out") or []:
        out.append(f"- **left out: {x['artifact']}** — {x['reason']}")
    out += ["", "## Data", ""]
    for role, d in (m.get("datasets") or {}).items():
        out.append(
            f"- {role}: digest `{d.get('digest')}`"
            + (f", split {d['split']}" if d.get("split") else "")
        )
        for src, lic in (d.get("licences") or {}).items():
            out.append(f"  - source `{src}`: {lic}")
    tr = m.get("training") or {}
    out += [
        "",
        "## Training",
        "",
        f"- MLflow run: `{tr.get('mlflow_run_id')}`",
        f"- model: {tr.get('model', 'n/a')}",
        "",
        "Ultralytics YOLO is AGPL-3.0: shipping these weights inside a product may carry its "
        "obligations.",
        "",
    ]
    return "\n".join(out)


def _mirror_lines(m: dict[str, Any]) -> list[str]:
    """Whether the model also runs on the mirrored photo, and the val figures that chose it."""
    flip = flip_tta(m)
    how = (
        "The model also runs on the photo mirrored left to right; both passes' boxes are merged"
        if flip
        else "The model runs once per photo (no mirrored pass)"
    )
    ch = (m.get("calibration") or {}).get("mirror_choice")
    if not ch:
        return [how + "."]
    alone = " alone" if m.get("detectors") else ""  # the choice judges the model's own figure
    line = (
        f"{how}: on the {ch['split']} split the model{alone} missed {ch['missed_mirrored']} of "
        f"{ch['n_gt']} PHI "
        f"boxes at the {_pct(ch['budget'])} budget with the mirrored pass and "
        f"{ch['missed_one_pass']} without, each at its best padding for every class"
    )
    if "difference_ci" not in ch:  # a manifest of the rule before 2026-12-06
        return [line + " (`flip_tta=auto` kept it only when it missed fewer)."]
    if ch["difference_ci"] is None:
        return [line + " (no PHI boxes to judge it by, so `flip_tta=auto` kept it)."]
    lo, hi = ch["difference_ci"]
    return [
        line + f"; {ch['missed_only_mirrored']} were missed only with it and "
        f"{ch['missed_only_one_pass']} only without (exact 95% interval of the difference "
        f"{100 * lo:+.2f} to {100 * hi:+.2f} points). `flip_tta=auto` drops the mirrored pass "
        "only when it misses more beyond noise (the interval above 0)."
    ]


def _photo_size_lines(bands: dict[str, Any], of: str) -> list[str]:
    """Over-redaction and miss rate per photo-size band of what the redactor runs (``of``: the
    first artifact, or the union for a set): the budget is calibrated on the validation photos,
    and holds for sizes like theirs only."""
    if not bands:
        return []
    out = ["", f"## Over-redaction by photo size (long side; {of})", ""]
    if len(bands) == 1:
        (only,) = bands
        out += [f"Measured on {only} photos only."]
        if only != PHOTO_BANDS[-1]:
            # why it matters, measured (docs/design.md, Tiling); said only when it applies
            out[-1] += (
                " Phone originals (3,000-4,032 px) go through tiles and were not in the "
                "evaluation split; on synthetic ones, an operating point calibrated on small "
                "frames hid more than its budget. Calibrate and evaluate on a split that holds "
                "the sizes the app will see."
            )
        out += [""]
    out += [
        "| photo size | photos | over-redaction | 95% CI | GT | missed | miss rate | 95% CI |",
        "|---|---|---|---|---|---|---|---|",
    ]
    out += [
        f"| {band} | {b['n_images']} | {_pct(b['over_redaction'])} | "
        f"{_ci(b['over_redaction_ci'])} | {b['n_gt']} | {b.get('n_missed', '-')} | "
        f"{_pct(b['miss_rate'])} | {_ci(b.get('miss_rate_ci'))} |"
        for band, b in bands.items()
    ]
    return out
