"""A printed page photographed or scanned: letters, lab reports, referral forms.

Clinicians share photos of paperwork as often as photos of patients, and such a page is mostly
*dense* text: a letterhead, a block of patient details, then paragraphs and form fields line
after line. The labels and stickers of :mod:`carriers` hold at most seven short lines, so
without pages a model never sees text set line above line with only a line gap between, and
learns neither to find every line of a paragraph nor to box each line alone (DESIGN §4: one
axis-aligned box per line of legible text, whatever it says).

Every legible line of the page is a ``text`` object (``content`` says whether it is patient
detail or body text); the paper and its ruled lines are not. Sizes are chosen in frame pixels
so that every line stays legible after placement (capitals at least :data:`MIN_CAP_PX` tall).
"""

from __future__ import annotations

from pathlib import Path

import faker as faker_mod
import numpy as np

from figure_ml.data.render.canvas import Canvas
from figure_ml.data.render.carriers import Sheet, place_sheet
from figure_ml.data.render.glyphs import font_for_cap, log_uniform, text_line
from figure_ml.data.render.phi_content import label_lines, phi_line
from figure_ml.data.render.primitives import Layout

#: smallest capital height of a page's line, in frame pixels: smaller print is not legible in
#: a phone photo, and an illegible grey line is not text (DESIGN §4)
MIN_CAP_PX = 6.0
#: baseline to baseline, in capital heights, as word processors set body text
LINE_PITCH = 1.9
#: what a page's headings and form fields are called (the values are patient detail or prose)
HEADINGS = (
    "Clinical history",
    "Examination",
    "Assessment",
    "Plan",
    "Medication",
    "Findings",
    "Impression",
    "Referral",
    "Results",
    "Follow-up",
)
FIELDS = ("Ward", "Consultant", "Allergies", "Specimen", "Requested by", "Reported", "Ref")
PAPER = ((0.97, 0.97, 0.95), (0.99, 0.98, 0.94), (0.94, 0.95, 0.97), (0.96, 0.94, 0.88))
INK = ((0.05, 0.05, 0.06), (0.1, 0.12, 0.3), (0.18, 0.18, 0.2))


def _wrap(words: list[str], font_path: str, cap: float, width: float) -> tuple[str, list[str]]:
    """The longest run of ``words`` that fits ``width`` px, and the words left over."""
    if not words:
        return "", []
    font = font_for_cap(font_path, cap)
    line = words[0]
    k = 1
    while k < len(words) and font.getlength(f"{line} {words[k]}") <= width:
        line = f"{line} {words[k]}"
        k += 1
    return line, words[k:]


class _Page:
    """Lines set top to bottom on a sheet, each one text object."""

    def __init__(self, sheet: Sheet, margin: int) -> None:
        self.sheet, self.margin = sheet, margin
        self.y = margin

    def room(self, cap: float) -> bool:
        """Whether a line of ``cap`` px capitals (with descenders) still fits above the margin."""
        return self.y + cap * 1.6 < self.sheet.h - self.margin

    def line(
        self,
        text: str,
        font: str,
        cap: float,
        content: str,
        x: int | None = None,
        right: int | None = None,
    ) -> None:
        """Set ``text`` at the current line from ``x`` (the left margin) to ``right`` (the
        right margin)."""
        x = self.margin if x is None else x
        right = self.sheet.w - self.margin if right is None else right
        # a line longer than the measure loses its last words, as a form field's box cuts it
        text, _ = _wrap(text.split(), font, cap, right - x)
        a, band = text_line(text, font, cap)
        self.sheet.put(
            a,
            x,
            int(self.y),
            {
                "carrier": "document",
                "content": content,
                "font": Path(font).stem,
                "char_px": round(cap, 1),
                "chars": len(text),
            },
            band,
        )

    def advance(self, cap: float, extra: float = 0.0) -> None:
        """Move down one line of ``cap`` px capitals plus ``extra`` px."""
        self.y += cap * LINE_PITCH + extra


def document_sheet(
    fk: faker_mod.Faker,
    rng: np.random.Generator,
    fonts: tuple[str, ...],
    width: int,
    height: int,
    cap: float,
) -> Sheet:
    """A ``width x height`` px page with body text of capital height ``cap`` px."""
    sheet = Sheet(height, width, PAPER[rng.integers(len(PAPER))], 0)
    font = fonts[rng.integers(len(fonts))]
    bold = fonts[rng.integers(len(fonts))]
    page = _Page(sheet, int(cap * rng.uniform(2.0, 4.0)))
    text_w = width - 2 * page.margin
    # letterhead, then the patient block (sometimes two columns, as on lab forms)
    head_cap = cap * rng.uniform(1.3, 2.0)
    if page.room(head_cap):
        title = f"{fk.last_name()} {rng.choice(['Hospital', 'Clinic', 'Medical Centre'])}"
        page.line(title, bold, head_cap, "body")
        page.advance(head_cap, cap)
    two_cols = rng.random() < 0.5
    details = label_lines(fk, rng, int(rng.integers(2, 6)))
    for i, (kind, text) in enumerate(details):
        if not page.room(cap):
            break
        if two_cols and i % 2 == 1:
            page.line(text, font, cap, kind, x=page.margin + text_w // 2)
            page.advance(cap)
        else:  # in two columns, the left one stops a gutter short of the right one
            right = page.margin + text_w // 2 - int(cap) if two_cols else None
            page.line(text, font, cap, kind, right=right)
            if not two_cols or i == len(details) - 1:
                page.advance(cap)
    page.advance(0, cap)
    # sections: a heading, then either form fields or a paragraph, until the page is full
    while page.room(cap):
        page.line(str(rng.choice(HEADINGS)) + ":", bold, cap, "body")
        page.advance(cap)
        if rng.random() < 0.3:
            for _ in range(int(rng.integers(1, 4))):
                if not page.room(cap):
                    break
                field = str(rng.choice(FIELDS))
                value = phi_line(fk, rng, "other") if rng.random() < 0.5 else fk.word()
                page.line(f"{field}: {value}", font, cap, "body")
                page.advance(cap)
        else:
            words = fk.paragraph(nb_sentences=int(rng.integers(2, 7))).split()
            while words and page.room(cap):
                # a paragraph's last line is short; others fill the measure
                text, words = _wrap(words, font, cap, text_w * rng.uniform(0.92, 1.0))
                page.line(text, font, cap, "body")
                page.advance(cap)
        page.advance(0, cap * rng.uniform(0.3, 1.2))
    return sheet


def add_document(
    canvas: Canvas, fk: faker_mod.Faker, fonts: tuple[str, ...], layout: Layout
) -> list:
    """A page filling much of the frame, nearly square to the camera; returns its text objects.

    Most are framed whole, like a scan or a careful photo; a quarter run off one edge.
    """
    rng = canvas.rng
    w, h = canvas.width, canvas.height
    portrait_page = rng.random() < 0.8
    page_h = h * rng.uniform(0.6, 1.1)
    page_w = page_h * (0.71 if portrait_page else 1.41)
    if page_w > w * 1.1:
        page_w, page_h = w * rng.uniform(0.6, 1.1), page_h * (w / page_w)
    cap = log_uniform(rng, 6, 18)
    # at least a letterhead, patient details and some body text, about 40 characters a line
    cap = max(MIN_CAP_PX, min(cap, page_h / 14, page_w / 28))
    sheet = document_sheet(fk, rng, fonts, int(page_w), int(page_h), cap)
    rot = float(rng.normal(0, 3)) if rng.random() < 0.85 else float(rng.uniform(-20, 20))
    cut = rng.random() < 0.25
    cx = w / 2 + rng.uniform(-0.15, 0.15) * w + (rng.choice([-1, 1]) * 0.3 * w if cut else 0)
    cy = h / 2 + rng.uniform(-0.1, 0.1) * h
    ink = INK[rng.integers(len(INK))]
    objs = place_sheet(canvas, sheet, cx, cy, 1.0, rot, rng.uniform(0, 0.05), ink)
    half_w, half_h = page_w / 2, page_h / 2
    layout.reserve((cx - half_w, cy - half_h, cx + half_w, cy + half_h))
    return objs
