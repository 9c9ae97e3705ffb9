"""``python -m figure_ml.redact --manifest X/manifest.json --out OUTDIR INPUT...``

Exit status: 0 when every file was redacted, 1 when any file failed (the others are still
written), 2 for a usage error or a manifest/model that is refused (e.g. a SHA-256 mismatch).
"""

from __future__ import annotations

import argparse
import logging
import sys

from figure_ml.cli import EXIT_FAILED, EXIT_OK, EXIT_USAGE
from figure_ml.errors import FigureMLError
from figure_ml.redact.batch import run_batch
from figure_ml.redact.redactor import TILE_MODES, Redactor
from figure_ml.redact.styles import STYLES

log = logging.getLogger("figure_ml.redact")


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
    p.add_argument("--tile", type=int, help="tile side in px (default: manifest)")
    p.add_argument(
        "--overlap", type=float, help="tile overlap, share of a tile (default: manifest)"
    )
    p.add_argument("--min-long-side", type=int, help="auto tiles above this long side, px")
    p.add_argument("--artifact", help="artifact name in the manifest (default: first ONNX)")
    p.add_argument(
        "--precision",
        choices=("fp32", "fp16", "int8"),
        help="pick the first artifact of this precision",
    )
    p.add_argument("--threads", type=int, help="onnxruntime intra-op threads")
    p.add_argument(
        "--overwrite-inputs", action="store_true", help="allow an output to replace an input file"
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
            threads=args.threads,
        )
    except (FigureMLError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    result = run_batch(
        redactor,
        args.inputs,
        args.out,
        overwrite_inputs=args.overwrite_inputs,
        progress=not args.no_progress,
    )
    # the final summary is the CLI's table: plain print (DESIGN §6)
    print(f"redacted {len(result.done)} file(s) into {args.out}; {len(result.failed)} failed")
    for src, why in result.failed:
        print(f"  FAILED {src}: {why}")
    return EXIT_FAILED if result.failed else EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
