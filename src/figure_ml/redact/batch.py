"""Redacting many files: discovery, output names, never replacing a user's file, failures
reported.

Each input ``name.ext`` gives ``OUTDIR/name.<out ext>`` (the redacted image) and
``OUTDIR/name.redaction.json`` (the sidecar; the distinct suffix keeps it off a user's own
``name.json``); files found inside a folder keep their sub-folder under ``OUTDIR``. With
``names="hash"`` both are named by the first 16 hex digits of the input's SHA-256 instead,
flat in ``OUTDIR``, and the sidecar leaves the original name out (file and folder names often
carry a patient's name).

**Overwrite rule.** The batch never replaces a file it did not write in this run: an output
path that exists is refused unless ``overwrite`` is given, and even then an input file is never
an output (resolved paths and ``(device, inode)`` are compared, so a hard link or symlink to an
input counts as the input). Without ``overwrite`` the final write itself refuses an existing
file (:func:`figure_ml.atomic.write_bytes`), so a file that appears meanwhile is not replaced.

**Folder walk.** Recursive, sorted; hidden files and folders (name starting with ``.``),
symbolic links (to files or folders), anything that is not a regular file (FIFOs, sockets,
devices) and the output folder when it lies inside the input folder are skipped. A file named
on the command line is tried whatever its suffix; a symlink named there is followed, and a
FIFO, socket or device is refused with a message (it is never opened in blocking mode).

Every write is atomic. A file that cannot be read is logged and skipped; the others are still
processed and the caller gets the list of failures.
"""

from __future__ import annotations

import hashlib
import logging
import os
import stat
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
    ".jpg", ".jpeg", ".jpe", ".jfif", ".png", ".webp", ".heic", ".heif", ".hif", ".avif",
    ".tif", ".tiff", ".bmp", ".gif",
}  # fmt: skip
SIDECAR_SUFFIX = ".redaction.json"
NAME_MODES = ("keep", "hash")
#: hex digits of the input's SHA-256 in a hashed name (64 bits: collisions are not a concern)
HASH_CHARS = 16


@dataclass(frozen=True)
class Job:
    """One input and where its outputs go (``None`` with hashed names: known once read)."""

    src: Path
    image_out: Path | None
    sidecar_out: Path | None
    suffix: str = ""


@dataclass
class BatchResult:
    done: list[Job] = field(default_factory=list)
    failed: list[tuple[Path, str]] = field(default_factory=list)
    #: inputs whose redacted output the audit still finds PHI in (``--audit``)
    needs_review: list[Path] = field(default_factory=list)


def _walk(folder: Path, skip: Path | None) -> Iterator[Path]:
    """Regular, visible, non-symlink image files under ``folder``, sorted, recursively."""
    with os.scandir(folder) as it:
        entries = sorted(it, key=lambda e: e.name)
    for e in entries:
        p = Path(e.path)
        if e.name.startswith(".") or e.is_symlink():
            log.debug("folder walk skips %s (hidden or a symlink)", p)
        elif e.is_dir(follow_symlinks=False):
            if skip is None or p.resolve() != skip:
                yield from _walk(p, skip)
        elif e.is_file(follow_symlinks=False) and p.suffix.lower() in IMAGE_SUFFIXES:
            yield p
        # FIFOs, sockets, devices and other suffixes: not images of this folder


def discover(inputs: Iterable[str | Path], out_dir: Path) -> Iterator[tuple[Path, Path]]:
    """``(file, path relative to OUTDIR without suffix)`` for every input file.

    Folders are walked as the module docstring says, skipping the output folder when it lies
    strictly inside (so a re-run into ``photos/redacted`` does not redact its own outputs).
    """
    out_resolved = out_dir.resolve()
    for item in inputs:
        p = Path(item)
        if p.is_dir():
            root = p.resolve()
            inside = out_resolved != root and out_resolved.is_relative_to(root)
            for f in _walk(p, out_resolved if inside else None):
                yield f, f.relative_to(p).with_suffix("")
        else:
            yield p, Path(p.stem)  # a missing or irregular file is reported when it is read


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_dev, st.st_ino


@dataclass
class _Inputs:
    """Resolved paths and ``(device, inode)`` of every input: none may become an output."""

    paths: set[Path] = field(default_factory=set)
    ids: set[tuple[int, int]] = field(default_factory=set)

    def add(self, path: Path) -> None:
        if (ident := _identity(path)) is not None:
            self.paths.add(path.resolve())
            self.ids.add(ident)

    def refuse(self, out: Path, overwrite: bool) -> str | None:
        """Why ``out`` may not be written, or None."""
        if out.resolve() in self.paths or _identity(out) in self.ids:
            return f"output {out} is an input file (never replaced, even with --overwrite)"
        if not overwrite and os.path.lexists(out):
            return f"output {out} already exists (use --overwrite to replace it)"
        return None


def plan(
    inputs: Iterable[str | Path],
    out_dir: str | Path,
    *,
    overwrite: bool = False,
    names: str = "keep",
) -> tuple[list[Job], list[tuple[Path, str]]]:
    """Jobs for every input, and the inputs refused before any work (name collisions,
    outputs that exist or would replace an input)."""
    jobs, refused, _ = _plan(inputs, out_dir, overwrite=overwrite, names=names)
    return jobs, refused


def _plan(
    inputs: Iterable[str | Path], out_dir: str | Path, *, overwrite: bool, names: str
) -> tuple[list[Job], list[tuple[Path, str]], _Inputs]:
    if names not in NAME_MODES:
        raise ValueError(f"names must be one of {NAME_MODES}, got {names!r}")
    out_dir = Path(out_dir)
    found = list(discover(inputs, out_dir))
    sources = _Inputs()
    for f, _ in found:
        sources.add(f)
    jobs: list[Job] = []
    refused: list[tuple[Path, str]] = []
    taken: dict[Path, Path] = {}
    seen: set[Path] = set()
    for src, rel in found:
        if src.resolve() in seen:  # the same file named twice (or a file and its folder)
            continue
        seen.add(src.resolve())
        _, suffix = output_format(src.name)
        if names == "hash":
            jobs.append(Job(src, None, None, suffix))  # checked when written
            continue
        image_out = out_dir / rel.with_name(rel.name + suffix)
        sidecar_out = out_dir / rel.with_name(rel.name + SIDECAR_SUFFIX)
        clash = next((taken[o] for o in (image_out, sidecar_out) if o in taken), None)
        if clash is not None:
            refused.append((src, f"its output name collides with that of {clash}"))
            continue
        why = sources.refuse(image_out, overwrite) or sources.refuse(sidecar_out, overwrite)
        if why:
            refused.append((src, why))
            continue
        taken[image_out] = taken[sidecar_out] = src
        jobs.append(Job(src, image_out, sidecar_out, suffix))
    return jobs, refused, sources


def read_regular(path: Path) -> bytes:
    """The bytes of a regular file; a FIFO, socket or device is refused without blocking."""
    try:
        st = path.stat()
    except OSError as exc:
        raise BadInputError(f"{path}: cannot read ({exc.strerror or exc})") from exc
    if not stat.S_ISREG(st.st_mode):
        kind = next(
            (k for k, test in (("a FIFO", stat.S_ISFIFO), ("a socket", stat.S_ISSOCK),
                               ("a device", stat.S_ISCHR), ("a device", stat.S_ISBLK),
                               ("a folder", stat.S_ISDIR)) if test(st.st_mode)),
            "special",
        )  # fmt: skip
        raise BadInputError(f"{path}: not a regular file ({kind}); refused")
    # O_NONBLOCK: should the path have become a FIFO since the stat, open must not wait
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as exc:
        raise BadInputError(f"{path}: cannot read ({exc.strerror or exc})") from exc
    with os.fdopen(fd, "rb") as fh:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise BadInputError(f"{path}: not a regular file; refused")
        os.set_blocking(fd, True)
        return fh.read()


def redact_file(
    redactor: Redactor,
    job: Job,
    out_dir: Path,
    *,
    sources: _Inputs | None = None,
    overwrite: bool = False,
    written: dict[Path, Path] | None = None,
    auditor=None,
) -> tuple[Job, dict | None]:
    """Redact one file and write its image and sidecar atomically: the job (with its output
    paths) and the sidecar's content (None: hashed names, and ``written`` already holds this
    content's output). ``auditor`` (:mod:`figure_ml.redact.audit`): run on the encoded
    output, decoded again; its findings and ``needs_review`` go into the sidecar."""
    data = read_regular(job.src)
    if job.image_out is None:  # hashed names
        digest = hashlib.sha256(data).hexdigest()
        stem = digest[:HASH_CHARS]
        job = Job(job.src, out_dir / (stem + job.suffix), out_dir / (stem + SIDECAR_SUFFIX))
        if written is not None and job.image_out in written:
            return job, None
        extra = {"source_sha256": digest}
    else:
        extra = {"source": job.src.name}
    for out in (job.image_out, job.sidecar_out):
        why = (sources or _Inputs()).refuse(out, overwrite)  # again: time passed since plan
        if why:
            raise FileExistsError(why)
    encoded, _, result = redactor.redact_encoded(data, name=job.src.name)
    del data
    sidecar = result.sidecar(redactor, **extra, output=job.image_out.name)
    if auditor is not None:
        from figure_ml.imageio import decode_image

        # the pixels that will be published: the encoded output, decoded as a viewer would
        findings, aside = auditor.audit_split(decode_image(encoded, name=job.image_out.name))
        sidecar["needs_review"] = bool(findings)
        sidecar["audit"] = {
            "detectors": auditor.describe(),
            "findings": findings,
            "set_aside": aside,
        }
    text = atomic.dumps_json(sidecar)  # strict JSON: fails here, before any write
    # image first, sidecar last: a sidecar present means its image is complete
    atomic.write_bytes(job.image_out, encoded, overwrite=overwrite, private=True)
    atomic.write_text(job.sidecar_out, text, overwrite=overwrite, private=True)
    return job, sidecar


def run_batch(
    redactor: Redactor,
    inputs: Iterable[str | Path],
    out_dir: str | Path,
    *,
    overwrite: bool = False,
    names: str = "keep",
    progress: bool = True,
    auditor=None,
) -> BatchResult:
    """Redact every input into ``out_dir``; failures are collected, never raised."""
    from tqdm import tqdm

    out_dir = Path(out_dir)
    jobs, refused, sources = _plan(inputs, out_dir, overwrite=overwrite, names=names)
    if not jobs and not refused:
        log.warning("no image files found in the inputs")
    result = BatchResult(failed=list(refused))
    for src, why in refused:
        log.error("skipped %s: %s", src, why)
    written: dict[Path, Path] = {}  # hashed outputs written in this run -> their input
    for job in tqdm(jobs, desc="redact", unit="img", disable=not progress or None):
        try:
            done, sidecar = redact_file(
                redactor,
                job,
                out_dir,
                sources=sources,
                overwrite=overwrite,
                written=written,
                auditor=auditor,
            )
        except (FigureMLError, OSError) as exc:
            log.error("skipped %s: %s", job.src, exc)
            result.failed.append((job.src, str(exc)))
            continue
        except Exception as exc:  # one strange file must not stop a batch of hundreds
            log.exception("skipped %s: unexpected %s", job.src, type(exc).__name__)
            result.failed.append((job.src, f"unexpected {type(exc).__name__}: {exc}"))
            continue
        if sidecar is None:
            log.info("%s: same content as %s, already written", job.src, written[done.image_out])
            result.done.append(done)
            continue
        written[done.image_out] = job.src
        if sidecar.get("needs_review"):
            log.warning("%s: the audit still finds PHI in the output: needs review", job.src)
            result.needs_review.append(job.src)
        log.info("%s -> %s: %d regions hidden", job.src, done.image_out,
                 len(sidecar["detections"]))  # fmt: skip
        result.done.append(done)
    return result
