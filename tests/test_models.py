"""Checkpoints shipped in the package (figure_ml.models): found offline by name, verified,
current with the generator, and put there by figure_ml.models.ship."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from conftest import phi_scene
from figure_ml import models
from figure_ml.config import ModelConfig
from figure_ml.errors import BadInputError, ConfigError
from figure_ml.models import card as card_mod
from figure_ml.models import ship as ship_mod

FIXTURE = Path(__file__).parent / "fixtures" / "yolo11n_synth_320.pt"


def test_reference_is_shipped_verified_and_small() -> None:
    ref = models.shipped_model("reference")
    p = ref.provenance
    assert ref.weights.is_file() and ref.weights.stat().st_size == p["size_bytes"]
    assert p["size_bytes"] < ship_mod.MAX_BYTES
    for key in ("git_commit", "dataset_digest", "recipe", "training", "test", "generator"):
        assert p[key], key
    assert p["test"]["dataset_digest"] != p["dataset_digest"]  # scored on another seed
    # the card is its provenance rendered: no figure in it that provenance.json lacks
    card = (ref.folder / "MODEL_CARD.md").read_text(encoding="utf-8")
    assert card == card_mod.render_card("reference", p)
    preset = yaml.safe_load((ref.folder / "config.yaml").read_text())["preset"]
    presets = ("reference", "reference_refresh", "real_init")
    assert preset in presets and preset == p["recipe"]["experiment"]
    # a refresh or a real-photo start continues a checkpoint: which one is recorded; a full
    # run starts cold
    assert bool(p.get("init_weights")) == (preset != "reference")
    assert "unknown" not in p["git_commit"] and "dirty" not in p["git_commit"]
    assert models.resolve_weights("reference") == str(ref.weights)
    assert models.resolve_weights("/x/y.pt") == "/x/y.pt" and models.resolve_weights(None) is None


def test_weights_names_are_shipped_names_or_local_files() -> None:
    ModelConfig(weights="reference").validate()
    ModelConfig(weights="/local/best.pt").validate()
    with pytest.raises(ConfigError, match="reference"):
        ModelConfig(weights="yolo11n").validate()  # ultralytics would download it
    with pytest.raises(ConfigError, match="unknown shipped model"):
        models.shipped_model("yolo11n")


def test_reference_loads_offline_by_name_and_finds_a_face() -> None:
    # the suite's socket block is on: nothing can be downloaded while this loads and predicts
    import numpy as np

    from figure_ml.boxes import iou_matrix
    from figure_ml.classes import class_id
    from figure_ml.eval.predictors import make_predictor

    img, face_box, _ = phi_scene()
    pred = make_predictor(Path(models.resolve_weights("reference")), conf=0.05)  # its own size
    det = pred.predict(np.asarray(img))
    faces = det.boxes[det.classes == class_id("face")]
    assert len(faces) and iou_matrix(np.array([face_box]), faces).max() > 0.5


def test_a_changed_checkpoint_is_refused(tmp_path, monkeypatch) -> None:
    src = models.shipped_model("reference").folder
    shutil.copytree(src, tmp_path / "reference")
    with (tmp_path / "reference" / "weights.pt").open("ab") as f:
        f.write(b"\0")
    monkeypatch.setattr(models.resources, "files", lambda _pkg: tmp_path)
    with pytest.raises(BadInputError, match=r"weights\.pt: sha256 .* does not match"):
        models.resolve_weights("reference")


def test_reference_is_current_with_the_generator() -> None:
    """The generator's output changed since the reference was trained: retrain it
    (`python -m figure_ml.train experiment=reference`, then figure_ml.models.ship)."""
    recorded = models.shipped_model("reference").provenance["generator"]
    now = ship_mod.generator_digest()
    if now["versions"] != recorded["versions"]:
        pytest.skip(f"image libraries differ from the reference's: {now['versions']}")
    assert now["digest"] == recorded["digest"], test_reference_is_current_with_the_generator.__doc__


def _fake_run(root: Path, status: str = "finished", **extra) -> tuple[Path, Path]:
    run, ev = root / "run", root / "eval"
    (run / "weights").mkdir(parents=True)
    ev.mkdir()
    shutil.copy(FIXTURE, run / "weights" / "best.pt")
    (run / "config.yaml").write_text("preset: reference\ntrainer: {epochs: 2, imgsz: 320}\n")
    info = {"status": status, "git_commit": "abc", "dataset_digest": "d" * 64,
            "experiment": "reference", "seed": 0, "versions": {"torch": "x"}, **extra}  # fmt: skip
    (run / "run.json").write_text(json.dumps(info))
    head = "epoch,time,metrics/mAP50(B),metrics/mAP50-95(B)\n"
    (run / "results.csv").write_text(head + "1,100,0.2,0.1\n2,210,0.4,0.2\n")
    per = {"n_gt": 10, "n_missed": 2, "miss_rate": 0.2, "miss_rate_upper": 0.5,
           "miss_at_budget": 0.3, "miss_at_budget_ci_exact": [0.07, 0.65],
           "miss_at_budget_upper": 0.65, "n_missed_at_budget": 3}  # fmt: skip
    metrics = {
        "dataset": {
            "digest": "e" * 64,
            "split": "test",
            "synthetic": True,
            "n_skipped": {"test": 0},
        },
        "model": {"weights_sha256": models.sha256_file(FIXTURE)},
        "operating_point": {"source": "manifest"},
        "n_images": 5,
        "budget": 0.05,
        "kappa": 0.95,
        "at_budget": {"threshold": 0.4, "over_redaction": 0.049, "budget": 0.05},
        "over_redaction": 0.08,
        "over_redaction_ci": [0.05, 0.1],
        "thresholds": {"face": 0.2},
        "padding": {"face": 0.1},
        "per_class": {c: per for c in ("face", "tattoo", "wristband", "text")},
    }
    (ev / "metrics.json").write_text(json.dumps(metrics))
    return run, ev


def test_ship_writes_the_folder_whole(tmp_path) -> None:
    run, ev = _fake_run(tmp_path)
    dest = ship_mod.ship(run, ev, "reference", dest_root=tmp_path / "pkg")
    p = json.loads((dest / "provenance.json").read_text())
    assert p["sha256"] == models.sha256_file(dest / "weights.pt")
    assert p["training"] == {"epochs_done": 2, "best_epoch": 2, "val_map50": 0.4,
                             "val_map50_95": 0.2, "train_seconds": 210.0}  # fmt: skip
    assert p["test"]["per_class"]["face"]["n_missed_at_budget"] == 3
    assert p["generator"]["digest"] == ship_mod.generator_digest()["digest"]
    card = (dest / "MODEL_CARD.md").read_text()
    assert "| face | 10 | 2 (20.0%) | 3 (30.0%) | 7.0%-65.0% |" in card
    assert "counts as hidden when at least 95% of it is covered (kappa)" in card
    assert sorted(x.name for x in (tmp_path / "pkg").iterdir()) == ["reference"]
    assert p["init_weights"] is None and "from random initialisation" in card


def test_rescore_replaces_only_the_test_figures(tmp_path) -> None:
    """A checkpoint that stays while the redactor runs it differently (NMS) gets its figures
    re-measured: same weights, same test split; weights, lineage and training stay."""
    run, ev = _fake_run(tmp_path)
    dest = ship_mod.ship(run, ev, "reference", dest_root=tmp_path / "pkg")
    before = json.loads((dest / "provenance.json").read_text())
    m = json.loads((ev / "metrics.json").read_text())
    m["model"]["nms_iou"] = 0.9
    m["git_commit"] = "0123456789abcdef"
    m["per_class"]["face"] = m["per_class"]["face"] | {
        "n_missed_at_budget": 1,
        "miss_at_budget": 0.1,
    }
    ev2 = tmp_path / "eval2"
    ev2.mkdir()
    (ev2 / "metrics.json").write_text(json.dumps(m))
    for args in (["--run-dir", str(run)], ["--val-comparison", str(ev2)], ["--accept-tie"]):
        with pytest.raises(SystemExit):  # argparse refuses it before anything is read
            ship_mod.main(["--rescore", "--eval-dir", str(ev2), *args])
    ship_mod.rescore(ev2, "reference", dest_root=tmp_path / "pkg")
    after = json.loads((dest / "provenance.json").read_text())
    assert after["test"]["per_class"]["face"]["n_missed_at_budget"] == 1
    assert (after["test"]["nms_iou"], after["test"]["git_commit"]) == (0.9, "0123456789abcdef")
    assert {k: v for k, v in after.items() if k != "test"} == {
        k: v for k, v in before.items() if k != "test"
    }
    card = (dest / "MODEL_CARD.md").read_text()
    assert "| face | 10 | 2 (20.0%) | 1 (10.0%) |" in card
    assert "(kappa); every box grown by 0.1 of its size on each side." in card
    assert "0.9, one pass (no mirrored pass). Evaluated by commit `0123456789ab`." in card
    assert models.sha256_file(dest / "weights.pt") == before["sha256"]
    assert (dest / "config.yaml").read_text() == (run / "config.yaml").read_text()
    # another test split, other weights, a detector set's union, or figures that do not say
    # their NMS cannot replace the figures
    for i, (change, match) in enumerate(
        [
            (lambda m: m["dataset"].update(digest="9" * 64), "not the eeeeeeeeeeee"),
            (lambda m: m["model"].update(weights_sha256="0" * 64), "not the shipped reference"),
            (lambda m: m["model"].update(detectors=[{"name": "centerface"}]), "detector set"),
            (lambda m: m["model"].pop("nms_iou"), "no model.nms_iou"),
        ]
    ):
        bad = json.loads(json.dumps(m))
        change(bad)
        (tmp_path / f"bad{i}").mkdir()
        (tmp_path / f"bad{i}" / "metrics.json").write_text(json.dumps(bad))
        with pytest.raises(BadInputError, match=match):
            ship_mod.rescore(tmp_path / f"bad{i}", "reference", dest_root=tmp_path / "pkg")
    assert json.loads((dest / "provenance.json").read_text()) == after
    # a weights file that is not the one its provenance names: refused, nothing written
    (dest / "weights.pt").write_bytes(b"other")
    with pytest.raises(BadInputError, match=r"sha256 differs from its provenance\.json"):
        ship_mod.rescore(ev2, "reference", dest_root=tmp_path / "pkg")
    assert json.loads((dest / "provenance.json").read_text()) == after


def test_a_further_test_split_is_added_beside_the_first(tmp_path) -> None:
    """A larger test split adds figures to the card; the first split's stay, and each split's
    figures are replaced only by an evaluation of that split."""
    run, ev = _fake_run(tmp_path)
    dest = ship_mod.ship(run, ev, "reference", dest_root=tmp_path / "pkg")
    before = json.loads((dest / "provenance.json").read_text())
    m = json.loads((ev / "metrics.json").read_text())
    m["dataset"]["digest"] = "9" * 64
    m["n_images"], m["model"]["nms_iou"], m["model"]["flip_tta"] = 1500, 0.9, True
    m["padding"] = {"face": 0.05, "tattoo": 0.05, "wristband": 0.15, "text": 0.05}
    m["per_class"]["tattoo"] = m["per_class"]["tattoo"] | {"n_gt": 400, "n_missed_at_budget": 18,
                                                           "miss_at_budget": 0.045}  # fmt: skip
    big = tmp_path / "big"
    big.mkdir()
    (big / "metrics.json").write_text(json.dumps(m))
    with pytest.raises(BadInputError, match="--add-test-split"):
        ship_mod.rescore(big, "reference", dest_root=tmp_path / "pkg")
    with pytest.raises(SystemExit):  # adding is a rescore: refused with --run-dir
        ship_mod.main(["--add-test-split", "--run-dir", str(run), "--eval-dir", str(big)])
    ship_mod.rescore(big, "reference", dest_root=tmp_path / "pkg", add_split=True)
    after = json.loads((dest / "provenance.json").read_text())
    assert after["test"] == before["test"]
    assert [t["dataset_digest"] for t in after["more_tests"]] == ["9" * 64]
    assert after["more_tests"][0]["per_class"]["tattoo"]["n_missed_at_budget"] == 18
    card = (dest / "MODEL_CARD.md").read_text()
    first, further = card.split("## Measured on a further synthetic test split (1500 images, "
                                "digest `999999999999`)")  # fmt: skip
    assert "| tattoo | 10 | 2 (20.0%) | 3 (30.0%) |" in first
    assert "| tattoo | 400 | 2 (20.0%) | 18 (4.5%) |" in further
    assert "the figures of the split above stay as they were" in further
    assert "(face 0.05, tattoo 0.05, wristband 0.15, text 0.05)" in further
    assert "both passes merged" in further and "both passes merged" not in first
    # that split re-measured (the same digest): replaced, not added twice; the first stays
    m["per_class"]["tattoo"]["n_missed_at_budget"] = 17
    (big / "metrics.json").write_text(json.dumps(m))
    ship_mod.rescore(big, "reference", dest_root=tmp_path / "pkg")
    again = json.loads((dest / "provenance.json").read_text())
    assert len(again["more_tests"]) == 1 and again["test"] == before["test"]
    assert again["more_tests"][0]["per_class"]["tattoo"]["n_missed_at_budget"] == 17
    # an added split is held to the same checks: other weights are refused, nothing written
    m["model"]["weights_sha256"] = "0" * 64
    m["dataset"]["digest"] = "8" * 64
    (big / "metrics.json").write_text(json.dumps(m))
    with pytest.raises(BadInputError, match="not the shipped reference"):
        ship_mod.rescore(big, "reference", dest_root=tmp_path / "pkg", add_split=True)
    assert json.loads((dest / "provenance.json").read_text()) == again


PARENT = {"spec": "reference", "sha256": "f" * 64, "shipped": True}
#: a run.json init_weights of model.weights=nudenet, as training records it
CONVERTED_START = {"spec": "nudenet", "sha256": "a" * 64, "shipped": False, "converted": True,
                   "source": {"package": "nudenet", "package_version": "3.4.2",
                              "sha256": "b" * 64, "model_file": "nudenet/320n.onnx",
                              "licence": "AGPL-3.0"}}  # fmt: skip


def _fake_comparison(root: Path, run: Path, verdict: str = "better", **dataset) -> Path:
    """A comparison.json as python -m figure_ml.eval.compare writes it (val of seed 204)."""
    out = root / "cmp"
    out.mkdir()
    row = {"name": "all", "n_gt": 825, "missed_candidate": 30, "missed_baseline": 41,
           "only_candidate": 5, "only_baseline": 16, "difference": -11 / 825,
           "ci": [-0.024, -0.004], "ci_exact": [-0.025, -0.003], "lower": -0.025,
           "upper": -0.003}  # fmt: skip
    c = {
        "verdict": verdict,
        "budget": 0.05,
        "kappa": 0.95,
        "padding": dict.fromkeys(("face", "tattoo", "wristband", "text"), 0.1),
        "bootstrap": {"resamples": 1000, "seed": 0},
        "n_images": 300,
        "candidate": {"spec": "best.pt", "sha256": models.sha256_file(run / "weights/best.pt")},
        "baseline": {"spec": "reference", "sha256": PARENT["sha256"]},
        "dataset": {"digest": "c" * 64, "split": "val", "n_skipped": 0, **dataset},
        "all": row,
        "per_class": {"face": row | {"name": "face"}},
        "over_redaction": {"candidate": 0.049, "baseline": 0.05, "difference": -0.001},
    }
    (out / "comparison.json").write_text(json.dumps(c))
    return out


def test_a_refreshed_checkpoint_names_its_parent_and_how_it_beat_it(tmp_path) -> None:
    """experiment=reference_refresh continues the shipped reference: the provenance and card
    say which checkpoint it started from and the paired val comparison that chose it."""
    run, ev = _fake_run(tmp_path, init_weights=PARENT, experiment="reference_refresh")
    cmp = _fake_comparison(tmp_path, run)
    dest = ship_mod.ship(run, ev, "reference", dest_root=tmp_path / "pkg", val_comparison=cmp)
    p = json.loads((dest / "provenance.json").read_text())
    assert p["init_weights"] == PARENT and p["recipe"]["experiment"] == "reference_refresh"
    assert p["selection"]["verdict"] == "better" and p["selection"]["all"]["missed_baseline"] == 41
    card = (dest / "MODEL_CARD.md").read_text()
    assert "continued from `reference` (sha256 `ffffffffffffffff…`" in card
    assert "random initialisation" not in card
    assert "chosen over `reference` (sha256 `ffffffffffffffff…`) on a val split" in card
    assert "missed 30 of 825 PHI boxes against its 41, difference -1.33 points " in card
    assert "(95% CI [-2.50, -0.30])" in card
    # a comparison from before compare recorded its NMS ran at 0.7; a newer one names its own
    assert "at the 5% budget (NMS IoU 0.7, not recorded then; `python -m" in card
    sel = p["selection"] | {"baseline": p["selection"]["baseline"] | {"nms_iou": 0.9}}
    assert "at the 5% budget (NMS IoU 0.9; `python -m" in card_mod._selection_lines(sel)[0]


def test_a_continuation_ships_only_over_a_paired_val_win(tmp_path) -> None:
    """The rule that kept the parent when a continuation led a val split by 5 of 825 boxes:
    without a comparison, or with one that is not a win on a fair split, nothing ships."""
    pkg = tmp_path / "pkg"

    def attempt(name, verdict="better", accept_tie=False, edit=None, **dataset):
        run, ev = _fake_run(tmp_path / name, init_weights=PARENT)
        cmp = _fake_comparison(tmp_path / name, run, verdict, **dataset)
        if edit:  # change the written comparison.json
            c = json.loads((cmp / "comparison.json").read_text())
            edit(c)
            (cmp / "comparison.json").write_text(json.dumps(c))
        return ship_mod.ship(run, ev, "reference", pkg, val_comparison=cmp, accept_tie=accept_tie)

    run, ev = _fake_run(tmp_path / "none", init_weights=PARENT)
    with pytest.raises(BadInputError, match=r"continued 'reference'.*--val-comparison"):
        ship_mod.ship(run, ev, "reference", dest_root=pkg)
    with pytest.raises(BadInputError, match=r"verdict 'no_difference' \(missed at the 5% "):
        attempt("tie", "no_difference")
    with pytest.raises(BadInputError, match="verdict 'worse'"):
        attempt("worse", "worse", accept_tie=True)
    with pytest.raises(BadInputError, match="the training dataset"):
        attempt("train", digest="d" * 64)
    with pytest.raises(BadInputError, match="compared on 'test'; choose on a val split"):
        attempt("test", digest="e" * 64, split="test")
    with pytest.raises(BadInputError, match="has no digest"):
        attempt("yolo", digest=None)  # a YOLO folder: nothing says it is not the training data
    with pytest.raises(BadInputError, match="3 images were skipped"):
        attempt("skipped", n_skipped=3)
    with pytest.raises(BadInputError, match="not the parent 'reference'"):
        attempt("other", edit=lambda c: c["baseline"].update(sha256="0" * 64))
    with pytest.raises(BadInputError, match=r"not this run's weights/best\.pt"):
        attempt("cand", edit=lambda c: c["candidate"].update(sha256="0" * 64))
    with pytest.raises(BadInputError, match=r"predicted with \{'imgsz': 800\} and the baseline"):
        attempt("imgsz", edit=lambda c: c["candidate"].update(predictor_overrides={"imgsz": 800}))
    with pytest.raises(BadInputError, match=r"budget 0\.3 differs from the scored evaluation's"):
        attempt("budget", edit=lambda c: c.update(budget=0.3))
    with pytest.raises(BadInputError, match="200 bootstrap resamples"):
        attempt("few", edit=lambda c: c["bootstrap"].update(resamples=200))
    with pytest.raises(BadInputError, match=r"comparison.json: not a comparison .*'verdict'"):
        attempt("truncated", edit=lambda c: c.pop("verdict"))
    assert not (pkg / "reference").exists()
    dest = attempt("accepted", "no_difference", accept_tie=True)
    p = json.loads((dest / "provenance.json").read_text())
    assert p["selection"]["accepted_tie"] is True
    assert (
        "a tie accepted because the checkpoint it replaced had to go"
        in (dest / "MODEL_CARD.md").read_text()
    )


def test_a_run_from_scratch_is_compared_with_the_checkpoint_it_replaces(tmp_path) -> None:
    """No parent: a comparison, when given, must be against what is shipped under that name."""
    pkg = tmp_path / "pkg"
    run, ev = _fake_run(tmp_path / "first")
    cmp = _fake_comparison(tmp_path / "first", run)
    with pytest.raises(BadInputError, match="no parent and nothing shipped"):
        ship_mod.ship(run, ev, "reference", pkg, val_comparison=cmp)
    ship_mod.ship(run, ev, "reference", pkg)  # the first one ships without a comparison
    run, ev = _fake_run(tmp_path / "second")
    with pytest.raises(BadInputError, match=r"random initialisation replaces it only over"):
        ship_mod.ship(run, ev, "reference", pkg)  # the second one must beat the first
    cmp = _fake_comparison(tmp_path / "second", run)
    with pytest.raises(BadInputError, match="not the checkpoint it replaces"):
        ship_mod.ship(run, ev, "reference", pkg, val_comparison=cmp)
    c = json.loads((cmp / "comparison.json").read_text())
    c["baseline"]["sha256"] = models.sha256_file(pkg / "reference" / "weights.pt")
    (cmp / "comparison.json").write_text(json.dumps(c))
    dest = ship_mod.ship(run, ev, "reference", pkg, val_comparison=cmp)
    assert json.loads((dest / "provenance.json").read_text())["selection"]["verdict"] == "better"


def test_ship_refuses_what_cannot_be_vouched_for(tmp_path) -> None:
    run, ev = _fake_run(tmp_path / "a", status="interrupted")
    with pytest.raises(BadInputError, match=r"status 'interrupted'.*resume="):
        ship_mod.ship(run, ev, "reference", dest_root=tmp_path / "pkg")
    # figures at a lenient kappa or budget are not the figures a card promises
    for key, value, msg in (("kappa", 0.3, "kappa 0.3"), ("budget", 0.5, "budget of 0.5")):
        run, ev = _fake_run(tmp_path / key)
        m = json.loads((ev / "metrics.json").read_text())
        m[key] = value
        (ev / "metrics.json").write_text(json.dumps(m))
        with pytest.raises(BadInputError, match=msg):
            ship_mod.ship(run, ev, "reference", dest_root=tmp_path / "pkg")
    assert not (tmp_path / "pkg" / "reference").exists()
    run, ev = _fake_run(tmp_path / "b")
    m = json.loads((ev / "metrics.json").read_text())
    m["dataset"]["digest"] = "d" * 64  # the training data
    (ev / "metrics.json").write_text(json.dumps(m))
    with pytest.raises(BadInputError, match="training dataset"):
        ship_mod.ship(run, ev, "reference", dest_root=tmp_path / "pkg")
    # figures of another model, of a reduced set, of val, or at thresholds typed in
    for i, (change, match) in enumerate(
        [
            (lambda m: m["model"].update(weights_sha256="0" * 64), "not this run's best.pt"),
            (lambda m: m["model"].pop("weights_sha256"), "not this run's best.pt"),
            (lambda m: m["dataset"].update(n_skipped={"test": 40}), "40 images were skipped"),
            (lambda m: m["dataset"].update(split="val"), "not a synthetic test split"),
            # the union of a detector set: teachers' boxes are not the checkpoint's
            (lambda m: m["model"].update(detectors=[{"name": "centerface"}]), "detector set"),
            (lambda m: m["operating_point"].update(source="config"), "thresholds from 'config'"),
            # a manifest whose export read its thresholds from a file
            (
                lambda m: m["model"].update(calibration_source="thresholds_file"),
                "thresholds from 'thresholds_file'",
            ),
        ]
    ):
        run, ev = _fake_run(tmp_path / f"c{i}")
        m = json.loads((ev / "metrics.json").read_text())
        change(m)
        (ev / "metrics.json").write_text(json.dumps(m))
        with pytest.raises(BadInputError, match=match):
            ship_mod.ship(run, ev, "reference", dest_root=tmp_path / "pkg")
    assert not (tmp_path / "pkg" / "reference").exists()


def test_export_of_a_held_out_set_takes_int8_ranges_from_val(tmp_path) -> None:
    # the reference is exported on a set generated for it with no train split (README): INT8
    # ranges then come from val, the split the thresholds are fitted on; test stays unseen
    from types import SimpleNamespace

    import numpy as np

    from figure_ml.config import SynthConfig
    from figure_ml.data.synth import generate
    from figure_ml.eval.data import load_eval_data
    from figure_ml.export.run import _calibration_images

    cfg = SynthConfig(out_dir=str(tmp_path / "held"), n_train=0, n_val=3, n_test=2,
                      long_side=[320, 320], workers=1)  # fmt: skip
    ds = generate(cfg)
    images = _calibration_images(SimpleNamespace(data_path=ds.path, data_format="auto"), 2, "val")
    val = load_eval_data(ds.path, "val").items
    assert len(images) == 2 and len(val) == 3  # every len(val) // 2-th image: 0 and 1
    assert all(np.array_equal(img, val[i].read()[0]) for i, img in enumerate(images))


def test_a_run_from_a_converted_start_ships_only_over_the_checkpoint_it_replaces(tmp_path) -> None:
    """model.weights=nudenet is no parent (it never shipped): such a run must beat the
    checkpoint shipped under the name on a val split, and its card says where it started."""
    pkg = tmp_path / "pkg"
    (pkg / "reference").mkdir(parents=True)
    shipped = pkg / "reference" / "weights.pt"
    shipped.write_bytes(b"the reference shipped now")
    start = CONVERTED_START
    run, ev = _fake_run(tmp_path, init_weights=start, experiment="real_init")
    (run / "config.yaml").write_text(
        "preset: real_init\nmodel: {name: yolov8n}\ntrainer: {epochs: 2, imgsz: 320}\n"
    )
    with pytest.raises(BadInputError, match=r"started from 'nudenet'.*baseline=NAME"):
        ship_mod.ship(run, ev, "reference", dest_root=pkg)
    cmp = _fake_comparison(tmp_path, run)  # baseline: the PARENT sha, not what ships now
    with pytest.raises(BadInputError, match="baseline is not the checkpoint it replaces"):
        ship_mod.ship(run, ev, "reference", dest_root=pkg, val_comparison=cmp)
    c = json.loads((cmp / "comparison.json").read_text())
    c["baseline"]["sha256"] = models.sha256_file(shipped)
    (cmp / "comparison.json").write_text(json.dumps(c))
    dest = ship_mod.ship(run, ev, "reference", dest_root=pkg, val_comparison=cmp)
    p = json.loads((dest / "provenance.json").read_text())
    assert p["architecture"] == "yolov8n" and "real photos" in p["licence"]
    card = (dest / "MODEL_CARD.md").read_text()
    assert "YOLOV8N, 2 epochs" in card
    assert "started from `nudenet` (converted from `nudenet/320n.onnx` of nudenet 3.4.2" in card


def test_a_continuation_of_a_local_run_must_beat_what_ships_not_only_its_parent(
    tmp_path,
) -> None:
    """nudenet -> run A -> run B: B beating A on val says nothing about the shipped reference
    that B would replace, so the comparison must be against that checkpoint."""
    pkg = tmp_path / "pkg"
    (pkg / "reference").mkdir(parents=True)
    shipped = pkg / "reference" / "weights.pt"
    shipped.write_bytes(b"the reference shipped now")
    local_parent = {"spec": "/runs/a/weights/best.pt", "sha256": "f" * 64, "shipped": False}
    run, ev = _fake_run(tmp_path, init_weights=local_parent)
    cmp = _fake_comparison(tmp_path, run)  # a win over the parent A ("f" * 64)
    with pytest.raises(BadInputError, match=r"baseline is not the checkpoint it replaces \(ship"):
        ship_mod.ship(run, ev, "reference", dest_root=pkg, val_comparison=cmp)
    with pytest.raises(BadInputError, match=r"continued '/runs/a/weights/best.pt'.*baseline=NAME"):
        ship_mod.ship(run, ev, "reference", dest_root=pkg)
    replaced = models.sha256_file(shipped)
    c = json.loads((cmp / "comparison.json").read_text())
    c["baseline"]["sha256"] = replaced
    (cmp / "comparison.json").write_text(json.dumps(c))
    dest = ship_mod.ship(run, ev, "reference", dest_root=pkg, val_comparison=cmp)
    p = json.loads((dest / "provenance.json").read_text())
    assert p["selection"]["baseline"]["sha256"] == replaced
    assert p["init_weights"] == local_parent


def test_a_chain_of_continuations_keeps_its_converted_origin(tmp_path, caplog) -> None:
    """Training from RUN/weights/best.pt records that run's own start (parent_run), so a model
    continued twice from a nudenet-started run still says, when shipped, that its lineage
    began on real photos and under which licence."""
    from figure_ml.train.run import _init_weights

    start = CONVERTED_START
    run_a, _ = _fake_run(tmp_path / "a", init_weights=start, experiment="real_init")
    a_best = str(run_a / "weights" / "best.pt")
    init_b = _init_weights(a_best, a_best)
    assert init_b["parent_run"]["init_weights"] == start and not init_b["converted"]
    assert init_b["parent_run"]["experiment"] == "real_init"
    assert init_b["parent_run"]["run"] == "run"  # the folder's name, not a local path
    run_b, _ = _fake_run(tmp_path / "b", init_weights=init_b)
    link = run_b / "weights" / "linked.pt"  # a symlink names its own run
    link.symlink_to(FIXTURE)
    init_c = _init_weights(str(link), str(link))
    assert init_c["parent_run"]["init_weights"] == init_b
    assert card_mod.converted_origin(init_c) == start  # two runs deep
    loose = tmp_path / "loose.pt"  # a file outside any run folder: no lineage, no error
    shutil.copy(FIXTURE, loose)
    assert "parent_run" not in _init_weights(str(loose), str(loose))
    assert card_mod.converted_origin(_init_weights(str(loose), str(loose))) is None
    (run_a / "run.json").write_text("[1, 2]")  # unreadable lineage: a warning, not a failure
    with caplog.at_level("WARNING"):
        assert "parent_run" not in _init_weights(a_best, a_best)
    assert "lineage of" in caplog.text and "run.json" in caplog.text

    pkg = tmp_path / "pkg"
    (pkg / "reference").mkdir(parents=True)
    (pkg / "reference" / "weights.pt").write_bytes(b"the reference shipped now")
    run_c, ev = _fake_run(tmp_path / "c", init_weights=init_c)
    cmp = _fake_comparison(tmp_path / "c", run_c)
    c = json.loads((cmp / "comparison.json").read_text())
    c["baseline"]["sha256"] = models.sha256_file(pkg / "reference" / "weights.pt")
    (cmp / "comparison.json").write_text(json.dumps(c))
    dest = ship_mod.ship(run_c, ev, "reference", dest_root=pkg, val_comparison=cmp)
    p = json.loads((dest / "provenance.json").read_text())
    assert "real photos" in p["licence"]
    card = (dest / "MODEL_CARD.md").read_text()
    assert "the best epoch of run `run`" in card
    assert "its lineage began at `nudenet` (converted from `nudenet/320n.onnx`" in card


def test_a_start_records_the_lineage_of_a_shipped_name_and_of_a_converted_file(tmp_path) -> None:
    """A shipped name carries its own provenance's start forward (so a real-photo origin
    survives a refresh), and the converted file given by path is recognised as converted."""
    import torch

    from figure_ml.train.run import _init_weights

    ref = models.shipped_model("reference")
    init = _init_weights("reference", str(ref.weights))
    assert init["shipped"] and init["parent_run"]["shipped"] == "reference"
    assert init["parent_run"]["init_weights"] == ref.provenance.get("init_weights")
    converted = tmp_path / "nudenet-start.pt"
    source = {"package": "nudenet", "model_file": "nudenet/320n.onnx", "licence": "AGPL-3.0"}
    torch.save({"model": None, "figure_ml_init": source}, converted)
    by_path = _init_weights(str(converted), str(converted))
    assert by_path["converted"] and by_path["source"] == source
    assert card_mod.converted_origin(by_path) == by_path
