"""``report.md``: metrics.json as readable tables, worst slices first."""

from __future__ import annotations

import math
from typing import Any

from figure_ml.classes import CLASS_NAMES
from figure_ml.sizes import PHOTO_BANDS, TILED_ABOVE


def _pct(v: float | None) -> str:
    return "n/a" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{100 * v:.2f}%"


def _ci(ci: list[float]) -> str:
    return f"[{_pct(ci[0])}, {_pct(ci[1])}]"


def _spread(m: dict) -> str:
    """Each image's own over-redaction: mean / 90th percentile / worst image."""
    s = m.get("over_redaction_per_image")
    return " / ".join(_pct(s[k]) for k in ("mean", "p90", "max")) if s else "n/a"


def _num(v: float | None) -> str:
    return "n/a" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.3f}"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)] + [
        "| " + " | ".join(r) + " |" for r in rows
    ]


def _worst_first(d: dict[str, Any]) -> list[tuple[str, Any]]:
    def key(item):
        v = item[1].get("miss_rate")
        return -1.0 if v is None or math.isnan(v) else v

    return sorted(d.items(), key=key, reverse=True)


def not_met_lines(m: dict[str, Any]) -> list[str]:
    """One sentence per class whose calibration target was not met, e.g.
    ``face: target 1.00% NOT MET — 31.0% missed at the 5% over-redaction budget``."""
    op = m.get("operating_point") or {}
    targets, out = op.get("targets") or {}, []
    for name in op.get("not_met") or []:
        pc = m["per_class"][name]
        at = pc.get("miss_at_budget")
        budget = f" — {_pct(at)} missed at the {_pct(m.get('budget'))} over-redaction budget"
        out.append(
            f"{name}: target {_pct(targets.get(name))} NOT MET "
            f"({_pct(pc['miss_rate'])} missed at the operating point"
            + (f"{budget})" if at is not None else ")")
        )
    return out


def _with_intervals(d: dict[str, Any], key: str) -> list[str]:
    """``d[key]`` as a percentage, its bootstrap interval, its exact interval (or blanks)."""
    return [
        _pct(d.get(key)),
        _ci(d.get(f"{key}_ci") or [None, None]),
        _ci(d.get(f"{key}_ci_exact") or [None, None]),
    ]


def budget_rows(m: dict[str, Any]) -> list[list[str]]:
    """Per class: GT, miss at the operating point, miss at the budget with both intervals."""
    rows = []
    for name in CLASS_NAMES:
        c = m["per_class"][name]
        rows.append(
            [name, str(c["n_gt"]), _pct(c["miss_rate"]), *_with_intervals(c, "miss_at_budget")]
        )
    return rows


def render_report(m: dict[str, Any], *, title: str, gates: list[Any] | None = None) -> str:
    out = [f"# PHI-miss evaluation — {title}", ""]
    out += [
        f"- images: {m['n_images']}, PHI boxes: {m['n_gt']}, kappa: {m['kappa']}, "
        f"95% bootstrap intervals over images ({m['bootstrap']['resamples']} resamples, "
        f"seed {m['bootstrap']['seed']}); exact = Clopper–Pearson on the counts; gates "
        "compare the larger upper bound",
        f"- sizes are sqrt(area) at a {m['size_input_px']} px model input",
        "",
    ]
    skipped = (m.get("dataset") or {}).get("n_skipped") or {}
    if any(skipped.values()):
        where = ", ".join(f"{n} of {split}" for split, n in skipped.items() if n)
        out[2:2] = [
            f"- **{where} images skipped** (`skip_bad`): unreadable or inconsistent, their boxes "
            "are in no figure below, which therefore describe a smaller set than the one given"
            + ("; the skipped_images gate fails on it" if gates else "")
        ]
    missing = not_met_lines(m)
    if missing:
        out += ["**Calibration targets not met:**", ""] + [f"- {line}" for line in missing] + [""]
    if "budget" in m:
        at = m["at_budget"]
        out += [
            f"## Miss at an over-redaction budget of {_pct(m['budget'])}",
            "",
            f"One global threshold for every class: the lowest whose over-redaction is within "
            f"the budget is {at['threshold']:.4f} (over-redaction {_pct(at['over_redaction'])}"
            + (", i.e. nothing is hidden" if at.get("redacts_nothing") else "")
            + f"). The operating point hides {_pct(m['over_redaction'])} of the non-PHI area.",
            "",
        ]
        out += _table(
            ["class", "GT", "miss at operating point", "miss at budget", "95% CI", "exact CI"],
            budget_rows(m),
        )
        out += ["", "![miss vs over-redaction](miss_vs_over_redaction.png)", ""]
    if "members" in m:  # a detector set: the union above, each member alone here
        from figure_ml.eval.union import member_table

        out += [
            "## Detector set: each member alone and the union",
            "",
            "Miss at the operating point / miss at the budget per class; over-redaction at "
            "the operating point. The figures elsewhere in this report are the union's.",
            "",
            *member_table(m),
            "",
        ]
    out += ["## Headline (operating point)", ""]
    out += _table(
        ["metric", "value", "95% CI", "exact CI"],
        [
            ["PHI-miss rate (all classes)", *_with_intervals(m, "miss_rate")],
            ["image leak rate", *_with_intervals(m, "image_leak_rate")],
            ["over-redaction", *_with_intervals(m, "over_redaction")[:2], ""],
            ["over-redaction per image: mean / p90 / max", _spread(m), "", ""],
            ["finding occlusion", *_with_intervals(m, "finding_occlusion")[:2], ""],
            ["mAP50 / mAP50-95", f"{_num(m.get('map50'))} / {_num(m.get('map50_95'))}", "", ""],
        ],
    )
    by_class = m.get("over_redaction_by_class")
    if by_class:
        contact = m.get("over_redaction_by_contact")
        out += ["", "## Over-redaction by class (each class's masks alone)", ""]
        out += [
            "Which class's predictions hide non-PHI area at the operating point (masks of "
            "different classes overlap, so these sum to at least the total above). *At PHI*: the "
            "masks of predictions whose box touches a GT box (margin: padding, boxes larger than "
            "the PHI); *stray*: of predictions that touch none (false alarms).",
            "",
        ]
        head = ["class", "over-redaction", "95% CI"]
        if contact:
            head += ["at PHI", "stray"]
        rows = []
        for n, v in by_class.items():
            row = [n, _pct(v["value"]), _ci(v["ci"])]
            if contact:
                row += [_pct(contact[k]["by_class"][n]["value"]) for k in ("at_phi", "stray")]
            rows.append(row)
        if contact:
            rows.append(
                ["all", _pct(m["over_redaction"]), _ci(m["over_redaction_ci"])]
                + [_pct(contact[k]["value"]) for k in ("at_phi", "stray")]
            )
        out += _table(head, rows)
    out += ["", "## Per class (at the operating thresholds)", ""]
    rows = []
    for name in CLASS_NAMES:
        c = m["per_class"][name]
        rows.append(
            [
                name,
                str(c["n_gt"]),
                *_with_intervals(c, "miss_rate"),
                f"{m['thresholds'][name]:.3f}",
                f"{m['padding'][name]:.2f}",
                _pct(c.get("recall")),
                _pct(c.get("precision")),
                _num(c.get("ap50")),
                _num(c.get("ap50_95")),
            ]
        )
    out += _table(
        [
            "class",
            "GT",
            "miss rate",
            "95% CI",
            "exact CI",
            "threshold",
            "padding",
            "recall@.5",
            "precision@.5",
            "AP50",
            "AP50-95",
        ],
        rows,
    )
    if gates:
        out += ["", "## Gates (larger upper 95% bound vs allowed maximum)", ""]
        out += _table(
            ["gate", "bound", "upper 95%", "point", "result"],
            [
                [
                    g.name,
                    f"{g.bound:.4f}",
                    _num(g.value),
                    _num(g.point),
                    "n/a (no data)"
                    if not getattr(g, "applicable", True)
                    else "PASS"
                    if g.passed
                    else "**FAIL**",
                ]
                for g in gates
            ],
        )
    for key, label in (("size", "GT size"), ("skin_tone", "skin tone"), ("source", "source")):
        sl = m["slices"].get(key) or {}
        if not sl:
            continue
        out += ["", f"## Slices by {label} (worst first)", ""]
        rows = []
        for name, s in _worst_first(sl):
            rows.append(
                [
                    name,
                    str(s["n_gt"]),
                    _pct(s["miss_rate"]),
                    _ci(s["miss_rate_ci"]),
                    _pct(s.get("image_leak_rate")),
                    _pct(s.get("over_redaction")),
                ]
            )
        out += _table(["slice", "GT", "miss rate", "95% CI", "leak rate", "over-redaction"], rows)
    model = m.get("model") or {}
    out += _photo_size_lines(m["slices"].get("photo_size") or {}, model.get("tiling", ...))
    restraint = m["slices"].get("restraint") or {}
    if restraint:
        out += ["", "## Restraint: photos without PHI, by hard negative", ""]
        out += [
            "Over-redaction on the photos that hold no PHI and show this hard negative (a photo "
            "counts under each it shows): what the model takes for PHI; then each class's mask "
            "alone on the same photos: which PHI it takes the negative for.",
            "",
        ]
        split = all("by_class" in r for r in restraint.values())
        classes = list(CLASS_NAMES) if split else []
        rows = [
            [kind, str(r["n_images"]), _pct(r["value"]), _ci(r["ci"])]
            + [_pct(r["by_class"][c]["value"]) for c in classes]
            for kind, r in sorted(restraint.items(), key=lambda kv: -kv[1]["value"])
        ]
        out += _table(["hard negative", "photos", "over-redaction", "95% CI", *classes], rows)
    return "\n".join(out) + "\n"


def _photo_size_lines(bands: dict[str, Any], tiling: Any = ...) -> list[str]:
    """The photo-size table: over-redaction and miss rate per band of the photo's long side, in
    band order. Said out loud when the split holds one band only, because the operating point's
    over-redaction is then known for that size of photo and no other, and when the top band was
    not tiled (``tiling`` None: ``metrics.json`` → ``model.tiling``; ``...``: not recorded),
    because the redactor tiles it by default and would hide other pixels."""
    if not bands:
        return []
    out = ["", "## Slices by photo size (long side)", ""]
    top = PHOTO_BANDS[-1]
    if len(bands) == 1:
        (only,) = bands
        out += [
            f"Every photo of this split is {only}: its over-redaction is measured for that size "
            "of photo only"
            + ("." if only == top else " (phone originals are 3,000-4,032 px and are tiled).")
        ]
        out += [""]
    if top in bands and tiling is None:
        out += [
            f"This evaluation ran every photo in one whole-image pass, but the redactor tiles "
            f"photos above {TILED_ABOVE:,} px by default: the {top} row is not what it would hide "
            "(evaluate with `predictor.strategy=tiled`, or through a manifest).",
            "",
        ]
    elif top in bands and isinstance(tiling, dict):
        out += [f"Photos above {tiling['min_long_side']} px ran through tiles as well.", ""]
    rows = [
        [
            name,
            str(s["n_images"]),
            str(s["n_gt"]),
            _pct(s["miss_rate"]),
            _ci(s["miss_rate_ci"]),
            _pct(s["over_redaction"]),
            _ci(s["over_redaction_ci"]),
        ]
        for name, s in bands.items()
    ]
    return out + _table(
        ["photo size", "photos", "GT", "miss rate", "95% CI", "over-redaction", "95% CI"], rows
    )
