"""Put a finished training run into the package as a named checkpoint (:mod:`figure_ml.models`).

    python -m figure_ml.models.ship --run-dir runs/reference --eval-dir runs/reference-eval \
        [--name reference]

``--eval-dir`` is an evaluation of that run's export on a synthetic test split generated with
another seed than its training data (``python -m figure_ml.eval manifest=... split=test``); its
figures go into ``provenance.json`` and the model card as measured, nothing is recomputed. The
folder is written beside the old one and swapped in whole, so a failure leaves the old
checkpoint intact.

A run that continued a checkpoint (``init_weights`` in its run.json, e.g.
``experiment=reference_refresh``), or started from a converted one (``nudenet``), replaces the
checkpoint shipped under the name only with ``--val-comparison C``: ``python -m
figure_ml.eval.compare candidate=RUN/weights/best.pt baseline=NAME split=val out_dir=C`` (the
baseline is what ships now; a continuation's parent only where nothing ships yet) on the val
split of a canonical dataset other than its training data, at the budget and kappa
``--eval-dir`` was scored with, whose verdict is ``better`` (:mod:`figure_ml.eval.paired`;
checks in :func:`_checked_selection`). ``--accept-tie`` also takes ``no_difference``, for when
the shipped checkpoint must go anyway (the generator changed and it no longer matches it);
``worse`` is always refused. The comparison goes into the provenance and the card.

When what ships stays but the way the redactor runs it changes (the export's NMS, say), the
card's figures are re-measured, not kept: ``python -m figure_ml.models.ship --rescore
--eval-dir E [--name reference]`` replaces only the test figures, from an evaluation of the same
weights on the same test split (:func:`rescore`); the weights, lineage and selection stay.
``--rescore --add-test-split`` adds the figures of a further test split (a larger one, say)
beside the card's first, which stay.
"""

from __future__ import annotations

import argparse
import csv
import json
import shutil
import sys
import tempfile
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from figure_ml import atomic
from figure_ml.classes import CLASS_NAMES
from figure_ml.config import SynthConfig
from figure_ml.errors import BadInputError, FigureMLError
from figure_ml.eval.budget import DEFAULT_BUDGET
from figure_ml.eval.gates import n_skipped
from figure_ml.eval.redaction import KAPPA
from figure_ml.export.latency import cpu_model
from figure_ml.manifest import sha256_file
from figure_ml.models import SHIPPED
from figure_ml.models.card import converted_origin, render_card

#: under the issue's limit for a file kept in git
MAX_BYTES = 15 * 1024 * 1024
#: a tiny fixed generation whose digest fingerprints the generator (see generator_digest)
GENERATOR_PROBE = {"n_train": 3, "n_val": 1, "n_test": 1, "seed": 20261201, "workers": 1}
#: libraries whose output bytes the probe digest also depends on
PROBE_LIBRARIES = ("numpy", "opencv-python-headless", "pillow", "faker", "albumentations")


def generator_digest() -> dict[str, Any]:
    """Digest of a tiny dataset made by the current generator with :data:`GENERATOR_PROBE`,
    and the versions of :data:`PROBE_LIBRARIES` it was made with. A checkpoint records it; when
    the generator's output changes, so does this, and ``tests/test_models.py`` fails until
    the checkpoint is retrained on the new generator's data."""
    from figure_ml.data.synth import generate
    from figure_ml.provenance import package_versions

    with tempfile.TemporaryDirectory() as tmp:
        cfg = SynthConfig(out_dir=str(Path(tmp) / "probe"), **GENERATOR_PROBE)
        digest = generate(cfg).digest
    versions = package_versions()
    return {
        "digest": digest,
        "probe": GENERATOR_PROBE,
        "versions": {k: versions.get(k) for k in PROBE_LIBRARIES},
    }


def _read_json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise BadInputError(f"{path}: missing") from exc
    except ValueError as exc:
        raise BadInputError(f"{path}: not valid JSON ({exc})") from exc


def _training_summary(run_dir: Path) -> dict[str, Any]:
    """Epochs done and the best epoch's validation mAP, from ultralytics' results.csv."""
    path = run_dir / "results.csv"
    with path.open(newline="", encoding="utf-8") as f:
        rows = [{k.strip(): v for k, v in r.items()} for r in csv.DictReader(f)]
    if not rows:
        raise BadInputError(f"{path}: no epochs")
    best = max(rows, key=lambda r: float(r.get("metrics/mAP50-95(B)", 0) or 0))
    return {
        "epochs_done": len(rows),
        "best_epoch": int(float(best["epoch"])),
        "val_map50": float(best["metrics/mAP50(B)"]),
        "val_map50_95": float(best["metrics/mAP50-95(B)"]),
        "train_seconds": float(rows[-1].get("time", 0) or 0),
    }


def _test_figures(metrics: dict[str, Any]) -> dict[str, Any]:
    per = metrics["per_class"]
    keep = ("n_gt", "n_missed", "miss_rate", "miss_rate_upper", "miss_at_budget")
    keep += ("miss_at_budget_ci_exact", "miss_at_budget_upper", "n_missed_at_budget")
    model = metrics.get("model") or {}
    return {
        "dataset_digest": metrics["dataset"]["digest"],
        "split": metrics["dataset"]["split"],
        "n_images": metrics["n_images"],
        "budget": metrics["budget"],
        "kappa": metrics["kappa"],
        "at_budget": {k: metrics["at_budget"][k] for k in ("threshold", "over_redaction")},
        "over_redaction_at_operating_point": metrics["over_redaction"],
        "over_redaction_ci": metrics["over_redaction_ci"],
        "thresholds": metrics["thresholds"],
        "padding": metrics["padding"],
        "per_class": {c: {k: per[c].get(k) for k in keep} for c in CLASS_NAMES},
        # how the figures were made: the NMS the model ran with (absent from evaluations
        # before it was recorded) and the commit of the evaluation
        "nms_iou": model.get("nms_iou"),
        # and whether a mirrored second pass was merged in (absent before it was recorded: one)
        "flip_tta": bool(model.get("flip_tta", False)),
        "git_commit": metrics.get("git_commit"),
    }


#: fewest bootstrap resamples a comparison that picks a checkpoint may use
MIN_COMPARISON_RESAMPLES = 1000


@dataclass(frozen=True)
class _Chooser:
    """What a comparison must match to choose this run's weights (see :func:`_selection`)."""

    init: dict[str, Any] | None  # the run's parent checkpoint (run.json ``init_weights``)
    shipped: Path  # weights.pt now shipped under the name (may not exist yet)
    best_sha: str  # sha256 of this run's weights/best.pt
    train_digest: str  # dataset digest the run trained on
    scored: dict[str, Any]  # the scored evaluation's digest, split, budget and kappa
    accept_tie: bool


def _selection(comparison_dir: Path | None, run: _Chooser) -> dict[str, Any] | None:
    """The paired val comparison that chose this run's weights over the checkpoint they
    replace, checked: the candidate is this run's best.pt; the baseline is the checkpoint now
    shipped under the name, which the run would replace (a continuation's parent only where
    nothing ships yet; a converted start such as ``nudenet`` is never a baseline); a
    canonical dataset's val split, not of the training data (whose val split chose best.pt)
    and not the split that is scored; the
    scored run's budget and kappa, no image skipped, at least
    :data:`MIN_COMPARISON_RESAMPLES` resamples; verdict ``better`` (or ``no_difference`` with
    ``accept_tie``). ``None`` only for a run from random initialisation when nothing ships
    under the name yet (the first ship)."""
    if comparison_dir is None:
        if run.init and run.init.get("converted"):
            raise BadInputError(
                f"this run started from {run.init.get('spec')!r}, not from anything shipped: ship "
                "it only over a paired val comparison with the checkpoint it replaces (python -m "
                "figure_ml.eval.compare candidate=RUN/weights/best.pt baseline=NAME split=val "
                "out_dir=C, then --val-comparison C)"
            )
        if run.init:
            raise BadInputError(
                f"this run continued {run.init.get('spec')!r}: ship it only over a paired val "
                "comparison with the checkpoint it replaces, the one shipped under the name "
                "(its parent where nothing ships yet) (python -m figure_ml.eval.compare "
                "candidate=RUN/weights/best.pt baseline=NAME split=val out_dir=C, then "
                "--val-comparison C)"
            )
        if run.shipped.is_file():
            # a run from random initialisation replaces a shipped checkpoint too: it must beat
            # it (or tie it with --accept-tie, when the generator changed) like any other
            raise BadInputError(
                f"{run.shipped} is shipped under this name: a run from random initialisation "
                "replaces it only over a paired val comparison with it (python -m "
                "figure_ml.eval.compare candidate=RUN/weights/best.pt baseline=NAME split=val "
                "out_dir=C, then --val-comparison C; --accept-tie when it must go anyway)"
            )
        return None
    path = comparison_dir / "comparison.json"
    c = _read_json(path)
    try:
        return _checked_selection(path, c, run)
    except (KeyError, TypeError, AttributeError) as exc:
        raise BadInputError(
            f"{path}: not a comparison written by python -m figure_ml.eval.compare "
            f"(missing or malformed {exc})"
        ) from exc


def _sha_if_file(path: Path) -> str | None:
    return sha256_file(path) if path.is_file() else None


def _checked_selection(path: Path, c: dict[str, Any], run: _Chooser) -> dict[str, Any]:
    data = c["dataset"]
    if c["candidate"]["sha256"] != run.best_sha:
        raise BadInputError(f"{path}: its candidate is not this run's weights/best.pt")
    if c["candidate"].get("predictor_overrides"):  # absent before compare could set them
        raise BadInputError(
            f"{path}: the candidate predicted with {c['candidate']['predictor_overrides']} "
            "and the baseline without; compare both models the same way"
        )
    # hashed only here: a continuation names its parent's sha256 in run.json
    # a converted start (model.weights=nudenet) is no parent: it never shipped under the name
    continued = run.init is not None and not run.init.get("converted")
    if continued and not isinstance(run.init.get("sha256"), str):
        raise BadInputError(
            f"the run's run.json: init_weights {run.init.get('spec')!r} has no sha256; "
            "which checkpoint it continued is unknown"
        )
    shipped = _sha_if_file(run.shipped)
    # What ships replaces what is shipped now, so that is what it must beat. A continuation of
    # a local run (converted start -> run A -> run B) beating only its parent A says nothing
    # about the shipped checkpoint; its parent is the baseline only where nothing ships yet or
    # the parent is what ships.
    if shipped is not None and not (continued and run.init["sha256"] == shipped):
        baseline, which = shipped, "the checkpoint it replaces (shipped under the name now)"
    elif continued:
        baseline, which = run.init["sha256"], f"the parent {run.init.get('spec')!r}"
    else:
        raise BadInputError(f"{path}: nothing to compare with: no parent and nothing shipped")
    if c["baseline"]["sha256"] != baseline:
        where = run.shipped if baseline == shipped else "run.json init_weights"
        raise BadInputError(
            f"{path}: its baseline is not {which}: it compared with "
            f"{c['baseline'].get('spec')!r} (sha256 {str(c['baseline'].get('sha256'))[:16]}…), "
            f"expected sha256 {baseline[:16]}… ({where})"
        )
    if not isinstance(data["digest"], str):
        raise BadInputError(f"{path}: its dataset has no digest; compare on a canonical dataset")
    if data["split"] != "val":
        raise BadInputError(f"{path}: compared on {data['split']!r}; choose on a val split")
    if data["digest"] == run.train_digest:
        raise BadInputError(
            f"{path}: compared on the training dataset (its val split chose best.pt); "
            "generate another seed"
        )
    if (data["digest"], data["split"]) == (run.scored["digest"], run.scored["split"]):
        raise BadInputError(f"{path}: compared on the split --eval-dir scores; use its val split")
    for key in ("budget", "kappa"):
        if c[key] != run.scored[key]:
            raise BadInputError(
                f"{path}: {key} {c[key]} differs from the scored evaluation's {run.scored[key]}"
            )
    if data["n_skipped"]:
        raise BadInputError(f"{path}: {data['n_skipped']} images were skipped; compare on all")
    if c["bootstrap"]["resamples"] < MIN_COMPARISON_RESAMPLES:
        raise BadInputError(
            f"{path}: {c['bootstrap']['resamples']} bootstrap resamples; a checkpoint is "
            f"chosen with at least {MIN_COMPARISON_RESAMPLES}"
        )
    allowed = ("better", "no_difference") if run.accept_tie else ("better",)
    if c["verdict"] not in allowed:
        pooled = c["all"]
        raise BadInputError(
            f"{path}: verdict {c['verdict']!r} (missed at the {c['budget']:.0%} budget: "
            f"{pooled['missed_candidate']} against the baseline's {pooled['missed_baseline']} "
            f"of {pooled['n_gt']}); the old checkpoint stays"
            + (
                ""
                if run.accept_tie
                else " (--accept-tie takes a tie when the shipped checkpoint must go)"
            )
        )
    return {
        "verdict": c["verdict"],
        "accepted_tie": c["verdict"] == "no_difference",
        "baseline": c["baseline"],
        "dataset": {k: data[k] for k in ("digest", "split")},
        "n_images": c["n_images"],
        "budget": c["budget"],
        "kappa": c["kappa"],
        "padding": c["padding"],
        "bootstrap": c["bootstrap"],
        "all": c["all"],
        "per_class": c["per_class"],
        "over_redaction": c["over_redaction"],
    }


#: where an evaluation's thresholds may come from for its figures to be shipped: fitted on val
#: (an export's manifest, or eval's own calibration), never typed in or read from a file
SHIPPABLE_SOURCES = ("manifest", "calibrated")


def _check_scored(
    path: Path,
    metrics: dict[str, Any],
    train_digest: str,
    best_sha: str,
    weights: str = "this run's best.pt",
) -> None:
    """The evaluation whose figures go into the card: ``weights`` (this run's best checkpoint)
    alone, on every image of a synthetic test split of another dataset, at thresholds fitted on
    val."""
    data = metrics.get("dataset") or {}
    if not data.get("synthetic") or data.get("split") != "test":
        raise BadInputError(f"{path}: not a synthetic test split")
    if data.get("digest") == train_digest:
        raise BadInputError(f"{path.parent}: scored on the training dataset; use another seed")
    scored_sha = (metrics.get("model") or {}).get("weights_sha256")
    if scored_sha != best_sha:
        raise BadInputError(
            f"{path}: scored weights sha256 {str(scored_sha)[:12]}…, not {weights} "
            f"({best_sha[:12]}…); export and evaluate it (an evaluation from before "
            "eval recorded it must be re-run)"
        )
    if (metrics.get("model") or {}).get("detectors"):
        # a detector set's manifest names the model's weights too, but its figures are the
        # union's: teachers' boxes would pass for the checkpoint's own
        raise BadInputError(
            f"{path}: figures of a detector set (the model plus teachers); evaluate an export "
            "of the model alone"
        )
    skipped = n_skipped(metrics)
    if skipped:
        raise BadInputError(f"{path}: {skipped} images were skipped; evaluate on all of them")
    # a lower kappa counts a partly hidden face as hidden, a larger budget lets every photo be
    # hidden more: figures measured so are not the shipped checkpoint's
    kappa, budget = metrics.get("kappa"), metrics.get("budget")
    if not isinstance(kappa, (int, float)) or kappa < KAPPA:
        raise BadInputError(
            f"{path}: scored at kappa {kappa!r}; ship figures at kappa {KAPPA} or stricter"
        )
    if not isinstance(budget, (int, float)) or budget > DEFAULT_BUDGET:
        raise BadInputError(
            f"{path}: scored at an over-redaction budget of {budget!r}; ship figures at "
            f"{DEFAULT_BUDGET} or less"
        )
    source = (metrics.get("operating_point") or {}).get("source")
    if (metrics.get("model") or {}).get("calibration_source") == "thresholds_file":
        source = "thresholds_file"  # a manifest whose export read its thresholds from a file
    if source not in SHIPPABLE_SOURCES:
        raise BadInputError(
            f"{path}: thresholds from {source!r}; ship figures at thresholds fitted on val "
            f"({' or '.join(SHIPPABLE_SOURCES)})"
        )


def _models_root(name: str, dest_root: Path | None) -> Path:
    """The folder that holds the shipped checkpoints (default: the package's
    ``figure_ml/models``), once ``name`` is known to be a shipped name."""
    if name not in SHIPPED:
        raise BadInputError(f"--name {name!r}: add it to figure_ml.models.SHIPPED first")
    return Path(dest_root) if dest_root else Path(str(resources.files("figure_ml.models")))


def ship(
    run_dir: Path,
    eval_dir: Path,
    name: str,
    dest_root: Path | None = None,
    *,
    val_comparison: Path | None = None,
    accept_tie: bool = False,
) -> Path:
    """Copy ``run_dir``'s best checkpoint with its provenance into ``dest_root/name``
    (default: the package's ``figure_ml/models``); return that folder. A continuation needs
    ``val_comparison`` (module docstring)."""
    root = _models_root(name, dest_root)
    info = _read_json(run_dir / "run.json")
    if info.get("status") != "finished":
        raise BadInputError(
            f"{run_dir / 'run.json'}: status {info.get('status')!r}; ship a finished run "
            f"(continue it with python -m figure_ml.train resume={run_dir})"
        )
    best = run_dir / "weights" / "best.pt"
    if not best.is_file():
        raise BadInputError(f"{best}: missing")
    size = best.stat().st_size
    if size > MAX_BYTES:
        raise BadInputError(f"{best}: {size / 1e6:.1f} MB, over the {MAX_BYTES / 1e6:.0f} MB limit")
    metrics = _read_json(eval_dir / "metrics.json")
    best_sha = sha256_file(best)
    _check_scored(eval_dir / "metrics.json", metrics, info["dataset_digest"], best_sha)
    selection = _selection(
        val_comparison,
        _Chooser(
            init=info.get("init_weights"),
            shipped=root / name / "weights.pt",
            best_sha=best_sha,
            train_digest=info["dataset_digest"],
            scored={
                "digest": metrics["dataset"]["digest"],
                "split": metrics["dataset"]["split"],
                "budget": metrics["budget"],
                "kappa": metrics["kappa"],
            },
            accept_tie=accept_tie,
        ),
    )
    config = yaml.safe_load((run_dir / "config.yaml").read_text(encoding="utf-8")) or {}
    arch = str((config.get("model") or {}).get("name") or "yolo11n")
    real = converted_origin(info.get("init_weights")) is not None
    provenance = {
        "name": name,
        "file": "weights.pt",
        "sha256": best_sha,
        "size_bytes": size,
        "architecture": arch,
        "licence": f"AGPL-3.0 (ultralytics {arch} architecture and training code); trained on "
        "synthetic CC0 data only"
        + (
            "; started from weights trained on real photos (the converted start's source: "
            "init_weights, following parent_run)"
            if real
            else ""
        ),
        "git_commit": info["git_commit"],
        "dataset_digest": info["dataset_digest"],
        "recipe": {"experiment": info["experiment"], **config.get("trainer", {})},
        # what the run started from: None = random initialisation; else the parent checkpoint
        # (its name or path and sha256), e.g. the previous reference for reference_refresh,
        # with what that started from (parent_run) or, for a converted start, its source
        "init_weights": info.get("init_weights"),
        # the paired val comparison that chose it over the checkpoint it replaced
        "selection": selection,
        "seed": info["seed"],
        "versions": info["versions"],
        "cpu": cpu_model(),
        "training": _training_summary(run_dir),
        "test": _test_figures(metrics),
        "generator": generator_digest(),
    }
    return _swap_in(
        root, name, provenance, {"weights.pt": best, "config.yaml": run_dir / "config.yaml"}
    )


def _swap_in(root: Path, name: str, provenance: dict[str, Any], files: dict[str, Path]) -> Path:
    """Write ``root/name`` whole: ``files`` copied in, provenance and card written, in a folder
    beside the old one that is then swapped in, so a failure leaves the old checkpoint intact."""
    dest = root / name
    root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=root))
    try:
        tmp.chmod(0o755)  # mkdtemp makes it private; the package folder is not
        for file, src in files.items():
            shutil.copyfile(src, tmp / file)
        atomic.write_json(tmp / "provenance.json", provenance)
        (tmp / "MODEL_CARD.md").write_text(render_card(name, provenance), encoding="utf-8")
        old = root / f".{name}-old"
        shutil.rmtree(old, ignore_errors=True)  # left by a swap that was cut short
        if dest.exists():
            dest.rename(old)
        tmp.rename(dest)
        shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return dest


def rescore(
    eval_dir: Path, name: str, dest_root: Path | None = None, *, add_split: bool = False
) -> Path:
    """Replace the test figures of the checkpoint shipped as ``name`` with ``eval_dir``'s: an
    evaluation of the same weights (sha256) on the same test split (digest) as the figures it
    replaces, held to the checks :func:`ship` applies. For a change in how the redactor runs a
    checkpoint that stays; everything but ``test`` and ``more_tests`` in the provenance is kept.

    ``add_split``: a test split the card has no figures for is added to ``more_tests`` beside
    the first one, never in its place (a larger split tells a 5% miss rate from an 8% one where
    300 images cannot). Each split's figures are replaced only by a new evaluation of that
    split, so choosing among splits cannot hide a bad one."""
    root = _models_root(name, dest_root)
    dest = root / name
    provenance = _read_json(dest / "provenance.json")
    if sha256_file(dest / "weights.pt") != provenance["sha256"]:
        raise BadInputError(f"{dest / 'weights.pt'}: sha256 differs from its provenance.json")
    metrics_path = eval_dir / "metrics.json"
    metrics = _read_json(metrics_path)
    _check_scored(
        metrics_path,
        metrics,
        provenance["dataset_digest"],
        provenance["sha256"],
        weights=f"the shipped {name}",
    )
    if (metrics.get("model") or {}).get("nms_iou") is None:
        # re-measuring is for a change in how the model is run: the card must say how
        raise BadInputError(
            f"{metrics_path}: no model.nms_iou (an evaluation from before eval recorded it); "
            "evaluate again"
        )
    figures, digest = _test_figures(metrics), metrics["dataset"]["digest"]
    more = list(provenance.get("more_tests") or [])
    known = [t["dataset_digest"] for t in more]
    if digest == provenance["test"]["dataset_digest"]:
        provenance["test"] = figures
    elif digest in known:
        more[known.index(digest)] = figures
    elif add_split:
        more.append(figures)
    else:
        # the selection and the card's figures were made on these splits: another one is
        # added beside them, never swapped in for them
        was = ", ".join(f"{d[:12]}…" for d in [provenance["test"]["dataset_digest"], *known])
        raise BadInputError(
            f"{metrics_path}: test split digest {digest[:12]}…, not the {was} the card's "
            "figures were measured on; re-measure on that split, or add it beside them with "
            "--add-test-split"
        )
    if more:
        provenance["more_tests"] = more
    files = {f: dest / f for f in ("weights.pt", "config.yaml")}
    return _swap_in(root, name, provenance, files)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m figure_ml.models.ship", description=__doc__)
    ap.add_argument("--run-dir", type=Path, help="the finished training run to ship")
    ap.add_argument("--eval-dir", type=Path, required=True)
    ap.add_argument(
        "--rescore",
        action="store_true",
        help="keep the checkpoint shipped under --name and replace only its test figures with "
        "--eval-dir's (same weights, same test split; no --run-dir)",
    )
    ap.add_argument(
        "--add-test-split",
        action="store_true",
        help="with --rescore: --eval-dir scores a test split the card has no figures for; add "
        "its figures beside the card's first split (which stay)",
    )
    ap.add_argument("--name", default="reference", choices=SHIPPED)
    ap.add_argument(
        "--val-comparison",
        type=Path,
        help="output of python -m figure_ml.eval.compare (candidate: this run's best.pt, "
        "baseline: the checkpoint shipped under --name, or the parent where nothing ships; "
        "split=val): required for a continued or converted start",
    )
    ap.add_argument(
        "--accept-tie",
        action="store_true",
        help="ship on a no_difference verdict too (the shipped checkpoint must go: the "
        "generator changed)",
    )
    args = ap.parse_args(argv)
    if args.rescore == bool(args.run_dir):
        ap.error("give --run-dir to ship a run, or --rescore to re-measure what ships")
    if args.add_test_split and not args.rescore:
        ap.error("--add-test-split adds figures to what ships: give it with --rescore")
    if args.rescore and (args.val_comparison or args.accept_tie):
        ap.error("--rescore keeps the checkpoint: --val-comparison and --accept-tie choose one")
    try:
        if args.rescore:
            dest = rescore(args.eval_dir, args.name, add_split=args.add_test_split)
            print(f"re-measured {args.name}: {dest / 'MODEL_CARD.md'}")
            return 0
        dest = ship(
            args.run_dir,
            args.eval_dir,
            args.name,
            val_comparison=args.val_comparison,
            accept_tie=args.accept_tie,
        )
    except FigureMLError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"shipped {args.name}: {dest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
