"""Class ``text``: printed PHI on labels, stickers, paper, screens, and marker writing on skin.

Each printed line is one ``text`` object whose pixels are its ink; the carrier (label, paper,
screen) is painted with ``owner=None`` because a blank label is not PHI. A carrier is composed
flat, then every layer is warped with the same homography (rotation, scale, perspective), so the
ink and its paper stay registered. Barcodes and QR codes are separate ``text`` objects.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import faker as faker_mod
import numpy as np
import qrcode
from barcode import Code128
from PIL import Image, ImageDraw

from figure_ml.data.fonts import load_font, resolve_font
from figure_ml.data.render.canvas import Canvas
from figure_ml.data.render.skin import Layout, SkinRegion, rotate_patch, smooth_noise

#: Used when the caller gives no fonts: all ship with matplotlib.
DEFAULT_FONTS = (
    "DejaVuSans",
    "DejaVuSans-Bold",
    "DejaVuSansMono",
    "DejaVuSerif",
    "DejaVuSans-Oblique",
    "STIXGeneral",
    "cmtt10",
    "DejaVuSansMono-Bold",
)
HERSHEY = (
    cv2.FONT_HERSHEY_SCRIPT_SIMPLEX,
    cv2.FONT_HERSHEY_SCRIPT_COMPLEX,
    cv2.FONT_HERSHEY_SIMPLEX,
    cv2.FONT_HERSHEY_PLAIN,
)


def font_list(paths: tuple[str, ...]) -> tuple[str, ...]:
    """The caller's fonts, else matplotlib's bundled defaults."""
    return paths or tuple(str(resolve_font(n)) for n in DEFAULT_FONTS)


# ---------------------------------------------------------------------------- content
def phi_line(fk: faker_mod.Faker, rng: np.random.Generator, kind: str) -> str:
    """One line of PHI of ``kind`` (name, dob, mrn, phone, address, other) in a varied format."""
    pick = int(rng.integers(4))
    if kind == "name":
        first, last = fk.first_name(), fk.last_name()
        return [
            f"{last.upper()}, {first.upper()}",
            f"{first} {last}",
            f"Name: {first} {last}",
            f"{last}, {first} {fk.random_uppercase_letter()}.",
        ][pick]
    if kind == "dob":
        d = fk.date_of_birth(minimum_age=0, maximum_age=100)
        return [f"DOB: {d:%m/%d/%Y}", f"DOB {d:%Y-%m-%d}", f"D.O.B. {d:%d.%m.%Y}", f"{d:%d %b %Y}"][
            pick
        ]
    if kind == "mrn":
        num = fk.numerify("#" * int(rng.integers(6, 11)))
        return [f"MRN: {num}", f"MRN {num}", f"ID# {num}", f"Acct {num}"][pick]
    if kind == "phone":
        return ["", "Tel: ", "Ph ", "Phone: "][pick] + fk.phone_number()
    if kind == "address":
        return fk.street_address() if pick < 2 else f"{fk.city()} {fk.postcode()}"
    age = int(rng.integers(1, 99))
    return [
        f"Sex: {'MF'[pick % 2]}  Age: {age}y",
        f"Dr. {fk.last_name()}",
        f"Adm: {fk.date_between(start_date='-2y'):%m/%d/%y}",
        f"Rm {rng.integers(100, 999)}B",
    ][pick]


def label_lines(fk: faker_mod.Faker, rng: np.random.Generator, n: int) -> list[tuple[str, str]]:
    """``n`` (kind, text) lines in the order a patient label prints them (name first)."""
    kinds = ["name", "dob", "mrn", "phone", "address", "other", "other"]
    order = ["name"] + [str(k) for k in rng.permutation(kinds[1:])]
    return [(k, phi_line(fk, rng, k)) for k in order[:n]]


# ---------------------------------------------------------------------------- glyph patches
def text_alpha(text: str, font_path: str, cap_px: float) -> np.ndarray:
    """Anti-aliased ink of ``text`` whose capital letters are about ``cap_px`` tall."""
    font = load_font(font_path, max(4, round(cap_px / 0.72)))
    left, top, right, bottom = font.getbbox(text)
    pad = 2
    img = Image.new("L", (max(1, right - left) + 2 * pad, max(1, bottom - top) + 2 * pad), 0)
    ImageDraw.Draw(img).text((pad - left, pad - top), text, font=font, fill=255)
    return np.asarray(img, np.float32) / 255.0


def hershey_alpha(text: str, font: int, cap_px: float, thick: float) -> np.ndarray:
    """Ink of ``text`` in a cv2 Hershey font (the script faces look like marker handwriting)."""
    scale = cap_px / 22.0
    t = max(1, round(thick))
    (tw, th), base = cv2.getTextSize(text, font, scale, t)
    img = np.zeros((th + base + 2 * t + 4, tw + 2 * t + 4), np.uint8)
    cv2.putText(img, text, (t + 2, th + t + 2), font, scale, 255, t, cv2.LINE_AA)
    return img.astype(np.float32) / 255.0


def barcode_alpha(data: str, module_px: float, height: float) -> np.ndarray:
    """Code 128 bars for ``data`` (python-barcode encodes; we rasterise the modules ourselves)."""
    modules = np.frombuffer(Code128(data).build()[0].encode(), np.uint8) == ord("1")
    m = max(1.0, module_px)
    row = cv2.resize(
        modules.astype(np.float32)[None, :],
        (max(1, int(len(modules) * m)), 1),
        interpolation=cv2.INTER_AREA if m < 1.5 else cv2.INTER_NEAREST,
    )
    return np.repeat(row, max(3, int(height)), axis=0)


def qr_alpha(data: str, module_px: float) -> np.ndarray:
    """A QR code for ``data`` with ``module_px`` px per module."""
    q = qrcode.QRCode(border=0, error_correction=qrcode.constants.ERROR_CORRECT_L)
    q.add_data(data)
    q.make(fit=True)
    mat = np.asarray(q.get_matrix(), np.float32)
    size = max(mat.shape[0], int(mat.shape[0] * module_px))
    return cv2.resize(mat, (size, size), interpolation=cv2.INTER_NEAREST)


def log_uniform(rng: np.random.Generator, lo: float, hi: float) -> float:
    return float(np.exp(rng.uniform(np.log(lo), np.log(hi))))


# ---------------------------------------------------------------------------- carriers
class Sheet:
    """A flat carrier being composed: backing, ink alpha and which item owns each ink pixel."""

    def __init__(self, h: int, w: int, color: tuple[float, float, float], radius: int) -> None:
        self.h, self.w = h, w
        self.back = np.zeros((h, w), np.float32)
        cv2.rectangle(self.back, (0, 0), (w - 1, h - 1), 1.0, -1)
        if radius > 1:  # rounded corners of stickers
            for cx, cy in ((0, 0), (w - 1, 0), (0, h - 1), (w - 1, h - 1)):
                self.back[
                    max(cy - radius, 0) : cy + radius + 1, max(cx - radius, 0) : cx + radius + 1
                ] = 0
                cv2.circle(
                    self.back,
                    (min(max(cx, radius), w - 1 - radius), min(max(cy, radius), h - 1 - radius)),
                    radius,
                    1.0,
                    -1,
                )
        self.color = np.array(color, np.float32)
        #: optional per-pixel backing colour (screens: bezel, header bar, waveforms)
        self.rgb: np.ndarray | None = None
        self.ink = np.zeros((h, w), np.float32)
        self.idx = np.zeros((h, w), np.uint8)
        self.items: list[dict] = []

    def put(self, alpha: np.ndarray, x: int, y: int, attrs: dict) -> bool:
        """Place an ink patch at ``(x, y)``; False (nothing placed) when it does not fit."""
        ph, pw = alpha.shape
        if x < 0 or y < 0 or x + pw > self.w or y + ph > self.h or len(self.items) >= 250:
            return False
        self.items.append(attrs)
        region = self.ink[y : y + ph, x : x + pw]
        np.maximum(region, alpha, out=region)
        self.idx[y : y + ph, x : x + pw][alpha > 0.05] = len(self.items)
        return True


def place_sheet(
    canvas: Canvas,
    sheet: Sheet,
    cx: float,
    cy: float,
    scale: float,
    rot: float,
    persp: float,
    ink_rgb: tuple[float, float, float],
    glow: bool = False,
) -> list:
    """Warp ``sheet`` onto the canvas centred at ``(cx, cy)`` and register one object per item.

    Returns the registered objects (items fully outside the frame are not registered).
    """
    rng = canvas.rng
    src = np.float32([[0, 0], [sheet.w, 0], [sheet.w, sheet.h], [0, sheet.h]])
    c, s = np.cos(np.radians(rot)), np.sin(np.radians(rot))
    ctr = src - [sheet.w / 2, sheet.h / 2]
    dst = (ctr @ np.float32([[c, s], [-s, c]])) * scale
    dst += rng.uniform(-persp, persp, (4, 2)).astype(np.float32) * max(sheet.w, sheet.h) * scale
    dst += [cx, cy]
    x0 = max(int(dst[:, 0].min()) - 1, 0)
    y0 = max(int(dst[:, 1].min()) - 1, 0)
    x1 = min(int(dst[:, 0].max()) + 2, canvas.width)
    y1 = min(int(dst[:, 1].max()) + 2, canvas.height)
    if x1 - x0 < 3 or y1 - y0 < 3:
        return []
    m = cv2.getPerspectiveTransform(src, (dst - [x0, y0]).astype(np.float32))
    size = (x1 - x0, y1 - y0)
    back = cv2.warpPerspective(sheet.back, m, size, flags=cv2.INTER_LINEAR)
    ink = cv2.warpPerspective(
        sheet.ink, m, size, flags=cv2.INTER_AREA if scale < 0.8 else cv2.INTER_LINEAR
    )
    idx = cv2.warpPerspective(sheet.idx, m, size, flags=cv2.INTER_NEAREST)
    shade = 1.0 + 0.06 * smooth_noise(rng, size[1], size[0], max(size) / 2)
    canvas.paint(
        x0 + 3,
        y0 + 4,
        cv2.GaussianBlur(back, (0, 0), 3) * 0.35,
        (0.25, 0.25, 0.28),
        mode="multiply",
        occlude=False,
    )
    if sheet.rgb is not None:
        col = cv2.warpPerspective(sheet.rgb, m, size, flags=cv2.INTER_LINEAR)
    else:
        col = sheet.color * shade[..., None]
    canvas.paint(x0, y0, back, col, None)
    if glow:  # screens bleed light around bright glyphs
        canvas.paint(x0, y0, cv2.GaussianBlur(ink, (0, 0), 1.5) * 0.4, ink_rgb, occlude=False)
    objs = []
    ink_col = np.array(ink_rgb, np.float32)
    for i, attrs in enumerate(sheet.items, start=1):
        sel = (idx == i).astype(np.uint8)
        bx, by, bw, bh = cv2.boundingRect(sel)
        if bw == 0 or bh == 0:
            continue
        a = ink[by : by + bh, bx : bx + bw] * sel[by : by + bh, bx : bx + bw]
        if (a >= 0.3).sum() < 4:
            continue
        obj = canvas.new_object("phi", "text", rotation_deg=round(float(rot), 1), **attrs)
        obj.attrs["char_px"] = round(float(attrs.get("char_px", 0)) * scale, 1)
        canvas.paint(x0 + bx, y0 + by, a, ink_col, obj, claim=0.3)
        objs.append(obj)
    return objs


def _screen_rgb(
    rng: np.random.Generator, h: int, w: int, bezel: int, header: int, text_right: int
) -> np.ndarray:
    """A monitor: dark plastic bezel, dark panel, a coloured title bar and ECG-like traces.

    The traces are drawn into the backing (owner None): bright lines on a screen are not PHI.
    """
    rgb = np.empty((h, w, 3), np.float32)
    rgb[:] = np.array((0.13, 0.13, 0.14), np.float32) * rng.uniform(0.6, 1.4)
    panel = np.array([(0.02, 0.03, 0.05), (0.04, 0.05, 0.1), (0.06, 0.06, 0.06)][rng.integers(3)])
    grad = np.linspace(1.3, 0.8, max(h - 2 * bezel, 1), dtype=np.float32)[:, None, None]
    rgb[bezel : h - bezel, bezel : w - bezel] = panel * grad
    if header:
        bar = np.array([(0.1, 0.25, 0.5), (0.2, 0.2, 0.25), (0.05, 0.35, 0.3)][rng.integers(3)])
        rgb[bezel : bezel + header, bezel : w - bezel] = bar
    x0, x1 = text_right + 4, w - bezel - 4
    if x1 - x0 > 20:
        trace = np.zeros((h, w), np.uint8)
        for k in range(int(rng.integers(1, 4))):
            yc = bezel + header + (k + 0.5) * (h - 2 * bezel - header) / 3
            xs = np.arange(x0, x1, dtype=np.float32)
            period = rng.uniform(25, 60)
            beat = np.exp(-(((xs % period) - period * 0.3) ** 2) / 4.0) * 0.25 * (h / 4)
            ys = yc - beat + np.sin(xs / rng.uniform(5, 15)) * 2
            pts = np.stack([xs, ys], 1).astype(np.int32)
            cv2.polylines(trace, [pts], False, 255, 1, cv2.LINE_AA)
        col = np.array([(0.3, 1.0, 0.4), (1.0, 0.9, 0.3), (0.4, 0.9, 1.0)][rng.integers(3)])
        t = trace.astype(np.float32)[..., None] / 255.0
        rgb = rgb * (1 - t) + col.astype(np.float32) * t
    return rgb


def _sheet_with_lines(
    fk: faker_mod.Faker,
    rng: np.random.Generator,
    fonts: tuple[str, ...],
    carrier: str,
    n_lines: int,
    cap: float,
    color,
    extra_code: str | None,
) -> Sheet:
    """Compose a carrier holding ``n_lines`` PHI lines (and optionally a barcode or QR code)."""
    font = fonts[rng.integers(len(fonts))]
    lines = label_lines(fk, rng, n_lines)
    patches = [
        (k, t, text_alpha(t, font, cap * (1.25 if j == 0 and rng.random() < 0.5 else 1.0)))
        for j, (k, t) in enumerate(lines)
    ]
    gap = int(cap * rng.uniform(0.5, 1.0))
    margin = int(cap * rng.uniform(0.6, 1.5)) + 2
    bezel = int(max(3, cap * rng.uniform(0.6, 1.5))) if carrier == "screen" else 0
    header = int(cap * 1.6) if carrier == "screen" and rng.random() < 0.6 else 0
    margin += bezel
    code = None
    if extra_code == "barcode":
        code = barcode_alpha(
            fk.numerify("#" * int(rng.integers(6, 12))), max(1.0, cap / 7), cap * 2.2
        )
    elif extra_code == "qr":
        code = qr_alpha(f"{lines[0][1]}|{fk.numerify('########')}", max(1.0, cap / 5))
    width = max(p.shape[1] for _, _, p in patches) + 2 * margin
    height = sum(p.shape[0] for _, _, p in patches) + gap * (len(patches) - 1) + 2 * margin
    height += header
    if carrier == "screen":  # monitors are wide and carry a waveform area beside the text
        width = int(width * rng.uniform(1.3, 1.9))
    if code is not None:
        width = max(width, code.shape[1] + 2 * margin)
        height += code.shape[0] + gap
    if carrier == "paper":  # documents are wider than their PHI block and hold it off-centre
        width, height = int(width * rng.uniform(1.2, 2.0)), int(height * rng.uniform(1.1, 1.8))
    sheet = Sheet(height, width, color, int(cap * 0.6) if carrier == "sticker" else 0)
    if carrier == "screen":
        sheet.rgb = _screen_rgb(
            rng, height, width, bezel, header, margin + max(p.shape[1] for _, _, p in patches)
        )
    y = margin + header
    x = margin
    for kind, text, p in patches:
        sheet.put(
            p,
            x,
            y,
            {
                "carrier": carrier,
                "content": kind,
                "font": Path(font).stem,
                "char_px": round(cap, 1),
                "chars": len(text),
            },
        )
        y += p.shape[0] + gap
    if code is not None:
        sheet.put(
            code,
            x,
            y,
            {
                "carrier": carrier,
                "content": extra_code,
                "font": "",
                "char_px": round(cap, 1),
                "chars": 0,
            },
        )
    return sheet


def add_printed(
    canvas: Canvas, fk: faker_mod.Faker, fonts: tuple[str, ...], layout: Layout, n_objects: int
) -> list:
    """Paint carriers until about ``n_objects`` text objects exist; returns them."""
    rng = canvas.rng
    w, h = canvas.width, canvas.height
    made: list = []
    tries = 0
    while len(made) < n_objects:
        left = n_objects - len(made)
        carrier = str(
            rng.choice(
                ["label", "sticker", "paper", "screen", "code"], p=[0.3, 0.2, 0.2, 0.15, 0.15]
            )
        )
        cap = log_uniform(rng, 6, 80) if carrier != "paper" else log_uniform(rng, 6, 30)
        rot = float(rng.normal(0, 25)) if rng.random() < 0.8 else float(rng.uniform(-180, 180))
        persp = rng.uniform(0, 0.12)
        if carrier == "code":
            sheet = Sheet(1, 1, (0.97, 0.97, 0.95), 0)
            if rng.random() < 0.5:
                code = barcode_alpha(
                    fk.numerify("#" * int(rng.integers(6, 14))),
                    log_uniform(rng, 1, 4),
                    log_uniform(rng, 12, 90),
                )
                kind = "barcode"
            else:
                code, kind = (
                    qr_alpha(fk.name() + fk.numerify(" ########"), log_uniform(rng, 1, 6)),
                    "qr",
                )
            pad = int(rng.uniform(4, 16))
            sheet = Sheet(code.shape[0] + 2 * pad, code.shape[1] + 2 * pad, (0.97, 0.97, 0.95), 0)
            sheet.put(
                code,
                pad,
                pad,
                {"carrier": "label", "content": kind, "font": "", "char_px": 0.0, "chars": 0},
            )
            ink = (0.05, 0.05, 0.06)
        else:
            n = int(min(max(1, left + int(rng.integers(0, 2))), 7 if carrier != "screen" else 5))
            code_kind = None
            if carrier in ("label", "sticker", "paper") and rng.random() < 0.35:
                code_kind = "barcode" if rng.random() < 0.7 else "qr"
            if carrier == "screen":
                color, ink = (
                    (0.04, 0.05, 0.07),
                    [(0.3, 1.0, 0.4), (0.9, 0.95, 1.0), (0.4, 0.9, 1.0), (1.0, 0.9, 0.3)][
                        rng.integers(4)
                    ],
                )
            else:
                color = [
                    (0.97, 0.97, 0.95),
                    (0.98, 0.96, 0.85),
                    (0.93, 0.95, 0.98),
                    (0.99, 0.9, 0.6),
                ][rng.integers(4)]
                ink = [(0.05, 0.05, 0.06), (0.1, 0.12, 0.3)][rng.integers(2)]
            sheet = _sheet_with_lines(fk, rng, fonts, carrier, n, cap, color, code_kind)
        # keep the whole carrier in a sane share of the frame, then choose where it goes
        scale = min(1.0, 0.9 * min(w, h) / max(sheet.w, sheet.h))
        cx, cy = rng.uniform(0, w), rng.uniform(0, h)
        box = None
        for attempt in range(20):
            sw, sh = sheet.w * scale, sheet.h * scale
            cand = (cx - sw / 2, cy - sh / 2, cx + sw / 2, cy + sh / 2)
            if layout.overlap(cand) < 0.1:
                box = cand
                break
            if attempt % 5 == 4:  # no free spot this big: a smaller (farther) carrier
                scale *= 0.7
            cx, cy = rng.uniform(0.05, 0.95) * w, rng.uniform(0.05, 0.95) * h
        tries += 1
        if box is None:
            if tries > 6:
                break
            continue  # never pile a label onto a face, a band or another label
        objs = place_sheet(canvas, sheet, cx, cy, scale, rot, persp, ink, glow=carrier == "screen")
        layout.reserve(box)
        made.extend(objs)
        if tries > 12:
            break  # guards against a loop when every try lands outside the frame
    return made


def skin_marking(canvas: Canvas, fk: faker_mod.Faker, region: SkinRegion, layout: Layout) -> list:
    """Marker writing on skin (a name, DOB or MRN written before surgery), in a script hand."""
    rng = canvas.rng
    kind = str(rng.choice(["name", "dob", "mrn"]))
    text = phi_line(fk, rng, kind) if rng.random() < 0.6 else fk.last_name()
    cap = log_uniform(rng, 8, 70)
    font = HERSHEY[rng.integers(len(HERSHEY))]
    a = hershey_alpha(text, font, cap, max(1, cap / rng.uniform(6, 14)))
    a = cv2.GaussianBlur(a, (0, 0), 0.5 + cap / 60)
    rot = float(rng.uniform(-40, 40))
    a = rotate_patch(a, rot)
    p = region.sample_point(rng, 0.0)
    if p is None:
        return []
    x0, y0 = int(p[0] - a.shape[1] / 2), int(p[1] - a.shape[0] / 2)
    a *= region.alpha_at(x0, y0, *a.shape)
    if (a > 0.3).sum() < 6:
        return []
    col = [(0.35, 0.15, 0.55), (0.1, 0.15, 0.45), (0.08, 0.08, 0.08), (0.1, 0.35, 0.2)][
        rng.integers(4)
    ]
    obj = canvas.new_object(
        "phi",
        "text",
        carrier="skin",
        content=kind,
        font="hershey",
        char_px=round(cap, 1),
        rotation_deg=round(rot, 1),
        chars=len(text),
    )
    canvas.paint(x0, y0, a * rng.uniform(0.7, 0.95), col, obj, mode="multiply", claim=0.25)
    layout.reserve((x0, y0, x0 + a.shape[1], y0 + a.shape[0]))
    return [obj]
