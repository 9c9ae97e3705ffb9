"""The paired comparison (figure_ml.eval.paired) and its CLI (figure_ml.eval.compare): a lead
inside the noise is no win, a win bought by blacking out the photo is no win, and a win
overall that costs a class is no win."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from figure_ml.boxes import NMS_IOU
from figure_ml.config import CompareConfig, EvalDataConfig
from figure_ml.errors import ConfigError
from figure_ml.eval.compare import COMPARISON_FILE, compare
from figure_ml.eval.paired import compare_at_budget, exact_paired_ci
from figure_ml.eval.records import Detections, GroundTruth

FIXTURE = Path(__file__).parent / "fixtures" / "yolo11n_synth_320.pt"
#: two faces and a text line per 100x100 image (class ids of figure_ml.classes)
BOXES = np.array([[10, 10, 30, 30], [60, 60, 80, 80], [10, 60, 40, 70]], float)
CLASSES = np.array([0, 0, 3])
N_IMAGES = 20
NO_PADDING = np.zeros(4)


def _gts(n: int = N_IMAGES) -> list[GroundTruth]:
    return [GroundTruth(f"img{i}", 100, 100, BOXES, CLASSES) for i in range(n)]


def _dets(found: np.ndarray, extra: Detections | None = None) -> list[Detections]:
    """Per image, a detection exactly on each GT box where ``found[i, j]`` (score 0.9)."""
    out = []
    for row in found:
        d = Detections(BOXES[row], np.full(int(row.sum()), 0.9), CLASSES[row])
        if extra is not None:
            d = Detections(
                np.vstack([d.boxes, extra.boxes]),
                np.concatenate([d.scores, extra.scores]),
                np.concatenate([d.classes, extra.classes]),
            )
        out.append(d)
    return out


def _all_found() -> np.ndarray:
    return np.ones((N_IMAGES, len(BOXES)), bool)


def _compare(cand: np.ndarray, base: np.ndarray, **kw) -> dict:
    return compare_at_budget(
        _gts(), _dets(cand, kw.pop("extra", None)), _dets(base), NO_PADDING, budget=0.05, **kw
    )


def test_exact_interval_by_hand() -> None:
    # 10 discordant boxes, all the baseline's: Clopper-Pearson of 0/10 is [0, 1 - 0.025**0.1]
    # = [0, 0.30850], so the difference lies in [10 * (0 - 1), 10 * (2 * 0.30850 - 1)] / 100
    low, high = exact_paired_ci(0, 10, 100)
    assert low == pytest.approx(-0.1)
    assert high == pytest.approx(-0.038300, abs=1e-5)
    assert exact_paired_ci(0, 0, 100) == (0.0, 0.0)  # no discordant box: no difference seen
    assert all(np.isnan(exact_paired_ci(0, 0, 0)))


def test_a_clear_win_is_better() -> None:
    base = _all_found()
    base[:, 2] = False  # the baseline misses every text line (20 of 60 boxes)
    r = _compare(_all_found(), base)
    a = r["all"]
    assert (a["n_gt"], a["missed_candidate"], a["missed_baseline"]) == (60, 0, 20)
    assert (a["only_candidate"], a["only_baseline"]) == (0, 20)
    assert a["difference"] == pytest.approx(-20 / 60)
    # every image contributes the same -1/3: the bootstrap interval is that point
    assert a["ci"] == pytest.approx([-1 / 3, -1 / 3])
    assert r["per_class"]["text"]["difference"] == pytest.approx(-1.0)
    assert r["per_class"]["face"]["ci_exact"] == [0.0, 0.0]
    assert r["threshold"] == {"candidate": 0.9, "baseline": 0.9}
    assert r["over_redaction"]["candidate"] == 0.0
    assert r["verdict"] == "better"


def test_a_lead_inside_the_noise_is_no_win() -> None:
    cand, base = _all_found(), _all_found()
    cand[0, 0] = False  # the candidate misses 1 box, the baseline 2: 1 of 60 ahead
    base[1, 0] = base[2, 2] = False
    r = _compare(cand, base)
    assert (r["all"]["missed_candidate"], r["all"]["missed_baseline"]) == (1, 2)
    assert r["all"]["difference"] == pytest.approx(-1 / 60)
    assert r["all"]["lower"] < 0 < r["all"]["upper"]
    assert r["verdict"] == "no_difference"


def test_the_wider_interval_decides() -> None:
    """5 text lines missed by the baseline only, in 5 of 20 photos: almost every bootstrap
    resample holds one of them (upper end below 0), but 5 discordant boxes against 0 are not
    enough for the exact test (Clopper-Pearson of 0/5 reaches 0.522, so the exact upper end is
    5 * (2 * 0.522 - 1) / 60 = +0.36 points): no win."""
    base = _all_found()
    base[:5, 2] = False
    r = _compare(_all_found(), base)
    assert r["all"]["ci"][1] < 0
    assert r["all"]["ci_exact"][1] == pytest.approx(5 * (2 * (1 - 0.025**0.2) - 1) / 60)
    assert r["all"]["ci_exact"][1] > 0
    assert r["verdict"] == "no_difference"


def test_blacking_out_the_photo_is_no_win() -> None:
    """A candidate that also paints the whole photo would miss nothing at a low threshold,
    but over the 5% budget it redacts nothing: it is scored as missing every box."""
    whole = Detections(np.array([[0, 0, 100, 100]], float), np.array([0.95]), np.array([0]))
    base = _all_found()
    base[:, 2] = False
    r = _compare(_all_found(), base, extra=whole)
    assert r["threshold"]["candidate"] > 0.95
    assert r["all"]["missed_candidate"] == 60
    assert r["verdict"] == "worse"


def test_a_win_that_costs_a_class_is_no_win() -> None:
    cand, base = _all_found(), _all_found()
    cand[:10, 2] = False  # the candidate misses 10 text lines ...
    base[:, :2] = False  # ... the baseline all 40 faces: pooled, the candidate is far ahead
    r = _compare(cand, base)
    assert r["all"]["upper"] < 0
    assert r["per_class"]["text"]["lower"] > 0
    assert r["verdict"] == "worse"


def test_a_class_lost_by_a_few_boxes_is_a_loss_even_where_the_exact_interval_doubts_it() -> None:
    """The candidate misses 5 text lines the baseline finds (one in each of 5 photos), while
    the baseline misses all 40 faces. The exact interval of 5 discordant boxes, all the
    candidate's, reaches below 0 (Clopper-Pearson of 5/5 starts at 0.025**0.2 = 0.478, so
    5 * (2 * 0.478 - 1) / 20 = -1.1 points); the bootstrap's lower end is above 0. Giving the
    candidate the benefit of the doubt there would let a worse text detector win pooled."""
    cand, base = _all_found(), _all_found()
    cand[:5, 2] = False
    base[:, :2] = False
    r = _compare(cand, base)
    text = r["per_class"]["text"]
    assert text["ci_exact"][0] == pytest.approx(5 * (2 * 0.025**0.2 - 1) / 20)
    assert text["ci_exact"][0] < 0 < text["ci"][0]
    assert text["lower"] < 0 < text["lower_against_candidate"]
    assert r["all"]["upper"] < 0  # pooled, the candidate is far ahead
    assert r["verdict"] == "worse"


def test_detections_of_other_images_are_refused() -> None:
    cand = _dets(_all_found())
    with pytest.raises(ValueError, match="20 ground truths but 19 detection sets"):
        compare_at_budget(_gts(), cand, cand[:-1], NO_PADDING, budget=0.05)


def _config(tmp_path: Path, dataset: Path, **kw) -> CompareConfig:
    given = dict(candidate=str(FIXTURE), baseline=str(FIXTURE), out_dir=str(tmp_path / "cmp"))
    data = EvalDataConfig(path=str(dataset))
    return CompareConfig(data=data, bootstrap_resamples=200, **(given | kw))


def test_compare_writes_a_comparison_without_file_names(tmp_path, toy_dataset) -> None:
    result = compare(_config(tmp_path, toy_dataset))
    assert result.verdict == "no_difference"  # a model against itself
    saved = json.loads((result.out_dir / COMPARISON_FILE).read_text())
    assert saved["all"]["only_candidate"] == saved["all"]["only_baseline"] == 0
    assert saved["candidate"]["sha256"] == saved["baseline"]["sha256"]
    assert saved["candidate"]["nms_iou"] == saved["baseline"]["nms_iou"] == NMS_IOU
    assert saved["dataset"]["split"] == "val" and saved["n_images"] == 6
    report = (result.out_dir / "comparison.md").read_text()
    assert "**Verdict: no_difference**" in report
    for text in (report, json.dumps(saved)):
        assert "val-000" not in text  # image ids of the toy dataset stay out


def test_one_model_run_two_ways_is_compared_in_pairs(tmp_path, toy_dataset) -> None:
    """``candidate_predictor``: the same weights, the candidate side alone at another input
    size with the mirrored pass; the comparison records which side ran how."""
    overrides = {"imgsz": 256, "flip": True}
    given = overrides | {"iou": None}  # null: the shared predictor's, as compare.yaml lists it
    result = compare(_config(tmp_path, toy_dataset, candidate_predictor=given))
    saved = json.loads((result.out_dir / COMPARISON_FILE).read_text())
    cand, base = saved["candidate"], saved["baseline"]
    assert cand["sha256"] == base["sha256"]
    assert (cand["imgsz"], cand["flip_tta"], cand["predictor_overrides"]) == (256, True, overrides)
    assert (base["imgsz"], base["flip_tta"], base["predictor_overrides"]) == (320, False, {})
    report = (result.out_dir / "comparison.md").read_text()
    assert "the candidate alone predicted with {'imgsz': 256, 'flip': True}" in report
    assert "input size 256 against 320, mirrored pass True against False" in report


def test_the_cli_sets_one_candidate_setting() -> None:
    """``candidate_predictor.imgsz=800`` on the command line: Hydra's struct config lists each
    allowed key (null), so the override needs no ``+`` and a typo is refused by Hydra."""
    from hydra import compose, initialize_config_dir
    from hydra.errors import ConfigCompositionException

    from figure_ml.cli import CONFIG_DIR
    from figure_ml.config import to_typed

    def typed(*overrides: str) -> CompareConfig:
        given = ["candidate=a.pt", "baseline=reference", "out_dir=c", *overrides]
        return to_typed(compose("compare", overrides=given), CompareConfig, drop=("paths",))

    with initialize_config_dir(str(CONFIG_DIR), version_base="1.3"):
        assert typed("candidate_predictor.imgsz=800").candidate_overrides() == {"imgsz": 800}
        assert typed().candidate_overrides() == {}
        with pytest.raises(ConfigCompositionException, match="imgs"):
            typed("candidate_predictor.imgs=800")


def test_compare_refuses_bad_config(tmp_path, toy_dataset) -> None:
    with pytest.raises(ConfigError, match=r"candidate=\.\.\. is required"):
        _config(tmp_path, toy_dataset, candidate="???").validate()
    cfg = _config(tmp_path, toy_dataset)
    cfg.predictor.strategy = "tiled"
    with pytest.raises(ConfigError, match="strategy=whole"):
        cfg.validate()
    with pytest.raises(ConfigError, match="padding"):
        _config(tmp_path, toy_dataset, padding={"face": 0.1}).validate()
    with pytest.raises(ConfigError, match=r"candidate_predictor\.strategy: not a per-model"):
        _config(tmp_path, toy_dataset, candidate_predictor={"strategy": "tiled"}).validate()
    with pytest.raises(
        ConfigError, match=r"candidate_predictor\.imgsz must be a positive multiple"
    ):
        _config(tmp_path, toy_dataset, candidate_predictor={"imgsz": 100}).validate()
    (tmp_path / "cmp").mkdir()
    (tmp_path / "cmp" / "other.txt").write_text("x")
    with pytest.raises(ConfigError, match="holds other files"):
        compare(_config(tmp_path, toy_dataset))


@pytest.mark.slow
def test_cli_exits_1_when_the_candidate_is_not_better(tmp_path, toy_dataset) -> None:
    r = subprocess.run(
        [sys.executable, "-m", "figure_ml.eval.compare", f"candidate={FIXTURE}",
         f"baseline={FIXTURE}", f"data.path={toy_dataset}", f"out_dir={tmp_path / 'c'}",
         "bootstrap_resamples=200", f"hydra.run.dir={tmp_path / 'h'}"],
        capture_output=True, text=True, timeout=300, cwd=tmp_path,
    )  # fmt: skip
    assert r.returncode == 1, r.stderr[-1500:]
    assert "Verdict: no_difference" in r.stdout
    assert (tmp_path / "c" / COMPARISON_FILE).is_file()


def test_a_win_paid_for_with_more_photo_is_no_win() -> None:
    """Both sides within the 5% budget, but the candidate also hides a 16 x 15 px patch of each
    photo (2.7% of its PHI-free area) that the baseline leaves: its fewer misses are no win."""
    stray = Detections(np.array([[82, 2, 98, 17]], float), np.array([0.95]), np.array([3]))
    base = _all_found()
    base[:, 2] = False  # as in the clear win: the baseline misses every text line
    r = _compare(_all_found(), base, extra=stray)
    o = r["over_redaction"]
    assert o["candidate"] == pytest.approx(240 / 8900) and o["baseline"] == 0.0
    assert r["all"]["upper"] < 0 and o["blocks_win"]
    assert r["verdict"] == "no_difference"
    from figure_ml.eval.compare import render

    side = {"spec": "x", "file": "x.pt", "sha256": "0" * 64}
    data = {"split": "val", "digest": "d"}
    md = render(r | {"candidate": side, "baseline": side, "dataset": data})
    assert "hides 2.70 points more of the photo" in md and "not a win" in md
    # the same win at equal over-redaction is one
    assert _compare(_all_found(), base)["over_redaction"]["blocks_win"] is False
    # a candidate worse on a class is "worse", whatever it hides: the over-redaction is no
    # reason then, and comparison.md does not say it is
    cand = _all_found()
    cand[:10, 0] = False  # 10 faces missed; the baseline misses all 20 text lines
    r = _compare(cand, base, extra=stray)
    assert r["verdict"] == "worse" and not r["over_redaction"]["blocks_win"]
