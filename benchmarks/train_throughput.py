"""Training throughput of a YOLO nano on this machine: images per second one training pass
consumes (data loading, mosaic augmentation, forward, backward, optimiser step), at imgsz 640
and 320. Validation is not counted.

    .venv/bin/python benchmarks/train_throughput.py [--model yolo11n.yaml] [--images 64]
        [--sizes 640 320] [--device cpu] [--batch 16]

Images are noise photos with a long side of 640-1024 px (like the synthetic set), so decoding
and resizing cost what they cost in real runs. The second epoch is reported (the first one
pays for warm-up). Prints a table; it is a benchmark, not a test.
"""

from __future__ import annotations

import argparse
import logging
import os
import tempfile
from pathlib import Path

import numpy as np
import yaml
from PIL import Image

from figure_ml import yolo
from figure_ml.classes import names_dict


def _make_yolo_folder(root: Path, n_train: int, n_val: int, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    for split, n in (("train", n_train), ("val", n_val)):
        (root / "images" / split).mkdir(parents=True)
        (root / "labels" / split).mkdir(parents=True)
        for i in range(n):
            long = int(rng.integers(640, 1025))
            w, h = (long, int(long * 0.75)) if i % 2 else (int(long * 0.75), long)
            img = rng.integers(0, 255, (h, w, 3), dtype=np.uint8)
            Image.fromarray(img).save(root / "images" / split / f"{i:04d}.jpg", quality=85)
            lines = []
            for _ in range(int(rng.integers(1, 6))):
                bw, bh = rng.uniform(0.05, 0.3, 2)
                cx, cy = rng.uniform(bw / 2, 1 - bw / 2), rng.uniform(bh / 2, 1 - bh / 2)
                lines.append(f"{int(rng.integers(0, 4))} {cx:.5f} {cy:.5f} {bw:.5f} {bh:.5f}")
            (root / "labels" / split / f"{i:04d}.txt").write_text("\n".join(lines) + "\n")
    data = {
        "path": str(root),
        "train": "images/train",
        "val": "images/val",
        "names": names_dict(),
        "nc": len(names_dict()),
    }
    (root / "data.yaml").write_text(yaml.safe_dump(data))
    return root / "data.yaml"


def measure(data_yaml: Path, out: Path, model: str, imgsz: int, batch: int, device: str) -> float:
    """Images/s of the second training epoch."""
    reports: list[yolo.EpochReport] = []
    yolo.train_detector(
        model_yaml=model,
        data_yaml=data_yaml,
        save_dir=out / f"{Path(model).stem}-{imgsz}",
        args={
            "epochs": 2,
            "imgsz": imgsz,
            "batch": batch,
            "device": device,
            "workers": 0,
            "warmup_epochs": 0,
            "close_mosaic": 0,
        },
        seed=0,
        on_epoch=reports.append,
    )
    second = [r for r in reports if not r.final][-1]
    return second.train_images / second.train_seconds


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="yolo11n.yaml")
    ap.add_argument("--images", type=int, default=64)
    ap.add_argument("--sizes", type=int, nargs="+", default=[640, 320])
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    with tempfile.TemporaryDirectory(prefix="figure_ml-bench-") as tmp:
        data_yaml = _make_yolo_folder(Path(tmp) / "data", args.images, 4)
        rows = []
        for size in args.sizes:
            ips = measure(data_yaml, Path(tmp) / "runs", args.model, size, args.batch, args.device)
            rows.append((size, ips))
    print(
        f"training throughput, {args.model}, batch {args.batch}, device {args.device}, "
        f"{os.cpu_count()} CPU cores, ultralytics {yolo.version()}"
    )
    print(f"{'imgsz':>6} {'images/s':>9} {'s/epoch of 2000 images':>24}")
    for size, ips in rows:
        print(f"{size:>6} {ips:>9.1f} {2000 / ips:>24.0f}")


if __name__ == "__main__":
    main()
