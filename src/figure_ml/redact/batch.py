"""Redacting many files: discovery, output names, never overwriting inputs, failures reported.

Each input ``name.ext`` gives ``OUTDIR/name.<out ext>`` (the redacted image) and
``OUTDIR/name.json`` (the sidecar); files found inside a folder keep their sub-folder under
``OUTDIR``. Every write is atomic. A file that cannot be read is logged and skipped; the others
are still processed and the caller gets the list of failures.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from figure_ml import atomic
from figure_ml.errors import BadInputError, FigureMLError
from figure_ml.redact.encode import output_format
from figure_ml.redact.redactor import Redactor

log = logging.getLogger(__name__)

#: suffixes picked up when a folder is given (a file named explicitly is tried whatever it is)
IMAGE_SUFFIXES = {
    ".jpg", ".jpeg", ".jpe", ".png", ".webp", ".heic", ".heif", ".hif", ".avif",
    ".tif", ".tiff", ".bmp", ".gif",
}  # fmt: skip


@dataclass(frozen=True)
class Job:
    """One input and where its outputs go."""

    src: Path
    image_out: Path
    sidecar_out: Path


@dataclass
class BatchResult:
    done: list[Job] = field(default_factory=list)
    failed: list[tuple[Path, str]] = field(default_factory=list)


def discover(inputs: Iterable[str | Path], out_dir: Path) -> Iterator[tuple[Path, Path]]:
    """``(file, path relative to OUTDIR without suffix)`` for every input file.

    Folders are walked recursively in sorted order, skipping hidden files and the output
    folder itself (so a re-run into ``photos/redacted`` does not redact its own outputs).
    """
    out_resolved = out_dir.resolve()
    for item in inputs:
        p = Path(item)
        if p.is_dir():
            # the output folder is skipped only when it lies strictly inside this input folder
            out_inside = out_resolved != p.resolve() and out_resolved.is_relative_to(p.resolve())
            for f in sorted(p.rglob("*")):
                rel = f.relative_to(p)
                if any(part.startswith(".") for part in rel.parts):
                    continue
                if out_inside and f.resolve().is_relative_to(out_resolved):
                    continue
                if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES:
                    yield f, rel.with_suffix("")
        else:
            yield p, Path(p.stem)  # a missing file is reported when it is read


def plan(
    inputs: Iterable[str | Path], out_dir: str | Path, *, overwrite_inputs: bool = False
) -> tuple[list[Job], list[tuple[Path, str]]]:
    """Jobs for every input, and the inputs refused before any work (name collisions,
    outputs that would replace an input)."""
    out_dir = Path(out_dir)
    found = list(discover(inputs, out_dir))
    sources = {f.resolve() for f, _ in found if f.exists()}
    jobs: list[Job] = []
    refused: list[tuple[Path, str]] = []
    taken: dict[Path, Path] = {}
    seen: set[Path] = set()
    for src, rel in found:
        if src.resolve() in seen:  # the same file named twice (or a file and its folder)
            continue
        seen.add(src.resolve())
        _, suffix = output_format(src.name)
        image_out = out_dir / rel.with_name(rel.name + suffix)
        sidecar_out = out_dir / rel.with_name(rel.name + ".json")
        clash = next((taken[o] for o in (image_out, sidecar_out) if o in taken), None)
        if clash is not None:
            refused.append((src, f"its output name collides with that of {clash}"))
            continue
        if not overwrite_inputs and any(o.resolve() in sources for o in (image_out, sidecar_out)):
            refused.append(
                (src, f"output {image_out} would overwrite an input (use --overwrite-inputs)")
            )
            continue
        taken[image_out] = taken[sidecar_out] = src
        jobs.append(Job(src, image_out, sidecar_out))
    return jobs, refused


def redact_file(redactor: Redactor, job: Job) -> dict:
    """Redact one file and write its image and sidecar atomically; the sidecar's content."""
    try:
        data = job.src.read_bytes()
    except OSError as exc:
        raise BadInputError(f"{job.src}: cannot read ({exc.strerror or exc})") from exc
    encoded, _, result = redactor.redact_encoded(data, name=job.src.name)
    sidecar = result.sidecar(redactor, source=job.src.name, output=job.image_out.name)
    # image first, sidecar last: a sidecar present means its image is complete
    atomic.write_bytes(job.image_out, encoded)
    atomic.write_text(job.sidecar_out, json.dumps(sidecar, indent=2) + "\n")
    return sidecar


def run_batch(
    redactor: Redactor,
    inputs: Iterable[str | Path],
    out_dir: str | Path,
    *,
    overwrite_inputs: bool = False,
    progress: bool = True,
) -> BatchResult:
    """Redact every input into ``out_dir``; failures are collected, never raised."""
    from tqdm import tqdm

    jobs, refused = plan(inputs, out_dir, overwrite_inputs=overwrite_inputs)
    if not jobs and not refused:
        log.warning("no image files found in the inputs")
    result = BatchResult(failed=list(refused))
    for src, why in refused:
        log.error("skipped %s: %s", src, why)
    for job in tqdm(jobs, desc="redact", unit="img", disable=not progress or None):
        try:
            sidecar = redact_file(redactor, job)
        except (FigureMLError, OSError) as exc:
            log.error("skipped %s: %s", job.src, exc)
            result.failed.append((job.src, str(exc)))
            continue
        except Exception as exc:  # one strange file must not stop a batch of hundreds
            log.exception("skipped %s: unexpected %s", job.src, type(exc).__name__)
            result.failed.append((job.src, f"unexpected {type(exc).__name__}: {exc}"))
            continue
        log.info("%s -> %s: %d regions hidden", job.src, job.image_out,
                 len(sidecar["detections"]))  # fmt: skip
        result.done.append(job)
    return result
