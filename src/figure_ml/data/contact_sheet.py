"""A contact sheet: thumbnails with their boxes drawn, for a person to look at."""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw

from figure_ml import atomic
from figure_ml.classes import CLASS_NAMES
from figure_ml.data.fonts import load_font, resolve_font

#: box colour per class id; findings are drawn in green
CLASS_COLOURS = ((255, 40, 40), (255, 0, 255), (255, 200, 0), (0, 200, 255))
FINDING_COLOUR = (40, 255, 80)


def render_contact_sheet(samples: Sequence[dict[str, Any]], *, columns: int = 4, thumb: int = 360):
    """A PIL image: one cell per sample, PHI boxes in class colours, findings in green."""
    if not samples:
        raise ValueError("contact sheet needs at least one sample")
    rows = (len(samples) + columns - 1) // columns
    sheet = Image.new("RGB", (columns * thumb, rows * thumb), (30, 30, 30))
    font = load_font(str(resolve_font("DejaVuSans-Bold")), 11)
    for i, s in enumerate(samples):
        img = Image.open(io.BytesIO(s["image"])).convert("RGB")
        scale = min(thumb / img.width, thumb / img.height)
        img = img.resize((max(1, round(img.width * scale)), max(1, round(img.height * scale))))
        draw = ImageDraw.Draw(img)
        for f in s["findings"]:
            draw.rectangle([v * scale for v in f["bbox_xyxy"]], outline=FINDING_COLOUR, width=1)
        for o in s["objects"]:
            box = [v * scale for v in o["bbox_xyxy"]]
            colour = CLASS_COLOURS[o["category"] % len(CLASS_COLOURS)]
            draw.rectangle(box, outline=colour, width=2)
            draw.text((box[0] + 2, box[1] + 1), CLASS_NAMES[o["category"]], fill=colour, font=font)
        x, y = (i % columns) * thumb, (i // columns) * thumb
        sheet.paste(img, (x + (thumb - img.width) // 2, y + (thumb - img.height) // 2))
    return sheet


def write_contact_sheet(path: Path, samples: Sequence[dict[str, Any]]) -> Path | None:
    """Write the sheet as PNG (atomically); nothing is written for an empty sample list."""
    if not samples:
        return None
    buf = io.BytesIO()
    render_contact_sheet(samples).save(buf, format="PNG", optimize=True)
    return atomic.write_bytes(path, buf.getvalue(), private=True)
