"""The model card of a shipped checkpoint (``MODEL_CARD.md``), rendered from its
``provenance.json`` by :mod:`figure_ml.models.ship`: lineage, how it was chosen, and its
figures on every synthetic test split it was measured on."""

from __future__ import annotations

from typing import Any

from figure_ml.eval.redaction import KAPPA


def _mirror_words(test: dict[str, Any]) -> str:
    return (
        ", the model also run on the mirrored image, both passes merged"
        if test.get("flip_tta")
        else ", one pass (no mirrored pass)"
    )


def _selection_lines(sel: dict[str, Any] | None) -> list[str]:
    """The card's line on how the checkpoint was chosen over the one it replaced (none: no
    comparison)."""
    if not sel:
        return []
    a = sel["all"]
    lo, hi = a["lower"], a["upper"]
    how = (
        "a tie accepted because the checkpoint it replaced had to go"
        if sel["accepted_tie"]
        else sel["verdict"]
    )
    nms = sel["baseline"].get("nms_iou")
    # compare ran at ultralytics' 0.7 until it recorded its NMS (figure_ml.boxes.NMS_IOU)
    nms_words = f"NMS IoU {nms:g}" if nms is not None else "NMS IoU 0.7, not recorded then"
    if sel["baseline"].get("flip_tta"):
        nms_words += ", mirrored pass merged"
    return [
        f"- chosen over `{sel['baseline']['spec']}` (sha256 "
        f"`{sel['baseline']['sha256'][:16]}…`) on a val split ({sel['n_images']} images, digest "
        f"`{sel['dataset']['digest'][:12]}`) by a paired comparison at the {sel['budget']:.0%} "
        f"budget ({nms_words}; `python -m figure_ml.eval.compare`): {how}; missed "
        f"{a['missed_candidate']} of {a['n_gt']} PHI boxes against its {a['missed_baseline']}, "
        f"difference {100 * a['difference']:+.2f} points "
        f"(95% CI [{100 * lo:+.2f}, {100 * hi:+.2f}])"
    ]


def converted_origin(init: dict[str, Any] | None) -> dict[str, Any] | None:
    """The converted start (``model.weights=nudenet``) a chain of continuations began from,
    found through each start's ``parent_run`` (written by training for a shipped name and for
    a ``.pt`` inside a run folder); ``None`` where the chain reaches random initialisation or
    a start of unknown origin first."""
    for _ in range(100):  # a chain is a few runs long; the bound only guards a cyclic file
        if not init:
            return None
        if init.get("converted"):
            return init
        init = (init.get("parent_run") or {}).get("init_weights")
    return None


def _converted_words(init: dict[str, Any]) -> str:
    src = init.get("source", {})
    return (
        f"`{init['spec']}` (converted from `{src.get('model_file')}` of "
        f"{src.get('package')} {src.get('package_version')}, sha256 "
        f"`{str(src.get('sha256'))[:16]}…`, {src.get('licence')}; trained on real photos)"
    )


def _padding_words(padding: dict[str, float]) -> str:
    """How far each class's boxes are grown on each side, as calibrated on val: padding
    moves both the misses (coverage) and the over-redaction, so the card states it."""
    values = set(padding.values())
    if len(values) == 1:
        return f"every box grown by {values.pop():g} of its size on each side"
    each = ", ".join(f"{c} {v:g}" for c, v in padding.items())
    return f"boxes grown by a share of their size on each side ({each})"


def _test_section(t: dict[str, Any], what: str, added: bool = False) -> list[str]:
    """The card's figures on one test split: the operating point, the budget, the table.
    ``added``: a split measured after the checkpoint shipped (``ship --add-test-split``)."""
    at = t["at_budget"]
    lines = [
        "",
        f"## Measured on {what} ({t['n_images']} images, digest `{t['dataset_digest'][:12]}`)",
        "",
        f"Operating point calibrated on that dataset's val split; on its test split the "
        f"operating point hides {t['over_redaction_at_operating_point']:.1%} of the non-PHI "
        f"area (95% CI "
        f"{t['over_redaction_ci'][0]:.1%}-{t['over_redaction_ci'][1]:.1%}). At the "
        f"{t['budget']:.0%} over-redaction budget: global threshold "
        f"{at['threshold']:.3f}, over-redaction {at['over_redaction']:.1%}. A PHI box counts "
        f"as hidden when at least {t.get('kappa', KAPPA):.0%} of it is covered (kappa); "
        f"{_padding_words(t['padding'])}."
        + (
            f" Predictions through class-aware NMS at IoU {t['nms_iou']:g}{_mirror_words(t)}."
            if t.get("nms_iou") is not None
            else ""
        )
        + (f" Evaluated by commit `{t['git_commit'][:12]}`." if t.get("git_commit") else ""),
        *(
            [
                "",
                "Added after the checkpoint shipped (`python -m figure_ml.models.ship --rescore "
                "--add-test-split`): the same weights on another test split; the figures of the "
                "split above stay as they were.",
            ]
            if added
            else []
        ),
        "",
        "| class | GT boxes | missed at operating point | missed at budget | exact 95% CI |",
        "|---|---:|---:|---:|---|",
    ]
    for c, r in t["per_class"].items():
        lo, hi = r["miss_at_budget_ci_exact"] or (float("nan"), float("nan"))
        lines.append(
            f"| {c} | {r['n_gt']} | {r['n_missed']} ({r['miss_rate']:.1%}) | "
            f"{r['n_missed_at_budget']} ({r['miss_at_budget']:.1%}) | {lo:.1%}-{hi:.1%} |"
        )
    return lines


def render_card(name: str, p: dict[str, Any]) -> str:
    t, tr = p["test"], p["training"]
    init = p.get("init_weights")
    origin = converted_origin(init)
    if init and init.get("converted"):
        start = f"started from {_converted_words(init)}"
    elif init:
        parent = init.get("parent_run")
        if init.get("shipped"):
            whose = "the previous checkpoint's own card and provenance are in git history"
        elif parent:
            whose = f"the best epoch of run `{parent.get('run')}`, `{parent.get('experiment')}`"
        else:
            whose = "a file outside any run folder: its own origin is not recorded"
        start = (
            f"continued from `{init['spec']}` (sha256 `{init['sha256'][:16]}…`, {whose}"
            + (f"; its lineage began at {_converted_words(origin)}" if origin else "")
            + ")"
        )
    else:
        start = "from random initialisation"
    lines = [
        f"# Shipped checkpoint `{name}`",
        "",
        f"Load it by name: `model.weights={name}` (train: fine-tune from it), "
        f"`weights={name}` (eval, export). {p.get('architecture', 'yolo11n').upper()}, "
        f"{tr['epochs_done']} epochs at imgsz "
        f"{p['recipe']['imgsz']} {start} on synthetic data only "
        f"(`experiment={p['recipe']['experiment']}`), best epoch {tr['best_epoch']} "
        f"(val mAP50 {tr['val_map50']:.3f}, mAP50-95 {tr['val_map50_95']:.3f}).",
        "",
        f"- weights: `weights.pt`, {p['size_bytes'] / 1e6:.1f} MB, sha256 `{p['sha256']}`",
        f"- trained by commit `{p['git_commit']}` on dataset digest `{p['dataset_digest']}`",
        f"- generator fingerprint `{p['generator']['digest'][:16]}` (tests/test_models.py "
        "fails when the generator changes: retrain then)",
        *_selection_lines(p.get("selection")),
        f"- CPU: {p['cpu']}; training wall time {tr['train_seconds'] / 60:.0f} min",
        f"- licence: {p['licence']}",
    ]
    lines += _test_section(t, "a synthetic test split of another seed")
    for extra in p.get("more_tests") or []:
        lines += _test_section(extra, "a further synthetic test split", added=True)
    lines += [
        "",
        "Synthetic figures only. Real photos are out of its training distribution: measure "
        "them with `python -m figure_ml.eval` on your own labelled evaluation set, and ship it "
        'with the teachers (`teachers=[centerface,ppocr_det]`, README "Teachers").',
        "",
    ]
    return "\n".join(lines)
