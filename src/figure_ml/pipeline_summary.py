"""The last step of ``make demo``: the per-class PHI-miss table of the DVC pipeline's run and
where its manifest, model card and ONNX files are.

    python -m figure_ml.pipeline_summary [--eval runs/dvc/eval] [--export exports/dvc]

Reads the evaluation's ``metrics.json`` and the export's ``manifest.json`` (loaded through
:func:`figure_ml.manifest.load`, so a file that does not match its SHA-256 is refused). Exit 0,
or 2 when the pipeline's outputs are missing or refused.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from figure_ml.classes import CLASS_NAMES
from figure_ml.errors import BadInputError
from figure_ml.eval.report import not_met_lines

EVAL_DIR = Path("runs/dvc/eval")
EXPORT_DIR = Path("exports/dvc")


def _pct(value: Any) -> str:
    return "-" if value is None else f"{100 * float(value):5.1f}%"


def _ci(ci: Any) -> str:
    if not ci or ci[0] is None or ci[1] is None:
        return "-"  # no data (e.g. a class without GT in this split)
    return f"[{100 * ci[0]:.1f}, {100 * ci[1]:.1f}]"


def miss_table(metrics: dict[str, Any], artifacts: list[dict[str, Any]]) -> str:
    """Per class: GT count, miss rate at the shipped operating point with its 95% interval,
    threshold and padding, then the miss rate at the over-redaction budget (the headline: one
    global threshold whose over-redaction is within the budget), then the miss rate each
    exported artifact was measured at. Last row: over-redaction at each of those points."""
    names = [a["name"] for a in artifacts]
    budget = metrics.get("budget")
    head = [
        "class",
        "n_gt",
        "miss",
        "95% CI",
        "threshold",
        "padding",
        f"miss@OR<={_pct(budget).strip()}",
        "95% CI ",
        *[f"{n} miss" for n in names],
    ]
    rows = [head]
    for c in CLASS_NAMES:
        pc = metrics["per_class"][c]
        row = [
            c,
            str(pc.get("n_gt", "-")),
            _pct(pc.get("miss_rate")),
            _ci(pc.get("miss_rate_ci")),
            f"{metrics['thresholds'][c]:.3f}",
            f"{metrics['padding'][c]:.2f}",
            _pct(pc.get("miss_at_budget")),
            _ci(pc.get("miss_at_budget_ci")),
        ]
        for a in artifacts:
            row.append(
                _pct(((a.get("metrics") or {}).get("per_class") or {}).get(c, {}).get("miss_rate"))
            )
        rows.append(row)
    at = metrics.get("at_budget") or {}
    over = [
        "over-redaction",
        "",
        _pct(metrics.get("over_redaction")),
        _ci(metrics.get("over_redaction_ci")),
        "",
        "",
        _pct(at.get("over_redaction")),
        _ci(at.get("over_redaction_ci")),
    ]
    over += [_pct((a.get("metrics") or {}).get("over_redaction")) for a in artifacts]
    rows.append(over)
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)) for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(line.rstrip() for line in lines)


def summary(eval_dir: Path, export_dir: Path) -> str:
    from figure_ml import manifest

    metrics_path = eval_dir / "metrics.json"
    if not metrics_path.is_file():
        raise BadInputError(f"{metrics_path}: missing (run `dvc repro` first)")
    metrics = json.loads(metrics_path.read_text())
    m = manifest.load(export_dir / "manifest.json")
    split = metrics.get("dataset", {}).get("split", "test")
    model = metrics.get("model", {})
    what = f"{model.get('artifact', model.get('file', '?'))} of {m.path}"
    out = [
        f"PHI-miss rate per class on the {split} split, scored through the manifest ({what}; a "
        f"GT box counts as missed when less than {100 * metrics.get('kappa', 0.95):.0f}% of it "
        "is hidden):",
        "",
        miss_table(metrics, m.data["artifacts"]),
        "",
        *[f"  {line}" for line in not_met_lines(metrics)],
        "",
        f"evaluation:  {metrics_path}  ({eval_dir / 'report.md'})",
        f"manifest:    {m.path}",
        f"model card:  {m.folder / 'MODEL_CARD.md'}",
    ]
    for a in m.data["artifacts"]:
        latency = (a.get("latency") or {}).get("median_ms")
        ms = f", {latency} ms median on CPU" if latency is not None else ""
        out.append(f"{a['format'] + ' ' + a['precision'] + ':':<12} {m.artifact_path(a)}{ms}")
    for x in m.data.get("left_out") or []:
        out.append(f"{'left out:':<12} {x['artifact']} — {x['reason']}")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m figure_ml.pipeline_summary")
    parser.add_argument("--eval", type=Path, default=EVAL_DIR, help="the eval stage's out_dir")
    parser.add_argument("--export", type=Path, default=EXPORT_DIR, help="the export's out_dir")
    args = parser.parse_args(argv)
    try:
        print(summary(args.eval, args.export))
    except (BadInputError, OSError, ValueError, KeyError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
