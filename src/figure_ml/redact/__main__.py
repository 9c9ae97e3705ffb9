"""``python -m figure_ml.redact --manifest X/manifest.json --out OUTDIR INPUT...``

``--audit`` runs detectors (default: the teachers centerface_turns and ppocr_det as installed; or
``--audit-manifest M``'s detectors) on every redacted output; a photo in which any still finds
PHI above its audit threshold gets ``"needs_review": true`` in its sidecar and is counted.

Exit status: 0 when every file was redacted, 1 when any file failed (the others are still
written) or, with ``--fail-on-review``, when any output needs review, 2 for a usage error or
a manifest/model that is refused (e.g. a SHA-256 mismatch).
Every option is checked before any file is read; a value out of range exits 2 naming the range.
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import sys

from figure_ml.cli import EXIT_FAILED, EXIT_OK, EXIT_USAGE
from figure_ml.errors import FigureMLError
from figure_ml.redact.batch import NAME_MODES, run_batch
from figure_ml.redact.redactor import MAX_MEGAPIXELS, Redactor
from figure_ml.redact.styles import STYLES
from figure_ml.tiling import OVERLAP_MAX, TILE_MAX, TILE_MIN, TILE_MODES

log = logging.getLogger("figure_ml.redact")


def _int_in(low: int, high: int | None = None):
    allowed = f"an integer in [{low}, {high}]" if high is not None else f"an integer >= {low}"

    def parse(text: str) -> int:
        try:
            v = int(text)
        except ValueError:
            v = None
        if v is None or v < low or (high is not None and v > high):
            raise argparse.ArgumentTypeError(f"must be {allowed}, got {text!r}")
        return v

    return parse


def _float_in(low: float, high: float | None = None, *, low_open: bool = False):
    if high is None:
        allowed = f"a number {'>' if low_open else '>='} {low:g} (finite)"
    else:
        allowed = f"a number in {'(' if low_open else '['}{low:g}, {high:g}]"

    def parse(text: str) -> float:
        try:
            v = float(text)
        except ValueError:
            v = math.nan
        ok = math.isfinite(v) and (v > low if low_open else v >= low)
        if not ok or (high is not None and v > high):  # NaN fails every comparison: refused
            raise argparse.ArgumentTypeError(f"must be {allowed}, got {text!r}")
        return v

    return parse


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m figure_ml.redact",
        description="Hide PHI (faces, tattoos, wristbands, text) in photos with an exported model.",
    )
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="image files or folders")
    p.add_argument("--manifest", required=True, help="manifest.json written by export")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument(
        "--style",
        choices=STYLES,
        default="fill",
        help="fill (default, irreversible), pixelate, blur (unsafe for text)",
    )
    p.add_argument(
        "--tiles",
        choices=TILE_MODES,
        default=None,
        help="tiled passes for large photos (default: the manifest's policy)",
    )
    p.add_argument(
        "--tile",
        type=_int_in(TILE_MIN, TILE_MAX),
        help=f"tile side in px, {TILE_MIN}..{TILE_MAX} (default: manifest)",
    )
    p.add_argument(
        "--overlap",
        type=_float_in(0.0, OVERLAP_MAX),
        help=f"tile overlap, share of a tile, 0..{OVERLAP_MAX} (default: manifest)",
    )
    p.add_argument("--min-long-side", type=_int_in(0), help="auto tiles above this long side, px")
    p.add_argument(
        "--tile-long-side",
        type=_int_in(0),
        help="cut tiles from the photo shrunk to this long side, px; 0: full resolution "
        "(default: manifest)",
    )
    p.add_argument("--artifact", help="artifact name in the manifest (default: first ONNX)")
    p.add_argument(
        "--precision",
        choices=("fp32", "fp16", "int8"),
        help="pick the first artifact of this precision (a detector set's teachers follow: "
        "INT8 where the manifest ships their INT8 version)",
    )
    p.add_argument("--threads", type=_int_in(1, 1024), help="onnxruntime intra-op threads")
    p.add_argument(
        "--max-megapixels",
        type=_float_in(0.0, low_open=True),
        default=MAX_MEGAPIXELS,
        help="refuse larger photos from their header, before decoding"
        f" (default {MAX_MEGAPIXELS:g})",
    )
    p.add_argument(
        "--names",
        choices=NAME_MODES,
        default="keep",
        help="keep: OUT/<input name>.<ext>; hash: OUT/<sha256 of the input, 16 hex>.<ext>, and"
        " the sidecar leaves the input name out (names often carry a patient's name)",
    )
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="replace existing outputs (an input file is never replaced)",
    )
    p.add_argument(
        "--audit",
        action="store_true",
        help="run audit detectors on every redacted output; flag photos where PHI remains",
    )
    p.add_argument(
        "--audit-manifest",
        metavar="M",
        help="audit with this manifest's detectors (implies --audit; default: the teachers)",
    )
    p.add_argument(
        "--fail-on-review",
        action="store_true",
        help="exit 1 when any output needs review (with --audit)",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("-q", "--quiet", action="store_true", help="warnings and errors only")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(
        level=logging.WARNING if args.quiet else logging.INFO,
        format="%(levelname)s %(name)s: %(message)s",
    )
    if os.path.exists(args.out) and not os.path.isdir(args.out):
        print(f"error: --out {args.out} exists and is not a folder", file=sys.stderr)
        return EXIT_USAGE
    from PIL import Image

    # --max-megapixels is checked on every file from its header (figure_ml.imageio); Pillow's
    # global guard (an error above ~179 MP) would pre-empt it with a message without the size.
    # Restored on return: main() also runs inside other processes (tests, notebooks)
    pillow_limit, Image.MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS, None
    try:
        return _run(args)
    finally:
        Image.MAX_IMAGE_PIXELS = pillow_limit


def _run(args: argparse.Namespace) -> int:
    try:
        redactor = Redactor.from_manifest(
            args.manifest,
            artifact=args.artifact,
            precision=args.precision,
            style=args.style,
            tiles=args.tiles,
            tile=args.tile,
            overlap=args.overlap,
            min_long_side=args.min_long_side,
            tile_long_side=args.tile_long_side,
            threads=args.threads,
            max_megapixels=args.max_megapixels,
        )
    except (FigureMLError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    auditor = None
    if args.audit or args.audit_manifest:
        from figure_ml.redact.audit import default_auditor, manifest_auditor

        try:
            auditor = (
                manifest_auditor(args.audit_manifest, args.threads)
                if args.audit_manifest
                else default_auditor(threads=args.threads)
            )
        except (FigureMLError, ValueError) as exc:
            print(f"error: audit: {exc}", file=sys.stderr)
            return EXIT_USAGE
    elif args.fail_on_review:
        print("error: --fail-on-review needs --audit or --audit-manifest", file=sys.stderr)
        return EXIT_USAGE
    result = run_batch(
        redactor,
        args.inputs,
        args.out,
        overwrite=args.overwrite,
        names=args.names,
        progress=not args.no_progress,
        auditor=auditor,
    )
    # the final summary is the CLI's table: plain print (DESIGN §6)
    print(f"redacted {len(result.done)} file(s) into {args.out}; {len(result.failed)} failed")
    for src, why in result.failed:
        print(f"  FAILED {src}: {why}")
    if auditor is not None:
        print(f"audit: {len(result.needs_review)} of {len(result.done)} output(s) need review")
        for src in result.needs_review:
            print(f"  NEEDS REVIEW {src}")
    if result.failed or (args.fail_on_review and result.needs_review):
        return EXIT_FAILED
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
