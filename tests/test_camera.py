"""Phone camera model of the generator: face-priority auto exposure, tone curve, skin colour."""

import numpy as np
import pytest

from figure_ml.data.render.canvas import Canvas
from figure_ml.data.render.scene_plan import auto_exposure
from figure_ml.data.render.skin import FITZPATRICK_RGB, skin_color
from figure_ml.data.synth.exposure import KNEE, tone_curve, tone_lut


def _canvas_with_face(face_rgb, bg_rgb):
    c = Canvas(40, 40, np.random.default_rng(0))
    c.image[:] = bg_rgb
    obj = c.new_object("phi", "face")
    a = np.zeros((10, 10), np.float32)
    a[:] = 1.0
    c.paint(5, 5, a, face_rgb, obj)
    return c, obj.instance_id


def test_exposure_meters_on_the_face_not_the_scene():
    # a grey face of luma 0.125 in a white room: gain sqrt(target / 0.125), target = 0.5 * u
    c, fid = _canvas_with_face((0.125, 0.125, 0.125), (1.0, 1.0, 1.0))
    u = np.random.default_rng(0).uniform(0.85, 1.1)
    gain = auto_exposure(c, [fid])
    assert gain == pytest.approx(min(np.sqrt(0.5 * u / 0.125), 1.8), abs=1e-3)
    assert 1.8 >= gain > 1.8 * 0.9  # brightened although the frame is mostly white
    assert c.image[10, 10, 0] == pytest.approx(0.125 * gain, abs=1e-3)


def test_exposure_is_bounded_and_uses_the_frame_without_faces():
    c, _ = _canvas_with_face((0.9, 0.9, 0.9), (0.9, 0.9, 0.9))
    assert auto_exposure(c, []) == 0.8  # sqrt(<=0.55 / 0.9) = 0.78 at most: the lower bound
    c, _ = _canvas_with_face((0.01, 0.01, 0.01), (0.01, 0.01, 0.01))
    assert auto_exposure(c, []) == 1.8


def test_tone_curve_is_linear_at_gamma_one_below_the_knee_and_rolls_off_above():
    lut = tone_lut(1.0)
    knee = int(KNEE * 255)
    assert np.array_equal(lut[: knee + 1], np.arange(knee + 1))
    assert lut[255] < 255 and np.all(np.diff(lut.astype(int)) >= 0)
    lifted = tone_lut(0.8)
    assert lifted[32] == round((32 / 255) ** 0.8 * 255)  # shadows lifted: 47, not 32
    img = np.full((2, 2, 3), 32, np.uint8)
    out, p = tone_curve(img, 3)
    assert p["tone_gamma"] == round(_gamma(3), 3)
    assert out[0, 0, 0] == tone_lut(_gamma(3))[32]


def _gamma(seed):
    return float(np.random.default_rng(seed).uniform(0.8, 1.0))


@pytest.mark.parametrize("fitz", range(1, 7))
def test_skin_undertone_is_relative_so_dark_skin_never_turns_grey(fitz):
    # the undertone moves red/green by at most (1 + 0.06) / (1 - 0.018) = 1.08 on every tone; an
    # absolute shift of 0.025 sigma moved Fitzpatrick VI's red/green by 20% at 2 sigma
    r0, g0, _ = FITZPATRICK_RGB[fitz]
    for seed in range(200):
        r, g, b = skin_color(np.random.default_rng(seed), fitz)
        assert abs((r / g) / (r0 / g0) - 1) <= 0.081, (fitz, seed, (r, g, b))
        assert r > g > b
