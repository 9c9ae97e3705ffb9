"""Realism score of synthetic data: matching, counts per skin tone, the dataset-card section."""

import numpy as np
import pytest

from figure_ml.config import SynthConfig
from figure_ml.data.realism import CARD_HEADING, card_section, found, realism_score, update_card
from figure_ml.data.synth import generate


def test_found_needs_iou_half():
    g = np.array([[0, 0, 10, 10], [50, 50, 60, 60]], float)
    d = np.array([[0, 0, 10, 14], [50, 50, 55, 60]], float)  # IoU 100/140 and 50/100
    assert found(g, d).tolist() == [True, True]
    assert found(g, np.array([[50, 50, 54, 60]], float)).tolist() == [False, False]  # 40/100
    assert found(g, np.zeros((0, 4))).tolist() == [False, False]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    cfg = SynthConfig(
        out_dir=str(tmp_path_factory.mktemp("rs") / "ds"),
        n_train=0,
        n_val=0,
        n_test=4,
        seed=7,
        long_side=[480, 560],
        workers=1,
    )
    return generate(cfg)


def test_realism_counts_every_face_and_text_box(tiny, tmp_path):
    score = realism_score(tiny.path, "test")
    n = {0: 0, 3: 0}
    for s in tiny.iter_samples("test"):
        for o in s["objects"]:
            if o["category"] in n:
                n[o["category"]] += 1
    assert score["face"]["all"]["n"] == n[0] and score["text"]["all"]["n"] == n[3]
    for cname in ("face", "text"):
        s = score[cname]
        assert sum(t["n"] for t in s["skin_tone"].values()) == s["all"]["n"]
        assert 0 <= s["all"]["found"] <= s["all"]["n"]
    card = tmp_path / "DATASET_CARD.md"
    card.write_text("# card\n\n## Other\n\ntext\n")
    update_card(card, card_section(score))
    update_card(card, card_section(score))  # replaced, not appended twice
    text = card.read_text()
    assert text.count(CARD_HEADING) == 1 and "## Other" in text and "centerface" in text
