"""The canonical dataset on disk: parquet shards of :data:`schema.FEATURES` plus a JSON info file.

Layout of a dataset folder ``D``::

    D/dataset_info.json   format, schema version, classes, splits (shards, counts), digest,
                          synthetic flag, sources with licences, generating config, git commit
    D/data/<split>-NNNNN.parquet
    D/DIGEST              one line: the content hash
    D/DATASET_CARD.md     (written by the producer)

The **digest** is a SHA-256 over the content, not the files: per split (in
:data:`schema.SPLITS` order) the ordered row hashes, where a row hash covers the image bytes and
every annotation. Two datasets with equal digests hold the same samples in the same order.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from datasets import Dataset
from datasets.table import InMemoryTable

from figure_ml import atomic
from figure_ml.classes import CLASS_NAMES
from figure_ml.data.schema import FEATURES, SCHEMA_VERSION, SPLITS, validate_sample
from figure_ml.errors import DatasetError

FORMAT = "figure_ml.canonical"
INFO_FILE = "dataset_info.json"


def _f32(v: float) -> float:
    return float(np.float32(v))


def normalise_sample(s: dict[str, Any]) -> dict[str, Any]:
    """The sample as it will read back from parquet (float32 boxes, plain types)."""
    out = dict(s)
    out["width"], out["height"] = int(s["width"]), int(s["height"])
    out["objects"] = [
        {
            "bbox_xyxy": [_f32(v) for v in o["bbox_xyxy"]],
            "category": int(o["category"]),
            "attrs": o.get("attrs") or "{}",
        }
        for o in s["objects"]
    ]
    out["findings"] = [
        {"bbox_xyxy": [_f32(v) for v in f["bbox_xyxy"]], "kind": str(f["kind"])}
        for f in s["findings"]
    ]
    meta = dict(s["meta"])
    meta.setdefault("original_name", "")
    meta.setdefault("params", "{}")
    meta["skin_tone"] = int(meta.get("skin_tone", 0))
    meta["synthetic"] = bool(meta.get("synthetic", False))
    out["meta"] = meta
    return out


def row_hash(s: dict[str, Any]) -> bytes:
    """SHA-256 of one normalised sample (image bytes and every annotation)."""
    h = hashlib.sha256(hashlib.sha256(s["image"]).digest())
    rest = {k: v for k, v in s.items() if k != "image"}
    h.update(json.dumps(rest, sort_keys=True, separators=(",", ":")).encode())
    return h.digest()


def combine_digest(split_hashes: dict[str, Any], counts: dict[str, int]) -> str:
    """Dataset digest from per-split running hashes (``hashlib`` objects) and row counts."""
    h = hashlib.sha256(f"{FORMAT}/{SCHEMA_VERSION}".encode())
    for split in SPLITS:
        if counts.get(split):
            h.update(f"{split}:{counts[split]}:".encode())
            h.update(split_hashes[split].digest())
    return h.hexdigest()


class CanonicalWriter:
    """Streams samples into shards under ``root/data`` and finishes with info and DIGEST.

    Rows of one split must be added in their final order; splits may interleave.
    """

    def __init__(self, root: Path, *, shard_size: int = 500) -> None:
        self.root = Path(root)
        self.shard_size = shard_size
        (self.root / "data").mkdir(parents=True, exist_ok=True)
        self._buffers: dict[str, list[dict[str, Any]]] = {s: [] for s in SPLITS}
        self._shards: dict[str, list[str]] = {s: [] for s in SPLITS}
        self._hash = {s: hashlib.sha256() for s in SPLITS}
        self.counts: dict[str, int] = dict.fromkeys(SPLITS, 0)
        self.class_counts: dict[str, dict[str, int]] = {s: {} for s in SPLITS}

    def add(self, sample: dict[str, Any]) -> None:
        s = normalise_sample(sample)
        validate_sample(s)
        split = s["meta"]["split"]
        self._hash[split].update(row_hash(s))
        self.counts[split] += 1
        self._buffers[split].append(s)
        if len(self._buffers[split]) >= self.shard_size:
            self._flush(split)

    def _flush(self, split: str) -> None:
        rows = self._buffers[split]
        if not rows:
            return
        name = f"data/{split}-{len(self._shards[split]):05d}.parquet"
        table = pa.Table.from_pylist(rows, schema=FEATURES.arrow_schema)
        # No statistics: they would only repeat per-row data; zstd keeps the shards small.
        pq.write_table(table, self.root / name, compression="zstd", write_statistics=False)
        self._shards[split].append(name)
        self._buffers[split] = []

    def finish(self, extra_info: dict[str, Any]) -> dict[str, Any]:
        """Flush, then write ``dataset_info.json`` and ``DIGEST``; returns the info dict."""
        for split in SPLITS:
            self._flush(split)
        digest = combine_digest(self._hash, self.counts)
        info = {
            "format": FORMAT,
            "schema_version": SCHEMA_VERSION,
            "classes": list(CLASS_NAMES),
            "digest": digest,
            "splits": {
                s: {"num_samples": self.counts[s], "shards": self._shards[s]}
                for s in SPLITS
                if self.counts[s]
            },
            **extra_info,
        }
        atomic.write_json(self.root / INFO_FILE, info, sort_keys=True)
        atomic.write_text(self.root / "DIGEST", digest + "\n")
        return info


@dataclass
class CanonicalDataset:
    """A canonical dataset folder opened for reading."""

    path: Path
    info: dict[str, Any] = field(repr=False)

    @property
    def digest(self) -> str:
        return str(self.info["digest"])

    @property
    def is_synthetic(self) -> bool:
        return bool(self.info.get("synthetic", False))

    @property
    def licences(self) -> dict[str, str]:
        """``{source: licence}`` of every source in the dataset."""
        return {k: v["licence"] for k, v in self.info.get("sources", {}).items()}

    @property
    def splits(self) -> tuple[str, ...]:
        return tuple(s for s in SPLITS if s in self.info["splits"])

    def num_samples(self, split: str) -> int:
        return int(self.info["splits"].get(split, {}).get("num_samples", 0))

    def _table(self, split: str) -> pa.Table:
        if split not in self.info["splits"]:
            raise DatasetError(f"{self.path}: no split {split!r} (has {list(self.splits)})")
        files = [self.path / p for p in self.info["splits"][split]["shards"]]
        for f in files:
            if not f.is_file():
                raise DatasetError(f"{self.path}: shard {f.name} of split {split!r} is missing")
        try:
            return pa.concat_tables(pq.read_table(f, schema=FEATURES.arrow_schema) for f in files)
        except (pa.ArrowException, OSError) as exc:
            raise DatasetError(f"{self.path}: cannot read split {split!r}: {exc}") from exc

    def split(self, name: str) -> Dataset:
        """Split ``name`` as a Hugging Face ``datasets.Dataset`` (in memory, no cache files)."""
        return Dataset(InMemoryTable(self._table(name)), split=name)

    def iter_samples(self, split: str) -> Iterator[dict[str, Any]]:
        """Rows of ``split`` as plain dicts, in order."""
        yield from self._table(split).to_pylist()

    def annotations(self, split: str) -> list[dict[str, Any]]:
        """Rows of ``split`` without the image bytes (cheap: the image column is not read)."""
        cols = [c for c in FEATURES if c != "image"]
        if split not in self.info["splits"]:
            raise DatasetError(f"{self.path}: no split {split!r} (has {list(self.splits)})")
        files = [self.path / p for p in self.info["splits"][split]["shards"]]
        return pa.concat_tables(pq.read_table(f, columns=cols) for f in files).to_pylist()

    def verify(self) -> str:
        """Recompute the digest from the shards; :class:`DatasetError` if it differs."""
        hashes = {s: hashlib.sha256() for s in SPLITS}
        counts = dict.fromkeys(SPLITS, 0)
        for split in self.splits:
            for row in self.iter_samples(split):
                hashes[split].update(row_hash(row))
                counts[split] += 1
        digest = combine_digest(hashes, counts)
        if digest != self.digest:
            raise DatasetError(f"{self.path}: content digest {digest} != recorded {self.digest}")
        return digest


def is_canonical(path: str | Path) -> bool:
    """True when ``path`` holds a canonical dataset's info file."""
    p = Path(path) / INFO_FILE
    if not p.is_file():
        return False
    try:
        return json.loads(p.read_text()).get("format") == FORMAT
    except (OSError, ValueError):
        return False


def open_dataset(path: str | Path) -> CanonicalDataset:
    """Open the canonical dataset at ``path``; :class:`DatasetError` naming the problem."""
    path = Path(path)
    info_path = path / INFO_FILE
    if not path.exists():
        raise DatasetError(f"dataset {path} does not exist")
    if not info_path.is_file():
        raise DatasetError(f"{path} is not a canonical dataset (no {INFO_FILE})")
    try:
        info = json.loads(info_path.read_text())
    except ValueError as exc:
        raise DatasetError(f"{info_path}: not valid JSON ({exc})") from exc
    if info.get("format") != FORMAT:
        raise DatasetError(f"{info_path}: format {info.get('format')!r}, expected {FORMAT!r}")
    if info.get("schema_version") != SCHEMA_VERSION:
        raise DatasetError(
            f"{info_path}: schema version {info.get('schema_version')} != {SCHEMA_VERSION}"
        )
    if info.get("classes") != list(CLASS_NAMES):
        raise DatasetError(
            f"{info_path}: classes {info.get('classes')} differ from figure_ml.classes "
            f"{list(CLASS_NAMES)}"
        )
    return CanonicalDataset(path, info)
