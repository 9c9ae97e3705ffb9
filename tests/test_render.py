"""Procedural scene renderers: classes, ownership, reproducibility, scene parameters."""

from __future__ import annotations

import json
import time

import faker
import numpy as np
import pytest

from figure_ml.classes import CLASS_NAMES
from figure_ml.data.render.canvas import Canvas
from figure_ml.data.render.findings import FINDINGS
from figure_ml.data.render.options import SceneOptions
from figure_ml.data.render.scene import render_scene

SIZES = ((320, 240), (240, 320), (384, 216))


def _render(seed: int, opts: SceneOptions, size: tuple[int, int] | None = None) -> Canvas:
    w, h = size or SIZES[seed % len(SIZES)]
    canvas = Canvas(w, h, np.random.default_rng(seed))
    fk = faker.Faker()
    fk.seed_instance(seed)
    render_scene(canvas, fk, opts)
    return canvas


@pytest.fixture(scope="module")
def scenes() -> list[Canvas]:
    """A handful of default scenes shared by the checks below (rendering is the slow part)."""
    return [_render(seed, SceneOptions(phi_per_image=(2, 6))) for seed in range(14)]


def test_every_class_appears_over_a_few_seeds(scenes: list[Canvas]) -> None:
    seen = {o.label for c in scenes for o in c.objects if o.kind == "phi"}
    assert seen == set(CLASS_NAMES)


@pytest.mark.parametrize(
    "only", [("face",), ("tattoo",), ("wristband",), ("text",), ("face", "text")]
)
def test_only_enabled_classes_appear(only: tuple[str, ...]) -> None:
    opts = SceneOptions(classes=only, phi_per_image=(1, 3))
    seen: set[str] = set()
    for seed in range(5):
        c = _render(seed, opts)
        seen |= {o.label for o in c.objects if o.kind == "phi"}
    assert seen == set(only)


def test_no_classes_gives_no_phi() -> None:
    c = _render(3, SceneOptions(classes=()))
    assert not [o for o in c.objects if o.kind == "phi"]
    assert c.params["planned"] == {}


def test_same_seed_gives_identical_scene() -> None:
    opts = SceneOptions()
    a, b = _render(11, opts), _render(11, opts)
    assert np.array_equal(a.image, b.image)
    assert np.array_equal(a.instances, b.instances)
    assert [(o.label, o.attrs) for o in a.objects] == [(o.label, o.attrs) for o in b.objects]
    assert a.params == b.params
    c = _render(12, opts, size=SIZES[11 % len(SIZES)])
    assert not np.array_equal(a.image, c.image)


def test_findings_are_never_phi(scenes: list[Canvas]) -> None:
    findings = [o for c in scenes for o in c.objects if o.kind == "finding"]
    assert findings, "no finding rendered over the seeds"
    for o in findings:
        assert o.label in FINDINGS
        assert o.label not in CLASS_NAMES
    for c in scenes:
        for o in c.objects:
            assert o.kind in ("phi", "finding")
            if o.kind == "phi":
                assert o.label in CLASS_NAMES


def test_registered_objects_own_pixels(scenes: list[Canvas]) -> None:
    total = empty = 0
    for c in scenes:
        counts = np.bincount(c.instances.ravel(), minlength=len(c.objects) + 1)
        assert counts.shape[0] == len(c.objects) + 1, "instance id without an object"
        for o in c.objects:
            total += 1
            empty += counts[o.instance_id] == 0
    assert total > 30
    assert empty <= 0.02 * total


def test_phi_keeps_most_of_its_pixels(scenes: list[Canvas]) -> None:
    shares = [o.attrs["visible_share"] for c in scenes for o in c.objects if o.kind == "phi"]
    assert shares and min(shares) >= 0.0 and max(shares) <= 1.0
    # occluders are rejected when they would hide more than 60% of an object
    assert np.median(shares) > 0.9


def test_scene_params_are_recorded_and_serialisable(scenes: list[Canvas]) -> None:
    for c in scenes:
        assert c.params["skin_tone"] in range(1, 7)
        assert isinstance(c.params["background"], str)
        assert isinstance(c.params["lighting"], str)
        json.dumps(c.params)
        for o in c.objects:
            json.dumps(o.attrs)
    assert len({c.params["skin_tone"] for c in scenes}) >= 4


def test_image_is_valid_and_not_flat(scenes: list[Canvas]) -> None:
    for c in scenes:
        assert c.image.dtype == np.float32
        assert np.isfinite(c.image).all()
        assert c.image.min() >= 0.0 and c.image.max() <= 1.0
        assert c.to_uint8().std() > 10


def test_text_objects_are_ink_not_carrier(scenes: list[Canvas]) -> None:
    """A text object's pixels are its ink: much smaller than the box they span."""
    ratios = []
    for c in scenes:
        for o in c.objects:
            if o.label != "text" or o.attrs.get("content") in ("barcode", "qr"):
                continue
            ys, xs = np.nonzero(c.instances == o.instance_id)
            if len(xs) < 30:
                continue
            box = (xs.max() - xs.min() + 1) * (ys.max() - ys.min() + 1)
            ratios.append(len(xs) / box)
    assert ratios
    assert np.median(ratios) < 0.6


def test_rendering_speed_is_reported_not_asserted() -> None:
    """Speed is a benchmark figure (see DESIGN §6): print it, never fail on it."""
    t = time.perf_counter()
    for seed in range(3):
        _render(100 + seed, SceneOptions(), size=(640, 480))
    ms = (time.perf_counter() - t) / 3 * 1000
    print(f"render_scene 640x480: {ms:.1f} ms/scene")
    assert ms > 0
