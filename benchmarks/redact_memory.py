"""Peak memory of the redactor CLI on one large photo (issue 12: bounded below the pixel cap).

    .venv/bin/python benchmarks/redact_memory.py [--manifest X/manifest.json] [--megapixels 50]
        [--tiles off auto]

Writes a JPEG of ``--megapixels`` (4:3, smooth content plus grain, so that it compresses like a
photo), then runs ``python -m figure_ml.redact`` on it in a fresh interpreter, once per
``--tiles`` mode, and prints the child's peak resident set size (``ru_maxrss`` from
``getrusage(RUSAGE_CHILDREN)`` of a one-child helper) and wall time. A run on a 64x48 photo
gives the fixed cost (Python, numpy, onnxruntime, the model), so the per-pixel cost is
``(peak - fixed) / pixels``.

Without ``--manifest`` the stand-in of ``redact_latency.py`` is built (random-weight YOLO11n,
640 px): memory does not depend on the weights.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

_PEAK = """
import resource, subprocess, sys
r = subprocess.run(sys.argv[1:], capture_output=True, text=True)
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # KiB on Linux
print(r.returncode, peak)
sys.stderr.write(r.stdout[-2000:] + r.stderr[-2000:])
"""


def make_photo(path: Path, megapixels: float, seed: int = 0) -> tuple[int, int]:
    w = round((megapixels * 1e6 * 4 / 3) ** 0.5)
    h = round(megapixels * 1e6 / w)
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, (h // 64 + 1, w // 64 + 1, 3), dtype=np.uint8)
    big = cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)
    big += rng.integers(0, 4, big.shape, dtype=np.uint8)  # grain
    Image.fromarray(big).save(path, "JPEG", quality=90)
    return w, h


def peak_rss(argv: list[str]) -> tuple[int, float, str]:
    """``(peak RSS in MiB, seconds, exit code and log tail)`` of one child process."""
    t0 = time.perf_counter()
    r = subprocess.run([sys.executable, "-c", _PEAK, *argv], capture_output=True, text=True)
    dt = time.perf_counter() - t0
    code, kib = r.stdout.split()
    return int(kib) // 1024, dt, f"exit {code}: {r.stderr[-300:]}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--manifest")
    ap.add_argument("--megapixels", type=float, default=50.0)
    ap.add_argument("--tiles", nargs="+", default=["off", "auto"])
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        manifest = args.manifest
        if manifest is None:
            from redact_latency import standin_manifest  # benchmarks/ is on sys.path

            manifest = str(standin_manifest(tmp / "model", args.threads))
        big = tmp / "big.jpg"
        w, h = make_photo(big, args.megapixels)
        jpeg_mib = big.stat().st_size / 2**20
        small = tmp / "small.jpg"
        Image.new("RGB", (64, 48), (90, 120, 150)).save(small, "JPEG")
        base = [sys.executable, "-m", "figure_ml.redact", "--manifest", manifest, "-q",
                "--no-progress", "--threads", str(args.threads)]  # fmt: skip
        fixed, _, log0 = peak_rss([*base, "--out", str(tmp / "o0"), str(small)])
        rows = []
        for tiles in args.tiles:
            out = tmp / f"o-{tiles}"
            mib, dt, log = peak_rss([*base, "--tiles", tiles, "--out", str(out), str(big)])
            if not log.startswith("exit 0"):
                raise SystemExit(f"the redactor failed: {log}")
            side = json.loads(next(out.glob("big*.json")).read_text())
            per_px = (mib - fixed) * 2**20 / (w * h)
            rows.append((tiles, side["strategy"].get("tiles", 1), mib, per_px, dt, log))
    print(f"photo {w}x{h} = {w * h / 1e6:.1f} MP, JPEG {jpeg_mib:.1f} MiB")
    print(f"fixed cost (64x48 photo): peak RSS {fixed} MiB ({log0.split(':')[0]})")
    print(f"{'tiles':<6} {'passes':>6} {'peak MiB':>9} {'B/px above fixed':>17} {'s':>7}")
    for tiles, n, mib, per_px, dt, log in rows:
        print(f"{tiles:<6} {n:>6} {mib:>9} {per_px:>17.1f} {dt:>7.1f}  {log.split(':')[0]}")


if __name__ == "__main__":
    main()
