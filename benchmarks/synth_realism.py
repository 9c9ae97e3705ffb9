"""Realism score of the synthetic generator: the share of synthetic faces CenterFace finds and
of synthetic text lines PP-OCR det finds, at their default thresholds, per skin tone
(definition in :mod:`figure_ml.data.realism`).

    .venv/bin/python -m figure_ml.data.synth out_dir=/tmp/rs n_train=0 n_val=0 n_test=200 seed=7
    .venv/bin/python benchmarks/synth_realism.py --data /tmp/rs [--limit 200] [--update-card]

``--update-card`` writes the table into the dataset's DATASET_CARD.md. ``--restraint-sheets DIR``
also writes, per teacher, a sheet of crops of the boxes it keeps on the split's PHI-free photos
(:mod:`figure_ml.data.restraint_sheet`; the first 96, or with ``--largest`` the 96 largest):
what the restraint row counts, for a person to look at.
Needs the `teachers` extra (installed with `[dev]`). Prints the CPU model and the time taken.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from figure_ml.data.realism import TEACHER_OF, card_section, realism_score, update_card
from figure_ml.data.restraint_sheet import SheetCollector, require_synthetic
from figure_ml.export.latency import cpu_model


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", required=True, help="canonical synthetic dataset")
    ap.add_argument("--split", default="test")
    ap.add_argument("--limit", type=int, default=None, help="first N images of the split")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--update-card", action="store_true", help="write into DATASET_CARD.md")
    ap.add_argument("--json", type=Path, default=None, help="also write the score as JSON")
    ap.add_argument(
        "--restraint-sheets", type=Path, default=None, help="folder for the crop sheets"
    )
    ap.add_argument("--largest", action="store_true", help="sheets: the largest boxes first")
    args = ap.parse_args()
    sheets = None
    if args.restraint_sheets:  # checked before the long run, filled by it
        require_synthetic(args.data)
        sheets = {cls: SheetCollector(largest=args.largest) for cls in TEACHER_OF}
    t0 = time.perf_counter()
    score = realism_score(
        args.data, args.split, limit=args.limit, threads=args.threads, sheets=sheets
    )
    dt = time.perf_counter() - t0
    section = card_section(score)
    print(section)
    print(f"{score['n_images']} images in {dt:.0f} s on {cpu_model()}")
    if args.json:
        args.json.write_text(json.dumps(score, indent=2, allow_nan=False) + "\n")
    for cls, sheet in (sheets or {}).items():
        teacher = TEACHER_OF[cls]
        r = sheet.write(args.restraint_sheets / f"restraint_{teacher}.png")
        print(
            f"{teacher}: fired on {r.fired} of {r.phi_free} PHI-free photos, {r.boxes} boxes "
            f"covering {100 * r.box_area_share:.1f}% of their area; sheet: {r.path or 'none'}"
        )
    if args.update_card:
        print(f"updated {update_card(Path(args.data) / 'DATASET_CARD.md', section)}")


if __name__ == "__main__":
    main()
