"""Latency of a detector set (model plus teachers) as the redactor runs it, per member and total.

    .venv/bin/python benchmarks/ensemble_latency.py --manifest X/manifest.json [--runs 5]
        [--threads 2]

For a 640x480 and a 4032x3024 photo (a synthetic scene, resized; JPEG): milliseconds per
member's detection (the model with the manifest's tiling policy; each teacher on the whole
photo, pre- and post-processing included) and end to end (decode, every member, mask, fill,
encode), median of ``--runs``. Prints a table; asserts nothing.
"""

from __future__ import annotations

import argparse
import io
import statistics
import time

import cv2
import numpy as np
from PIL import Image

from figure_ml.redact import Redactor
from figure_ml.tiling import detect_tiled


def _scene(w: int, h: int) -> np.ndarray:
    rng = np.random.default_rng(0)
    base = rng.integers(60, 200, (h // 8 + 1, w // 8 + 1, 3), dtype=np.uint8)
    img = cv2.resize(base, (w, h), interpolation=cv2.INTER_CUBIC)
    return np.clip(img + rng.normal(0, 3, img.shape), 0, 255).astype(np.uint8)


def _ms(fn, runs: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--manifest", required=True)
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--threads", type=int, default=None)
    args = p.parse_args()
    r = Redactor.from_manifest(args.manifest, threads=args.threads)
    print(f"members: {r.member_names}; threads {args.threads or 'default'}")
    print(f"{'photo':>10} | " + " | ".join(f"{n:>12}" for n in r.member_names) + " | end to end")
    for w, h in ((640, 480), (4032, 3024)):
        image = _scene(w, h)  # smooth noise: latency only, no PHI in it
        buf = io.BytesIO()
        Image.fromarray(image).save(buf, "JPEG", quality=92)
        data = buf.getvalue()
        im, d = image, data
        cells = [_ms(lambda im=im: detect_tiled(im, r.detector.detect, r.policy), args.runs)]
        cells += [_ms(lambda t=t, im=im: t.detect(im), args.runs) for t in r.teachers]
        total = _ms(lambda d=d: r.redact_encoded(d, "photo.jpg"), args.runs)
        size = f"{w}x{h}"
        print(f"{size:>10} | " + " | ".join(f"{c:>9.1f} ms" for c in cells) + f" | {total:.1f} ms")


if __name__ == "__main__":
    main()
