"""Fonts for rendered text: only files that ship with installed packages or Debian font packages.

Nothing is downloaded. A config names fonts by file stem (``DejaVuSans-Bold``) or by path; each
is looked up in matplotlib's bundled fonts (DejaVu, STIX, Computer Modern; matplotlib comes with
ultralytics) and then in ``/usr/share/fonts``.
"""

from __future__ import annotations

import functools
from pathlib import Path

from PIL import ImageFont

from figure_ml.errors import ConfigError


def font_dirs() -> list[Path]:
    """Folders searched for fonts, in order."""
    dirs: list[Path] = []
    try:
        import matplotlib

        dirs.append(Path(matplotlib.get_data_path()) / "fonts" / "ttf")
    except ImportError:  # pragma: no cover - matplotlib is a dependency of ultralytics
        pass
    dirs.append(Path("/usr/share/fonts"))
    return [d for d in dirs if d.is_dir()]


@functools.cache
def _index() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for d in font_dirs():
        for p in sorted(d.rglob("*")):
            if p.suffix.lower() in {".ttf", ".otf"}:
                found.setdefault(p.stem, p)
    return found


def resolve_font(name: str) -> Path:
    """Path of font ``name`` (a file stem or a path); :class:`ConfigError` naming it if absent."""
    p = Path(name).expanduser()
    if p.suffix.lower() in {".ttf", ".otf"} or p.is_absolute():
        if p.is_file():
            return p.resolve()
        raise ConfigError(f"font {name!r}: no such file")
    idx = _index()
    if name in idx:
        return idx[name]
    searched = ", ".join(str(d) for d in font_dirs()) or "(no font folders)"
    raise ConfigError(f"font {name!r} is not installed (searched {searched})")


def resolve_fonts(names: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """Resolve every name; the first missing one raises :class:`ConfigError`."""
    if not names:
        raise ConfigError("fonts: at least one font is needed")
    return tuple(str(resolve_font(n)) for n in names)


@functools.lru_cache(maxsize=512)
def load_font(path: str, size: int) -> ImageFont.FreeTypeFont:
    """A cached PIL font of ``size`` pixels (em size) from ``path``."""
    return ImageFont.truetype(path, max(1, int(size)))
