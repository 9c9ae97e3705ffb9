"""PP-OCR text detection (the det model inside the ``rapidocr`` wheel, Apache-2.0).

The network (a DB — Differentiable Binarization — head) outputs a text probability map of the
input's size, ``(1, 1, H, W)``, whose text regions are *shrunk* kernels of the text lines. Its
post-processing, as PaddleOCR / RapidOCR do it but in numpy and OpenCV only:

1. **binarize**: ``map > thresh`` (0.3), dilated with a 2x2 kernel;
2. **contours** of the binary map (``cv2.findContours``), each fitted with its minimum-area
   rectangle (``cv2.minAreaRect``); rectangles whose short side is < 3 px are dropped;
3. **score** = mean probability inside that rectangle (PaddleOCR's "fast" score); a box under
   the score floor is dropped;
4. **unclip**: the shrunk kernel is grown back by ``d = area * unclip_ratio / perimeter``
   (1.6) on every side. PaddleOCR offsets the polygon with pyclipper (round joins) and takes the
   minimum-area rectangle of the result; for a rectangle that is exactly the rectangle with
   ``2d`` added to both sides, which is computed here directly (no pyclipper, no shapely);
   a grown rectangle whose short side is < 5 px is dropped;
4b. **no blobs** (ours; not in PaddleOCR or RapidOCR): a grown rectangle whose area (as
   grown by step 4, before any clipping to the map: the region as it would be boxed) is at
   least ``blob_min_share`` (0.25) of the map's *and* whose long side is under
   ``blob_max_aspect`` (2) times its short side is dropped. Growing multiplies a square
   kernel's area by about 3, so a kernel of about 8% of the map already counts. On synthetic
   clinical scenes without any text the network sometimes lights up most of the photo as one
   region (RapidOCR's own pipeline draws the same whole-photo box). On a 600-photo test split
   of seed 205 the rule dropped 48 of PP-OCR's 1,586 boxes; on its 181 PHI-free photos the
   boxes' summed area fell from 22.5% of the photos to 10.8%, and none of the 474 synthetic
   text lines PP-OCR found (IoU >= 0.5) was lost. A text line, even a rotated one, is long in
   its own rectangle; a region that large that is not is not a line. What it may drop in a
   real photo: a close-up in which two or three letters, or a label's lines merged into one
   region, fill a quarter of the frame. ``blob_min_share=None`` turns it off.
5. **boxes**: the axis-aligned box around the grown rectangle's corners, scaled from the map to
   the image and clipped to it (DESIGN §4: one axis-aligned box per text line).

Pre-processing (RapidOCR's): BGR, scaled so the short side is at least ``min_side`` (736) and
the long side at most ``max_side`` (2000), each side rounded to a multiple of 32 (the network
needs them), ``(x / 255 - 0.5) / 0.5``, NCHW float32.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

from figure_ml.classes import class_id
from figure_ml.errors import ConfigError
from figure_ml.teachers.base import Teacher, TeacherSpec, check_image, ort_session

SPEC = TeacherSpec(
    name="ppocr_det",
    package="rapidocr",
    # the det model this rapidocr version ships; any other PP-OCR det model it may ship instead
    model_patterns=("models/PP-OCRv6_det_small.onnx", "models/*_det*.onnx"),
    licence="Apache-2.0",
    licence_note="RapidOCR code and the PaddleOCR-derived model weights are Apache-2.0 "
    "(rapidocr's MODEL_LICENSES.md); keep the licence and NOTICE with redistributed copies",
    classes=("text",),
    default_threshold=0.5,  # RapidOCR's box_thresh
    score_floor=0.1,
    description="PP-OCR det (DB head), text lines as axis-aligned boxes; text",
)

BIN_THRESH = 0.3
UNCLIP_RATIO = 1.6
BLOB_MIN_SHARE = 0.25
BLOB_MAX_ASPECT = 2.0
MIN_SIZE = 3
MAX_CANDIDATES = 1000
_DILATE = np.ones((2, 2), np.uint8)


def binarize(prob: np.ndarray, thresh: float = BIN_THRESH) -> np.ndarray:
    """Step 1: uint8 {0, 1} map of ``prob > thresh``, dilated by a 2x2 kernel."""
    return cv2.dilate((prob > thresh).astype(np.uint8), _DILATE)


def region_score(prob: np.ndarray, corners: np.ndarray) -> float:
    """Step 3: mean of ``prob`` over the pixels of the polygon ``corners`` ((4, 2), map px)."""
    h, w = prob.shape
    x0 = int(np.clip(np.floor(corners[:, 0].min()), 0, w - 1))
    x1 = int(np.clip(np.ceil(corners[:, 0].max()), 0, w - 1))
    y0 = int(np.clip(np.floor(corners[:, 1].min()), 0, h - 1))
    y1 = int(np.clip(np.ceil(corners[:, 1].max()), 0, h - 1))
    mask = np.zeros((y1 - y0 + 1, x1 - x0 + 1), np.uint8)
    pts = (corners - [x0, y0]).astype(np.int32).reshape(1, -1, 2)
    cv2.fillPoly(mask, pts, 1)
    return float(cv2.mean(prob[y0 : y1 + 1, x0 : x1 + 1], mask)[0])


def unclip(rect: tuple, ratio: float = UNCLIP_RATIO) -> tuple:
    """Step 4: a ``cv2.minAreaRect`` rectangle grown by ``area * ratio / perimeter`` per side."""
    (cx, cy), (rw, rh), angle = rect
    d = rw * rh * ratio / (2 * (rw + rh)) if rw + rh > 0 else 0.0
    return (cx, cy), (rw + 2 * d, rh + 2 * d), angle


def is_blob(rect: tuple, min_area: float | None, max_aspect: float = BLOB_MAX_ASPECT) -> bool:
    """Step 4b: a grown ``cv2.minAreaRect`` rectangle of at least ``min_area`` map px whose
    long side is under ``max_aspect`` times its short side (never, with ``min_area`` None)."""
    (w, h) = rect[1]
    return min_area is not None and w * h >= min_area and max(w, h) < max_aspect * min(w, h)


def db_boxes(
    prob: np.ndarray,
    *,
    score_floor: float,
    thresh: float = BIN_THRESH,
    unclip_ratio: float = UNCLIP_RATIO,
    max_candidates: int = MAX_CANDIDATES,
    blob_min_share: float | None = BLOB_MIN_SHARE,
    blob_max_aspect: float = BLOB_MAX_ASPECT,
) -> tuple[np.ndarray, np.ndarray]:
    """Steps 1-5 up to the map's pixel grid: axis-aligned boxes (xyxy, map px) and scores."""
    blob_area = None if blob_min_share is None else blob_min_share * prob.shape[0] * prob.shape[1]
    prob = np.asarray(prob, np.float32)
    contours, _ = cv2.findContours(
        binarize(prob, thresh) * 255, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE
    )
    boxes, scores = [], []
    for contour in contours[:max_candidates]:
        rect = cv2.minAreaRect(contour)
        if min(rect[1]) < MIN_SIZE:
            continue
        score = region_score(prob, cv2.boxPoints(rect))
        if score < score_floor:
            continue
        grown = unclip(rect, unclip_ratio)
        if min(grown[1]) < MIN_SIZE + 2:
            continue
        if is_blob(grown, blob_area, blob_max_aspect):
            continue
        corners = cv2.boxPoints(grown)
        boxes.append([*corners.min(axis=0), *corners.max(axis=0)])
        scores.append(score)
    return np.asarray(boxes, np.float64).reshape(-1, 4), np.asarray(scores, np.float64)


def input_size(w: int, h: int, min_side: int, max_side: int) -> tuple[int, int]:
    """Network input ``(width, height)``: short side up to ``min_side``, long side down to
    ``max_side`` (the cap wins), each rounded to a multiple of 32 (at least 32)."""
    s = min_side / min(w, h) if min(w, h) < min_side else 1.0
    s = min(s, max_side / max(w, h))
    return max(32, round(w * s / 32) * 32), max(32, round(h * s / 32) * 32)


class PPOCRDet(Teacher):
    """Text lines. ``min_side`` / ``max_side``: input size bounds (see the module docstring)."""

    spec = SPEC

    def __init__(
        self,
        *,
        min_side: int = 736,
        max_side: int = 2000,
        threads: int | None = None,
        score_floor: float | None = None,
        unclip_ratio: float = UNCLIP_RATIO,
        blob_min_share: float | None = BLOB_MIN_SHARE,
        blob_max_aspect: float = BLOB_MAX_ASPECT,
        model_path: str | None = None,
        sha256: str | None = None,
    ) -> None:
        super().__init__(
            threads=threads, score_floor=score_floor, model_path=model_path, sha256=sha256
        )
        if not 32 <= min_side <= max_side:
            raise ConfigError(
                f"ppocr_det: need 32 <= min_side <= max_side, got {min_side}, {max_side}"
            )
        self.min_side, self.max_side = int(min_side), int(max_side)
        self.unclip_ratio = float(unclip_ratio)
        if blob_min_share is not None and not 0 < blob_min_share <= 1:
            raise ConfigError(f"ppocr_det: blob_min_share must be in (0, 1], got {blob_min_share}")
        if not blob_max_aspect >= 1:
            raise ConfigError(f"ppocr_det: blob_max_aspect must be >= 1, got {blob_max_aspect}")
        self.blob_min_share = None if blob_min_share is None else float(blob_min_share)
        self.blob_max_aspect = float(blob_max_aspect)
        self.imgsz = self.max_side
        self.session = ort_session(self.info.path, threads)
        self._input = self.session.get_inputs()[0].name
        self._text = class_id("text")

    def io_spec(self) -> dict[str, Any]:
        return {
            "input": {
                "name": self._input,
                "layout": "NCHW",
                "channel_order": "BGR",
                "dtype": "float32",
                "normalisation": "(x / 255 - 0.5) / 0.5",
                "resize": f"short side up to {self.min_side}, long side at most "
                f"{self.max_side}, each side rounded to a multiple of 32 (stretched)",
                "pad": "none",
            },
            "output": {
                "layout": "db_probability_map",
                "binarize_threshold": BIN_THRESH,
                "dilate": "2x2",
                "unclip_ratio": self.unclip_ratio,
                "min_side": MIN_SIZE,
                "score": "mean probability inside the minimum-area rectangle",
                "drop_blobs": None
                if self.blob_min_share is None
                else {
                    "min_area_share_of_map": self.blob_min_share,
                    "max_aspect": self.blob_max_aspect,
                    "rule": "drop an unclipped rectangle covering at least min_area_share_of_map "
                    "of the map whose long side is under max_aspect times its short side",
                },
                "box": "axis-aligned box around the unclipped rectangle",
                "nms_in_graph": False,
            },
        }

    def options(self) -> dict[str, Any]:
        return {"blob_min_share": self.blob_min_share, "blob_max_aspect": self.blob_max_aspect}

    @classmethod
    def options_of_older_manifest(cls, output: dict[str, Any]) -> dict[str, Any]:
        # exported before step 4b: its thresholds and figures were made without the rule
        return {} if "drop_blobs" in output else {"blob_min_share": None}

    def preprocess(self, image: np.ndarray) -> np.ndarray:
        h, w = image.shape[:2]
        iw, ih = input_size(w, h, self.min_side, self.max_side)
        x = cv2.resize(image, (iw, ih)) if (iw, ih) != (w, h) else image
        x = (x[..., ::-1].astype(np.float32) / 255.0 - 0.5) / 0.5  # RGB -> BGR, as trained
        return np.ascontiguousarray(x.transpose(2, 0, 1)[None])

    def input_feed(self, image: np.ndarray) -> dict[str, np.ndarray]:
        return {self._input: self.preprocess(check_image(image, self.description))}

    def detect(self, image: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        image = check_image(image, self.description)
        h, w = image.shape[:2]
        blob = self.preprocess(image)
        prob = self.session.run(None, {self._input: blob})[0][0, 0]
        boxes, scores = db_boxes(
            prob,
            score_floor=self.score_floor,
            unclip_ratio=self.unclip_ratio,
            blob_min_share=self.blob_min_share,
            blob_max_aspect=self.blob_max_aspect,
        )
        mh, mw = prob.shape
        boxes *= np.array([w / mw, h / mh, w / mw, h / mh])
        boxes[:, [0, 2]] = np.clip(boxes[:, [0, 2]], 0, w)
        boxes[:, [1, 3]] = np.clip(boxes[:, [1, 3]], 0, h)
        ok = (boxes[:, 2] - boxes[:, 0] > 1) & (boxes[:, 3] - boxes[:, 1] > 1)
        return boxes[ok], scores[ok], np.full(int(ok.sum()), self._text, np.int64)
