"""The dataset card: what a canonical dataset holds, written as ``DATASET_CARD.md``."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import numpy as np

from figure_ml import atomic
from figure_ml.classes import CLASS_NAMES
from figure_ml.data.canonical import CanonicalDataset
from figure_ml.sizes import DEFAULT_INPUT_SIZE, SIZE_BUCKETS, size_buckets

TONES = ("unknown", "I", "II", "III", "IV", "V", "VI")

#: DESIGN §4: how each class is boxed, the same for synthetic and converted public data
BOX_CONVENTIONS = {
    "face": "ear to ear and hairline (or forehead) to chin, as WIDER FACE draws it (to the "
    "tragus: the outer ear is not face); hair, the back of the head, a cap and a mask's edge "
    "below the chin are not face; profile views and occluded faces are boxed by what is visible",
    "tattoo": "the inked area",
    "wristband": "the band with its print",
    "text": "one axis-aligned box per line or word group of legible text, from the top of its "
    "capitals to its font's descender line, whatever letters it holds (a barcode or QR code "
    "is one box, its bars)",
}


def _synthetic_boxes() -> str:
    """How the generator boxes (``synth/sample.py``), said where the data holds its rows."""
    # imported here: the synth package imports this module (its generator writes the card)
    from figure_ml.data.synth.sample import MIN_FRAMED_SHARE

    return (
        "Synthetic boxes are the tight box of an object's visible pixels after augmentation; an "
        f"object of PHI that the augmentation's framing cuts to less than {MIN_FRAMED_SHARE:.0%} "
        "of its rendered pixels is not labelled (a sliver identifies no one)."
    )


def hard_negatives(row: dict[str, Any]) -> list[str]:
    """Hard negatives the generator recorded for a row (none for other sources)."""
    try:
        params = json.loads(row["meta"].get("params") or "{}")
    except (TypeError, ValueError):
        return []
    got = params.get("hard_negatives", []) if isinstance(params, dict) else []
    return [str(k) for k in got]


def dataset_stats(ds: CanonicalDataset) -> dict[str, Any]:
    """Counts per split: images, PHI boxes per class, size buckets, skin tones, findings."""
    stats: dict[str, Any] = {}
    for split in ds.splits:
        per_class: Counter[str] = Counter()
        per_size: Counter[str] = Counter()
        per_tone: Counter[str] = Counter()
        per_finding: Counter[str] = Counter()
        per_source: Counter[str] = Counter()
        per_negative: Counter[str] = Counter()
        images_without_phi = 0
        rows = ds.annotations(split)
        for r in rows:
            per_tone[TONES[r["meta"]["skin_tone"]]] += 1
            per_source[r["meta"]["source"]] += 1
            per_finding.update(f["kind"] for f in r["findings"])
            per_negative.update(set(hard_negatives(r)))
            if not r["objects"]:
                images_without_phi += 1
                continue
            per_class.update(CLASS_NAMES[o["category"]] for o in r["objects"])
            boxes = np.array([o["bbox_xyxy"] for o in r["objects"]])
            per_size.update(size_buckets(boxes, r["width"], r["height"]))
        stats[split] = {
            "images": len(rows),
            "images_without_phi": images_without_phi,
            "share_without_phi": round(images_without_phi / len(rows), 4) if rows else 0.0,
            "hard_negatives": dict(sorted(per_negative.items())),
            "classes": {c: per_class[c] for c in CLASS_NAMES},
            "sizes": {b: per_size[b] for b in SIZE_BUCKETS},
            "skin_tones": {t: per_tone[t] for t in TONES if per_tone[t]},
            "findings": dict(sorted(per_finding.items())),
            "sources": dict(sorted(per_source.items())),
        }
    return stats


def _table(header: list[str], rows: list[list[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(v) for v in r) + " |" for r in rows]
    return "\n".join(lines)


def render_card(ds: CanonicalDataset, stats: dict[str, Any]) -> str:
    """Markdown of the card."""
    splits = list(stats)
    info = ds.info
    out = [
        f"# Dataset card — {' + '.join(info['sources'])} ({ds.digest[:12]})",
        "",
        f"- digest: `{ds.digest}`",
        f"- synthetic: {ds.is_synthetic}",
        f"- schema version: {info['schema_version']}",
        f"- git commit: `{info.get('git_commit', 'unknown')}`",
        f"- classes (PHI): {', '.join(CLASS_NAMES)}",
        "",
        "## Sources and licences",
        "",
        _table(
            ["source", "licence", "images"],
            [[k, v["licence"], v.get("num_samples", "")] for k, v in info["sources"].items()],
        ),
        "",
        "## Images per split",
        "",
        _table(
            ["split", "images", "images without PHI", "share without PHI"],
            [
                [
                    s,
                    stats[s]["images"],
                    stats[s]["images_without_phi"],
                    f"{100 * stats[s]['share_without_phi']:.1f}%",
                ]
                for s in splits
            ],
        ),
        "",
        "Images without PHI teach restraint; they hold hard negatives (below) instead.",
        "",
        "## Box conventions (DESIGN §4)",
        "",
        _table(["class", "box"], [[c, BOX_CONVENTIONS[c]] for c in CLASS_NAMES]),
        "",
        *([_synthetic_boxes(), ""] if "synth" in info["sources"] else []),
        "## Hard negatives (images holding each; never PHI)",
        "",
        "skin: bare skin (texture); finding: wounds, lesions, rashes, sutures, bruises; ruler and "
        "scale_bar: measuring scales; marker: marker arrows, circles, dots or sticker dots; "
        "text_like: printed patterns without glyphs; poster_faces: drawn faces (pain scales, "
        "smileys); mannequin: headless torsos; head_back: a person seen from behind (hair and "
        "nape, no face); jewellery: bracelets and watches; sleeve: a sleeve "
        "over a forearm; glove: gloved hands; room_<kind>: the room at the frame's edges (tiles, "
        "wood, printed textile, curtain, furniture, window, equipment with a blank screen).",
        "",
        _table(
            ["hard negative", *splits],
            [
                [k] + [stats[s]["hard_negatives"].get(k, 0) for s in splits]
                for k in sorted({k for s in splits for k in stats[s]["hard_negatives"]})
            ],
        ),
        "",
        "## PHI boxes per class",
        "",
        _table(
            ["class", *splits],
            [[c] + [stats[s]["classes"][c] for s in splits] for c in CLASS_NAMES],
        ),
        "",
        f"## PHI boxes per size bucket (sqrt(area) with the long side scaled to "
        f"{DEFAULT_INPUT_SIZE} px: tiny < 16, small < 32, medium < 96, large)",
        "",
        _table(
            ["size", *splits], [[b] + [stats[s]["sizes"][b] for s in splits] for b in SIZE_BUCKETS]
        ),
        "",
        "## Images per skin tone (Fitzpatrick type of the main skin region)",
        "",
        _table(
            ["skin tone", *splits],
            [[t] + [stats[s]["skin_tones"].get(t, 0) for s in splits] for t in TONES[1:]]
            + [["unknown"] + [stats[s]["skin_tones"].get("unknown", 0) for s in splits]],
        ),
        "",
        "## Clinical findings (kept visible; never detection targets)",
        "",
        _table(
            ["finding", *splits],
            [
                [k] + [stats[s]["findings"].get(k, 0) for s in splits]
                for k in sorted({k for s in splits for k in stats[s]["findings"]})
            ],
        ),
        "",
    ]
    gen = info.get("generator")
    if gen:
        out += ["## Generator", "", f"`{gen['name']}` with:", "", "```"]
        out += [f"{k}: {v}" for k, v in sorted(gen["config"].items())]
        out += ["```", ""]
    return "\n".join(out)


def write_card(ds: CanonicalDataset) -> dict[str, Any]:
    """Write ``DATASET_CARD.md`` into the dataset folder; returns the stats."""
    stats = dataset_stats(ds)
    atomic.write_text(ds.path / "DATASET_CARD.md", render_card(ds, stats))
    return stats
