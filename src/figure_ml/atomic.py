"""Atomic writes: a reader never sees a half-written file or folder.

Files are written to a temporary sibling and renamed over the target (``os.replace`` is atomic
on POSIX within one file system); with ``overwrite=False`` the temporary file is hard-linked to
the target instead, which fails when the target exists, so a file that appeared meanwhile is
never replaced. Folders are built in a temporary sibling folder and renamed into place only
when complete. JSON is written strict: NaN and infinities are refused, not written as the
non-standard tokens ``NaN`` / ``Infinity`` that Python's ``json`` emits by default.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any


def _umask() -> int:
    """The process umask, read without changing it where Linux reports it (``os.umask`` can
    only read it by setting it, which for a moment changes it for every thread)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o077)  # elsewhere: set it (to a private mask) and put it straight back
    os.umask(mask)
    return mask


def _set_mode(path: str | os.PathLike[str], mode: int, private: bool) -> None:
    """Give a temporary file (``mode`` 0o666) or folder (0o777) the mode ``open`` or ``mkdir``
    would give it under the process umask, unless ``private``.

    ``mkstemp`` and ``mkdtemp`` make them private (0600 / 0700) and a rename keeps that. An
    export, a manifest or a model card must be readable by the account that runs the redactor,
    so those follow the umask. Photos do not: datasets that may hold real photos, contact
    sheets and the redactor's outputs are written with ``private=True`` and stay readable by
    their owner only, whatever the umask (a loose umask must not publish patient photos)."""
    if not private:
        os.chmod(path, mode & ~_umask())


def write_bytes(
    path: str | os.PathLike[str], data: bytes, *, overwrite: bool = True, private: bool = False
) -> Path:
    """Write ``data`` to ``path`` atomically and return the path.

    ``overwrite=False``: raise :class:`FileExistsError` when ``path`` exists (checked by the
    final link itself, so there is no window between a check and the write). ``private``: mode
    0600 whatever the umask (photos; see :func:`_set_mode`); else the umask's.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        _set_mode(tmp, 0o666, private)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        if overwrite:
            os.replace(tmp, path)
        else:
            _link_no_replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return path


def _link_no_replace(tmp: str, path: Path) -> None:
    try:
        os.link(tmp, path)  # EEXIST when path exists: the no-replace rename POSIX lacks
    except OSError as exc:
        if exc.errno == errno.EEXIST:
            raise FileExistsError(errno.EEXIST, "already exists", str(path)) from None
        if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV):
            raise
        # a file system without hard links: check, then rename (a short race remains)
        if os.path.lexists(path):
            raise FileExistsError(errno.EEXIST, "already exists", str(path)) from None
        os.replace(tmp, path)
        return
    os.unlink(tmp)


def write_text(
    path: str | os.PathLike[str], text: str, *, overwrite: bool = True, private: bool = False
) -> Path:
    """Write UTF-8 ``text`` to ``path`` atomically and return the path."""
    return write_bytes(path, text.encode("utf-8"), overwrite=overwrite, private=private)


def jsonable(x: Any) -> Any:
    """``x`` made strict-JSON-ready: NaN/Infinity -> null, numpy scalars -> Python, tuples ->
    lists (for records where "not measured" is a legitimate value, e.g. a metric of a class
    without data; where a NaN would be a bug, write without this and let it raise)."""
    import math

    if isinstance(x, dict):
        return {k: jsonable(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [jsonable(v) for v in x]
    if hasattr(x, "item") and callable(x.item) and getattr(x, "ndim", None) == 0:
        x = x.item()
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


def dumps_json(obj: Any, *, indent: int | None = 2, sort_keys: bool = False) -> str:
    """Strict JSON text of ``obj`` (a NaN or infinity raises ``ValueError``), newline-ended."""
    return json.dumps(obj, indent=indent, sort_keys=sort_keys, allow_nan=False) + "\n"


def write_json(
    path: str | os.PathLike[str],
    obj: Any,
    *,
    indent: int | None = 2,
    sort_keys: bool = False,
    overwrite: bool = True,
    private: bool = False,
) -> Path:
    """Write ``obj`` as strict JSON (no NaN / Infinity tokens) atomically; the path.

    Raises ``ValueError`` before touching ``path`` when ``obj`` holds a non-finite float.
    """
    text = dumps_json(obj, indent=indent, sort_keys=sort_keys)
    return write_text(path, text, overwrite=overwrite, private=private)


@contextlib.contextmanager
def staging_dir(
    target: str | os.PathLike[str], *, overwrite: bool = False, private: bool = False
) -> Iterator[Path]:
    """Yield a temporary folder next to ``target``; on success it replaces ``target``.
    ``private``: mode 0700 whatever the umask (a dataset that may hold photos); else the
    umask's.

    On any exception the temporary folder is removed and ``target`` is left exactly as it was.
    With ``overwrite`` an existing ``target`` is replaced only after the new one is complete
    (renamed aside, new one renamed in, old one deleted).
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent))
    try:
        _set_mode(tmp, 0o777, private)
        yield tmp
        if target.exists():
            if not overwrite:
                raise FileExistsError(f"{target} already exists")
            old = target.with_name(f".{target.name}.old-{os.getpid()}")
            os.replace(target, old)
            os.replace(tmp, target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
