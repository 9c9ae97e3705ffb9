"""``compare(cfg)``: score two models on one split and say whether the candidate is better.

Both predict every image of the split once; each is then taken to its own over-redaction-budget
threshold and the GT boxes compared in pairs (:mod:`figure_ml.eval.paired`). Writes
``comparison.md`` and, last (its presence means the folder is complete), ``comparison.json``.
No image, crop or file name of the data goes into either: counts, rates and digests only.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from figure_ml import atomic, provenance
from figure_ml.atomic import jsonable
from figure_ml.classes import CLASS_NAMES
from figure_ml.config import CompareConfig
from figure_ml.errors import ConfigError
from figure_ml.eval.data import load_eval_data
from figure_ml.eval.paired import compare_at_budget, comparison_table
from figure_ml.eval.predictors import make_predictor
from figure_ml.eval.run import predict_split
from figure_ml.manifest import sha256_file
from figure_ml.models import resolve_weights

COMPARISON_FILE = "comparison.json"

_MEANING = {
    "better": "the candidate misses fewer boxes than the baseline, beyond the noise of this split",
    "worse": "the candidate misses more boxes than the baseline (in some class or overall)",
    "no_difference": "this split cannot tell the two apart: a lead inside the noise is no win",
}


@dataclass
class Comparison:
    out_dir: Path
    result: dict[str, Any]

    @property
    def verdict(self) -> str:
        return str(self.result["verdict"])


def _out_dir(cfg: CompareConfig) -> Path:
    out = Path(cfg.out_dir)
    if out.exists() and any(out.iterdir()) and not (out / COMPARISON_FILE).exists():
        raise ConfigError(f"out_dir {out} holds other files; refusing to write into it")
    return out


def _model(spec: str, cfg: CompareConfig, overrides: dict[str, Any] | None = None):
    """The predictor for ``spec`` with ``cfg.predictor``, ``overrides`` replacing some of its
    settings (the candidate's ``candidate_predictor``), and what the comparison records of it."""
    overrides = overrides or {}
    weights = Path(str(resolve_weights(spec)))
    p = replace(cfg.predictor, **overrides)
    predictor = make_predictor(
        weights, imgsz=p.imgsz, conf=p.conf, iou=p.iou, max_det=p.max_det, flip=p.flip
    )
    info = {"spec": spec, "file": weights.name, "sha256": sha256_file(weights)}
    return predictor, info | {
        "predictor": predictor.description,
        "imgsz": predictor.imgsz,
        "nms_iou": p.iou,  # both models' NMS and passes: the verdict depends on them
        "flip_tta": p.flip,
        "predictor_overrides": dict(overrides),
    }


def compare(cfg: CompareConfig) -> Comparison:
    """Predict with both models on ``cfg.split``, compare at ``cfg.budget``, write, return."""
    cfg.validate()
    out = _out_dir(cfg)
    cand, cand_info = _model(cfg.candidate, cfg, cfg.candidate_overrides())
    base, base_info = _model(cfg.baseline, cfg)
    data = load_eval_data(cfg.data.path, cfg.split, cfg.data.format)
    gts, cand_dets, _ = predict_split(cand, data, skip_bad=cfg.skip_bad)
    gts_b, base_dets, _ = predict_split(base, data, skip_bad=cfg.skip_bad)
    if [g.image_id for g in gts] != [g.image_id for g in gts_b]:  # skip_bad read differently
        raise ConfigError(f"{data.description}: the two passes read different images")
    result = compare_at_budget(
        gts,
        cand_dets,
        base_dets,
        np.array([cfg.padding[c] for c in CLASS_NAMES]),
        budget=cfg.budget,
        kappa=cfg.kappa,
        n_resamples=cfg.bootstrap_resamples,
        seed=cfg.bootstrap_seed,
    )
    result |= {
        "candidate": cand_info,
        "baseline": base_info,
        "dataset": {
            "path": str(cfg.data.path),
            "split": cfg.split,
            "digest": data.digest,
            "synthetic": data.synthetic,
            "n_skipped": len(data.items) - len(gts),
        },
        "git_commit": provenance.git_commit(),
    }
    out.mkdir(parents=True, exist_ok=True)
    atomic.write_text(out / "comparison.md", render(result))
    atomic.write_json(out / COMPARISON_FILE, jsonable(result))
    return Comparison(out, result)


def render(result: dict[str, Any]) -> str:
    """The comparison as markdown: the verdict in words first, then the table."""
    c, b, o = result["candidate"], result["baseline"], result["over_redaction"]
    pooled = result["all"]
    d = result["dataset"]
    lines = [
        f"# {c['spec']} against {b['spec']} on {d['split']}",
        "",
        f"**Verdict: {result['verdict']}** — {_MEANING[result['verdict']]}.",
        "",
        f"At the {result['budget']:.0%} over-redaction budget, on {result['n_images']} images "
        f"(dataset digest `{str(d['digest'])[:12]}`), the candidate misses "
        f"{pooled['missed_candidate']} of {pooled['n_gt']} PHI boxes and the baseline "
        f"{pooled['missed_baseline']}; {pooled['only_candidate']} are missed by the candidate "
        f"only and {pooled['only_baseline']} by the baseline only.",
        "",
        f"- candidate: `{c['file']}` sha256 `{c['sha256'][:16]}…`, budget threshold "
        f"{result['threshold']['candidate']:.3f}, over-redaction {o['candidate']:.2%}",
        f"- baseline: `{b['file']}` sha256 `{b['sha256'][:16]}…`, budget threshold "
        f"{result['threshold']['baseline']:.3f}, over-redaction {o['baseline']:.2%}",
        f"- over-redaction difference {100 * o['difference']:+.2f} points "
        f"(95% CI [{100 * o['ci'][0]:+.2f}, {100 * o['ci'][1]:+.2f}])",
        f"- padding {result['padding']}, kappa {result['kappa']}",
    ]
    if c.get("predictor_overrides"):
        lines.append(
            f"- the candidate alone predicted with {c['predictor_overrides']} (input size "
            f"{c['imgsz']} against {b['imgsz']}, mirrored pass {c['flip_tta']} against "
            f"{b['flip_tta']})"
        )
    lines.append("")
    if o.get("blocks_win"):
        lines += [
            f"The candidate misses fewer boxes beyond the noise, but hides "
            f"{100 * (o['candidate'] - o['baseline']):.2f} points more of the photo than the "
            f"baseline (tolerance {100 * o['tolerance']:.2f}): fewer misses bought with more "
            "photo are not a win.",
            "",
        ]
    lines += [
        "Difference = candidate minus baseline, in points of the class's miss rate (negative: "
        "the candidate misses fewer). A win needs the wider of the two intervals below 0; a "
        "loss needs either interval above 0.",
        "",
        comparison_table(result),
        "",
    ]
    return "\n".join(lines)
