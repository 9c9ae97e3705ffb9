"""The evaluation runner with a stand-in predictor: outputs, calibration, gates, bad input."""

import hashlib
import io
import json
import shutil
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from figure_ml.config import EvalConfig, SynthConfig, to_typed
from figure_ml.data.synth import generate
from figure_ml.errors import BadInputError, ConfigError, DatasetError
from figure_ml.eval.data import load_eval_data
from figure_ml.eval.records import Detections
from figure_ml.eval.run import evaluate


class OraclePredictor:
    """Returns each image's GT boxes, with score 0.9 for even and 0.2 for odd box indices (0.15
    on val images, so a threshold calibrated on val differs from one calibrated on test) and
    the text class dropped entirely — known miss rates to check the pipeline against."""

    imgsz = 640
    description = "oracle"

    def __init__(self, data_dirs):
        self.truth = {}
        for path, split in data_dirs:
            for item in load_eval_data(path, split).items:
                image, gt = item.read()
                self.truth[hashlib.sha1(image.tobytes()).hexdigest()] = (gt, split)
        self.calls = 0

    def predict(self, image):
        self.calls += 1
        gt, split = self.truth[hashlib.sha1(image.tobytes()).hexdigest()]
        keep = gt.classes != 3
        low = 0.15 if split == "val" else 0.2
        scores = np.where(np.arange(len(gt.classes)) % 2 == 0, 0.9, low)[keep]
        return Detections(gt.boxes[keep], scores, gt.classes[keep])


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    cfg = SynthConfig(
        out_dir=str(tmp_path_factory.mktemp("e") / "ds"),
        n_train=2,
        n_val=6,
        n_test=8,
        seed=3,
        phi_per_image=[3, 6],
        long_side=[320, 400],
        workers=1,
    )
    return generate(cfg)


@pytest.fixture(scope="module")
def oracle(dataset):
    return OraclePredictor([(dataset.path, "val"), (dataset.path, "test")])


def _cfg(dataset, tmp_path, **kw):
    weights = tmp_path / "model.onnx"
    weights.write_bytes(b"not used by the oracle")
    base = {
        "weights": str(weights),
        "data": {"path": str(dataset.path)},
        "split": "test",
        "out_dir": str(tmp_path / "eval"),
        "tracking": {"backend": "none"},
        "bootstrap_resamples": 200,
    }
    return to_typed({**base, **kw}, EvalConfig)


def _expected(dataset, split, tau):
    rows = list(dataset.iter_samples(split))
    per_class = {c: [0, 0] for c in range(4)}
    for r in rows:
        for k, o in enumerate(r["objects"]):
            missed = o["category"] == 3 or (k % 2 == 1 and tau[o["category"]] > 0.2)
            per_class[o["category"]][0] += missed
            per_class[o["category"]][1] += 1
    return per_class


def test_outputs_and_known_miss_rates(dataset, oracle, tmp_path):
    res = evaluate(_cfg(dataset, tmp_path), predictor=oracle)
    m = json.loads((tmp_path / "eval" / "metrics.json").read_text())
    exp = _expected(dataset, "test", [0.25] * 4)
    for c, name in enumerate(["face", "tattoo", "wristband", "text"]):
        missed, total = exp[c]
        pc = m["per_class"][name]
        assert pc["n_gt"] == total
        assert pc["miss_rate"] == pytest.approx(missed / total)
        low, high = pc["miss_rate_ci"]
        assert low <= pc["miss_rate"] <= high
    assert m["per_class"]["text"]["miss_rate"] == 1.0
    assert m["thresholds"] == {"face": 0.25, "tattoo": 0.25, "wristband": 0.25, "text": 0.25}
    assert set(m["slices"]) == {"size", "skin_tone", "source", "photo_size", "restraint"}
    assert "synth" in m["slices"]["source"]
    # every test frame is small: one photo-size band, holding them all, and the report says so
    assert list(m["slices"]["photo_size"]) == ["<=1024px"]
    assert m["slices"]["photo_size"]["<=1024px"]["n_images"] == m["n_images"]
    assert "Every photo of this split is <=1024px" in (tmp_path / "eval" / "report.md").read_text()
    assert m["model"]["tiling"] is None  # predictor.strategy=whole: no photo is tiled
    assert m["dataset"]["digest"] == dataset.digest
    for f in (
        "report.md",
        "miss_rate_vs_threshold.png",
        "precision_recall.png",
        "miss_rate_by_size.png",
        "miss_rate_by_skin_tone.png",
    ):
        assert (tmp_path / "eval" / f).is_file(), f
    assert "| face |" in (tmp_path / "eval" / "report.md").read_text()
    assert res.passed  # no gate asked


def test_calibration_uses_val_and_lowers_thresholds_to_meet_targets(dataset, oracle, tmp_path):
    targets = {"face": 0.0, "tattoo": 0.0, "wristband": 0.0, "text": 0.5}
    res = evaluate(
        _cfg(dataset, tmp_path, calibrate=True, calibration={"targets": targets}), predictor=oracle
    )
    t = json.loads((tmp_path / "eval" / "thresholds.json").read_text())["thresholds"]
    cal = res.metrics["calibration"]
    checked = 0
    for name in ("face", "tattoo", "wristband"):
        if cal[name]["n_gt"] < 2:  # needs an odd-indexed (score 0.2) box in val
            continue
        # every odd val box has score 0.15 (0.2 on test): to miss none on val, the threshold
        # must come down to 0.15 — a calibration on test would stop at 0.2
        assert t[name] == pytest.approx(0.15) and cal[name]["target_met"]
        assert res.metrics["per_class"][name]["miss_rate"] == 0.0
        checked += 1
    assert checked >= 2
    assert cal["text"]["target_met"] is False  # the oracle never predicts text


def test_gates_pass_and_fail(dataset, oracle, tmp_path):
    lax = tmp_path / "lax.yaml"
    lax.write_text("max_miss_rate: {face: 1.0, tattoo: 1.0, wristband: 1.0, text: 1.0}\n")
    loose = evaluate(_cfg(dataset, tmp_path, gate=str(lax)), predictor=oracle)
    assert loose.passed and loose.metrics["gates"]["passed"]
    # the smoke gate can fail: the oracle never predicts text
    smoke = evaluate(_cfg(dataset, tmp_path, gate="smoke"), predictor=oracle)
    assert not smoke.passed and "miss_rate[text]" in [g.name for g in smoke.gates if not g.passed]
    strict = evaluate(_cfg(dataset, tmp_path, gate="release"), predictor=oracle)
    assert not strict.passed
    assert any(g.name == "miss_rate[text]" and not g.passed for g in strict.gates)
    with pytest.raises(ConfigError, match="no_such_gate"):
        evaluate(_cfg(dataset, tmp_path, gate="no_such_gate"), predictor=oracle)


def _yolo_folder(tmp_path, corrupt=False, bad_label=False):
    root = tmp_path / "yolo"
    (root / "images").mkdir(parents=True)
    (root / "labels").mkdir()
    img = Image.fromarray(np.full((60, 80, 3), 100, np.uint8))
    for i in range(3):
        buf = io.BytesIO()
        exif = Image.Exif()
        exif[0x0112] = 6  # rotated: stored 80x60, viewed 60x80
        img.save(buf, format="JPEG", exif=exif.tobytes())
        data = buf.getvalue()
        if corrupt and i == 1:
            data = data[: len(data) // 2]
        (root / "images" / f"p{i}.jpg").write_bytes(data)
    (root / "labels" / "p0.txt").write_text("0 0.5 0.5 0.5 0.25\n")
    (root / "labels" / "p1.txt").write_text("")
    (root / "labels" / "p2.txt").write_text(
        "7 0.5 0.5 0.1 0.1\n" if bad_label else "3 0.5 0.5 0.2 0.2\n"
    )
    return root


class FixedPredictor:
    imgsz = 640
    description = "fixed"

    def predict(self, image):
        h, w = image.shape[:2]
        return Detections(np.array([[0, 0, w, h / 2]]), np.array([0.9]), np.array([0]))


def test_yolo_folder_is_read_with_exif_orientation(tmp_path):
    data = load_eval_data(_yolo_folder(tmp_path), "test")
    image, gt = data.items[0].read()
    assert image.shape[:2] == (80, 60)  # orientation 6 applied
    assert gt.boxes.tolist() == [[15.0, 30.0, 45.0, 50.0]]


def test_a_photo_without_its_label_file_is_an_error_not_a_photo_without_phi(tmp_path):
    """A lost label file or a stem that differs in case would take the photo's PHI boxes out
    of every miss rate; an empty .txt is how a photo without PHI is marked."""
    root = _yolo_folder(tmp_path)
    (root / "labels" / "p0.txt").rename(root / "labels" / "P0.txt")
    with pytest.raises(
        DatasetError, match=r"1 images without a label file \(first: \['p0\.jpg'\]\)"
    ):
        load_eval_data(root, "test")
    (root / "labels" / "P0.txt").unlink()
    with pytest.raises(DatasetError, match=r"0 label files without an image"):
        load_eval_data(root, "test")
    shutil.rmtree(root / "labels")
    with pytest.raises(DatasetError, match="no labels folder"):
        load_eval_data(root, "test")


def test_bad_inputs_stop_with_a_named_file_unless_skipped(tmp_path):
    root = _yolo_folder(tmp_path, corrupt=True, bad_label=True)
    weights = tmp_path / "m.onnx"
    weights.write_bytes(b"x")
    base = {
        "weights": str(weights),
        "data": {"path": str(root), "format": "yolo"},
        "out_dir": str(tmp_path / "e"),
        "tracking": {"backend": "none"},
        "plots": False,
        "bootstrap_resamples": 50,
    }
    with pytest.raises(BadInputError, match=r"p1\.jpg"):
        evaluate(to_typed(base, EvalConfig), predictor=FixedPredictor())
    skip = {**base, "skip_bad": True, "out_dir": str(tmp_path / "e2")}
    res = evaluate(to_typed(skip, EvalConfig), predictor=FixedPredictor())
    assert len(res.skipped) == 2 and any("p2.txt:1" in s for s in res.skipped)
    assert res.metrics["dataset"]["n_skipped"] == {"test": 2} and res.metrics["n_images"] == 1
    # the weights behind the figures, for ship to check it copies figures of its own model
    assert res.metrics["model"]["weights_sha256"] == hashlib.sha256(b"x").hexdigest()
    # the report says so where the image count is, not only metrics.json
    report = (tmp_path / "e2" / "report.md").read_text()
    assert "**2 of test images skipped**" in report.splitlines()[2]


def test_cli_exit_codes(dataset, tmp_path):
    def run(*args):
        return subprocess.run(
            [sys.executable, "-m", "figure_ml.eval", *args],
            capture_output=True,
            text=True,
            cwd=tmp_path,
        )

    r = run("weights=/nonexistent.onnx", f"data.path={dataset.path}", "tracking=none")
    assert r.returncode == 2 and "nonexistent.onnx" in r.stderr
    r = run("weights=x.onnx", "no_such_option=1")
    assert r.returncode == 2


def test_results_go_to_mlflow_without_images_or_names(dataset, oracle, tmp_path, mlflow_store):
    from mlflow.tracking import MlflowClient

    tracking = {
        "uri": mlflow_store["uri"],
        "local_dir": mlflow_store["local_dir"],
        "experiment": "figure_ml-eval",
    }
    evaluate(_cfg(dataset, tmp_path, tracking=tracking), predictor=oracle)
    client = MlflowClient(mlflow_store["uri"])
    exp = client.get_experiment_by_name("figure_ml-eval")
    (run,) = client.search_runs([exp.experiment_id])
    m = run.data.metrics
    assert m["eval.test.text.miss_rate"] == 1.0
    assert "eval.test.image_leak_rate_ci_high" in m
    assert m["eval.test.text.over_redaction"] == 0.0  # the oracle predicts no text at all
    assert "eval.test.face.over_redaction" in m
    assert run.data.tags["figure_ml.kind"] == "evaluation"
    files = {a.path for a in client.list_artifacts(run.info.run_id, "eval/test")}
    assert "eval/test/metrics.json" in files and "eval/test/miss_rate_by_size.png" in files
    logged = json.dumps(run.data.params) + json.dumps(run.data.tags)
    assert "synth-test-" not in logged  # no per-image ids or file names
