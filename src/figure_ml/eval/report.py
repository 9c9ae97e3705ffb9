"""``report.md``: metrics.json as readable tables, worst slices first."""

from __future__ import annotations

import math
from typing import Any

from figure_ml.classes import CLASS_NAMES


def _pct(v: float | None) -> str:
    return "n/a" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{100 * v:.2f}%"


def _ci(ci: list[float]) -> str:
    return f"[{_pct(ci[0])}, {_pct(ci[1])}]"


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


def render_report(m: dict[str, Any], *, title: str, gates: list[Any] | None = None) -> str:
    out = [f"# PHI-miss evaluation — {title}", ""]
    out += [
        f"- images: {m['n_images']}, PHI boxes: {m['n_gt']}, kappa: {m['kappa']}, "
        f"95% bootstrap intervals over images ({m['bootstrap']['resamples']} resamples, "
        f"seed {m['bootstrap']['seed']})",
        f"- sizes are sqrt(area) at a {m['size_input_px']} px model input",
        "",
        "## Headline",
        "",
    ]
    out += _table(
        ["metric", "value", "95% CI"],
        [
            ["PHI-miss rate (all classes)", _pct(m["miss_rate"]), _ci(m["miss_rate_ci"])],
            ["image leak rate", _pct(m["image_leak_rate"]), _ci(m["image_leak_rate_ci"])],
            ["over-redaction", _pct(m["over_redaction"]), _ci(m["over_redaction_ci"])],
            ["finding occlusion", _pct(m["finding_occlusion"]), _ci(m["finding_occlusion_ci"])],
            ["mAP50 / mAP50-95", f"{_num(m.get('map50'))} / {_num(m.get('map50_95'))}", ""],
        ],
    )
    out += ["", "## Per class (at the operating thresholds)", ""]
    rows = []
    for name in CLASS_NAMES:
        c = m["per_class"][name]
        rows.append(
            [
                name,
                str(c["n_gt"]),
                _pct(c["miss_rate"]),
                _ci(c["miss_rate_ci"]),
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
        out += ["", "## Gates (upper 95% bound vs allowed maximum)", ""]
        out += _table(
            ["gate", "bound", "upper 95%", "point", "result"],
            [
                [
                    g.name,
                    f"{g.bound:.4f}",
                    _num(g.value),
                    _num(g.point),
                    "PASS" if g.passed else "**FAIL**",
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
    return "\n".join(out) + "\n"
