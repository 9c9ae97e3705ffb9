"""Dataset mixes: canonical datasets (synthetic, converted) sampled by weight into one dataset.

``python -m figure_ml.data.mix mix=NAME [seed=S] [commercial_safe=true] [train_size=N]
out_dir=D`` (mixes are ``configs/mix/<NAME>.yaml``; see :class:`figure_ml.config.MixConfig`).

A mix **materialises as a canonical dataset**, so training (``data=canonical data.path=D``)
and evaluation (``data.path=D``) take it like any other; every row keeps its ``meta.source``,
which is what the evaluator slices by.

- **train**: each input's *train* split is sampled so that the shares of the mix follow the
  weights exactly (up to rounding). ``train_size: null`` takes as many rows as the weights
  allow without repeating any; a larger ``train_size`` repeats rows (whole passes, each in a
  new order) and says so. The order is a seeded shuffle of the concatenation (Hugging Face
  ``datasets``), so the same seed gives the same dataset, byte for byte.
- **val / test**: every input with ``eval: true`` contributes all of its own val and test
  rows, never a train row; a source's val/test is never sampled into train. A row whose id
  or image bytes appear both in train and in val/test stops the build (a leak).
- ``commercial_safe=true`` drops every source whose licence is non-commercial,
  no-derivatives or unknown (:mod:`figure_ml.data.licences`); the card lists what was used
  under which licence and what was dropped, and why.
"""

from __future__ import annotations

import hashlib
import logging
import shutil
import zlib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from datasets import Dataset, concatenate_datasets
from tqdm import tqdm

from figure_ml import atomic
from figure_ml.config import MixConfig
from figure_ml.data.canonical import CanonicalDataset, CanonicalWriter, is_canonical, open_dataset
from figure_ml.data.card import write_card
from figure_ml.data.licences import terms_of
from figure_ml.data.schema import FEATURES
from figure_ml.errors import ConfigError, DatasetError
from figure_ml.provenance import git_commit

log = logging.getLogger(__name__)

EVAL_SPLITS = ("val", "test")


@dataclass
class Input:
    """One mix entry, opened, with the rows its licence lets the mix use."""

    key: str
    ds: CanonicalDataset
    weight: float
    eval: bool
    #: split -> indices of usable rows (after the commercial-safe filter)
    rows: dict[str, np.ndarray] = field(default_factory=dict)
    #: source -> why it was dropped
    dropped: dict[str, str] = field(default_factory=dict)


def _sources_of_rows(ds: CanonicalDataset, split: str) -> np.ndarray:
    files = [ds.path / p for p in ds.info["splits"][split]["shards"]]
    table = pa.concat_tables(pq.read_table(f, columns=["meta"]) for f in files)
    return np.asarray(table.column("meta").combine_chunks().field("source").to_pylist(), object)


def _unsafe(source_info: dict[str, Any] | None) -> str | None:
    """Why a source may not enter a commercial-safe mix; None when it may."""
    if source_info is None:
        return "not listed in its dataset's sources: licence unknown"
    terms = terms_of(source_info)
    if terms.commercial_safe:
        return None
    if not terms.known:
        return f"{terms.name}: unknown licence"
    flags = (("non-commercial", terms.non_commercial), ("no derivatives", terms.no_derivatives))
    return f"{terms.name}: " + ", ".join(w for w, f in flags if f)


def open_inputs(cfg: MixConfig) -> list[Input]:
    """Open every input and apply the licence filter; duplicates are a :class:`ConfigError`."""
    inputs, digests = [], {}
    for key, src in cfg.sources.items():
        ds = open_dataset(src.path)
        if ds.digest in digests:
            raise ConfigError(
                f"sources.{key} and sources.{digests[ds.digest]} are the same "
                f"dataset (digest {ds.digest[:12]})"
            )
        digests[ds.digest] = key
        inp = Input(key, ds, src.weight, src.eval)
        listed = ds.info.get("sources", {})
        for split in ds.splits:
            if (split == "train" and not src.weight) or (split in EVAL_SPLITS and not src.eval):
                continue
            keep = np.arange(ds.num_samples(split))
            if cfg.commercial_safe:
                row_sources = _sources_of_rows(ds, split)
                for name in set(row_sources) - set(inp.dropped):
                    why = _unsafe(listed.get(name))
                    if why:
                        inp.dropped[name] = why
                keep = keep[~np.isin(row_sources, list(inp.dropped))]
            inp.rows[split] = keep
        for name, why in inp.dropped.items():
            log.warning("commercial_safe: dropping source %s of %s (%s)", name, key, why)
        inputs.append(inp)
    return inputs


def train_counts(inputs: list[Input], train_size: int | None) -> dict[str, int]:
    """Rows each input gives to train: shares equal the normalised weights (largest
    remainder rounding). ``train_size: null``: the largest size that repeats no row."""
    weighted = []
    for i in inputs:
        if i.weight <= 0:
            continue
        if len(i.rows.get("train", [])):
            weighted.append(i)
        elif not i.dropped:  # (all rows dropped by commercial_safe is not an error)
            raise DatasetError(
                f"sources.{i.key}: weight {i.weight} but no train rows "
                "(set weight: 0 for an evaluation-only source)"
            )
    if not weighted:
        return {}
    total_w = sum(i.weight for i in weighted)
    shares = {i.key: i.weight / total_w for i in weighted}
    if train_size is None:
        train_size = int(min(len(i.rows["train"]) / shares[i.key] for i in weighted) + 1e-9)
    exact = {k: train_size * s for k, s in shares.items()}
    counts = {k: int(v) for k, v in exact.items()}
    for k in sorted(exact, key=lambda k: (counts[k] - exact[k], k))[
        : train_size - sum(counts.values())
    ]:
        counts[k] += 1
    return counts


def _pick(n_avail: int, n: int, seed: int, key: str) -> tuple[np.ndarray, np.ndarray]:
    """(row positions, repeat number) of ``n`` draws from ``n_avail`` rows: whole shuffled
    passes, then a shuffled remainder, so no row repeats before every row was used."""
    rng = np.random.default_rng([seed, zlib.crc32(key.encode())])
    picks, reps = [], []
    for r in range((n + n_avail - 1) // n_avail):
        take = min(n_avail, n - r * n_avail)
        picks.append(rng.permutation(n_avail)[:take])
        reps.append(np.full(take, r))
    return np.concatenate(picks), np.concatenate(reps)


def plan(inputs: list[Input], cfg: MixConfig) -> dict[str, Dataset]:
    """split -> index dataset (``input``, ``row``, ``repeat``) in the final row order."""
    out: dict[str, Dataset] = {}
    parts = []
    for key, n in train_counts(inputs, cfg.train_size).items():
        inp = next(i for i in inputs if i.key == key)
        pos, rep = _pick(len(inp.rows["train"]), n, cfg.seed, key)
        if rep.max(initial=0) > 0:
            log.warning(
                "%s: %d train rows drawn from %d available: rows repeat",
                key,
                n,
                len(inp.rows["train"]),
            )
        parts.append(
            Dataset.from_dict(
                {"input": [key] * n, "row": inp.rows["train"][pos].tolist(), "repeat": rep.tolist()}
            )
        )
    if parts:
        out["train"] = concatenate_datasets(parts).shuffle(seed=cfg.seed, keep_in_memory=True)
    for split in EVAL_SPLITS:
        parts = [
            Dataset.from_dict(
                {
                    "input": [i.key] * len(i.rows[split]),
                    "row": i.rows[split].tolist(),
                    "repeat": [0] * len(i.rows[split]),
                }
            )
            for i in inputs
            if len(i.rows.get(split, []))
        ]
        if parts:
            out[split] = concatenate_datasets(parts)
    return out


class _Rows:
    """Random access to the rows of one split of one input without holding its images in
    memory: the shards are copied once into an Arrow file that is memory-mapped."""

    def __init__(self, ds: CanonicalDataset, split: str, cache: Path) -> None:
        path = cache / f"{ds.digest[:16]}-{split}.arrow"
        if not path.exists():
            with (
                pa.OSFile(str(path), "wb") as sink,
                pa.ipc.new_file(sink, FEATURES.arrow_schema) as w,
            ):
                for shard in ds.info["splits"][split]["shards"]:
                    w.write_table(pq.read_table(ds.path / shard, schema=FEATURES.arrow_schema))
        self.table = pa.ipc.open_file(pa.memory_map(str(path))).read_all()

    def __getitem__(self, i: int) -> dict[str, Any]:
        return self.table.slice(i, 1).to_pylist()[0]


def identity(cfg: MixConfig, inputs: list[Input]) -> dict[str, Any]:
    """What decides the content: the config (minus where it is written) and input digests."""
    config = asdict(cfg)
    for key in ("out_dir", "overwrite", "shard_size"):
        config.pop(key)
    for i in inputs:
        config["sources"][i.key]["digest"] = i.ds.digest
        config["sources"][i.key].pop("path")  # the digest says what it was; paths are local
    return config


def _existing(out: Path, ident: dict[str, Any], overwrite: bool) -> CanonicalDataset | None:
    if not out.exists():
        return None
    if is_canonical(out):
        ds = open_dataset(out)
        if ds.info.get("generator", {}).get("config") == ident and not overwrite:
            return ds
        if not overwrite:
            raise ConfigError(
                f"out_dir {out} already holds another dataset; pass "
                "overwrite=true or choose another out_dir"
            )
        return None
    if out.is_dir() and not any(out.iterdir()):
        out.rmdir()
        return None
    raise ConfigError(f"out_dir {out} exists and holds no dataset; refusing to touch it")


def build_mix(cfg: MixConfig) -> CanonicalDataset:
    """Write the mix ``cfg`` to ``cfg.out_dir`` (atomically) and open it; an identical mix
    already there (same config, same input digests) is reused."""
    cfg.validate()
    inputs = open_inputs(cfg)
    ident = identity(cfg, inputs)
    out = Path(cfg.out_dir)
    existing = _existing(out, ident, cfg.overwrite)
    if existing is not None:
        log.info("%s already holds this mix (digest %s); reusing it", out, existing.digest[:12])
        return existing
    order = plan(inputs, cfg)
    if not order:
        raise DatasetError("the mix is empty: no source gives train, val or test rows")
    by_key = {i.key: i for i in inputs}
    with atomic.staging_dir(out, overwrite=cfg.overwrite, private=True) as tmp:
        cache = tmp / ".rows"
        cache.mkdir()
        writer = CanonicalWriter(tmp, shard_size=cfg.shard_size)
        eval_ids, eval_images, ids = set(), set(), set()
        used: dict[str, dict[str, int]] = {}
        # val/test first: train rows are then checked against them
        for split in (s for s in (*EVAL_SPLITS, "train") if s in order):
            rows = {k: _Rows(by_key[k].ds, split, cache) for k in set(order[split]["input"])}
            for item in tqdm(order[split], desc=f"mix {split}", unit="img"):
                row = rows[item["input"]][item["row"]]
                image_hash = hashlib.sha256(row["image"]).digest()
                if split == "train" and (row["id"] in eval_ids or image_hash in eval_images):
                    raise DatasetError(
                        f"sources.{item['input']}: train row {row['id']} is also in a val/test "
                        "split of the mix (same id or same image); fix the inputs' splits"
                    )
                if split != "train":
                    eval_ids.add(row["id"])
                    eval_images.add(image_hash)
                if item["repeat"]:
                    row["id"] = f"{row['id']}~r{item['repeat']}"  # ids stay unique
                if row["id"] in ids:  # e.g. two synthetic datasets: both have synth-val-000000
                    row["id"] = f"{row['id']}@{item['input']}"
                ids.add(row["id"])
                row["meta"]["split"] = split
                writer.add(row)
                src = used.setdefault(row["meta"]["source"], {"input": item["input"]})
                src[split] = src.get(split, 0) + 1
            del rows
        shutil.rmtree(cache)
        info = writer.finish(_info(cfg, inputs, ident, used, writer.counts))
        write_card(CanonicalDataset(tmp, info))
        _append_card(tmp, info)
    log.info("wrote mix %s to %s (digest %s)", cfg.name, out, info["digest"][:12])
    return open_dataset(out)


def _info(
    cfg: MixConfig,
    inputs: list[Input],
    ident: dict[str, Any],
    used: dict[str, dict[str, int]],
    counts: dict[str, int],
) -> dict[str, Any]:
    sources = {}
    for name, per_split in sorted(used.items()):
        inp = next(i for i in inputs if i.key == per_split["input"])
        meta = dict(inp.ds.info.get("sources", {}).get(name) or {"licence": "unknown"})
        meta["num_samples"] = sum(v for k, v in per_split.items() if k != "input")
        meta["rows_per_split"] = {k: v for k, v in per_split.items() if k != "input"}
        sources[name] = meta
    return {
        "synthetic": all(i.ds.is_synthetic for i in inputs),
        "sources": sources,
        "mix": {
            "name": cfg.name,
            "seed": cfg.seed,
            "commercial_safe": cfg.commercial_safe,
            "train_rows": counts.get("train", 0),
            "inputs": {
                i.key: {
                    "path": str(i.ds.path),
                    "digest": i.ds.digest,
                    "weight": i.weight,
                    "eval": i.eval,
                }
                for i in inputs
            },
            "dropped": {f"{i.key}/{s}": why for i in inputs for s, why in i.dropped.items()},
        },
        "generator": {"name": "figure_ml.data.mix", "config": ident},
        "git_commit": git_commit(),
    }


def _append_card(root: Path, info: dict[str, Any]) -> None:
    """Add the mix's own section (weights, realised shares, dropped sources) to the card."""
    mix = info["mix"]
    train = max(mix["train_rows"], 1)
    lines = [
        "## Mix",
        "",
        f"`{mix['name']}`, seed {mix['seed']}, commercial_safe {mix['commercial_safe']}",
        "",
        "| source | licence | train rows | share of train | val | test |",
        "|---|---|---|---|---|---|",
    ]
    for name, meta in info["sources"].items():
        per = meta["rows_per_split"]
        lines.append(
            f"| {name} | {meta['licence']} | {per.get('train', 0)} | "
            f"{per.get('train', 0) / train:.3f} | {per.get('val', 0)} | "
            f"{per.get('test', 0)} |"
        )
    if mix["dropped"]:
        lines += ["", "Dropped (commercial_safe):", ""]
        lines += [f"- {k}: {why}" for k, why in sorted(mix["dropped"].items())]
    card = root / "DATASET_CARD.md"
    atomic.write_text(card, card.read_text() + "\n" + "\n".join(lines) + "\n")


def main() -> None:  # pragma: no cover - exercised through the CLI test
    """Thin Hydra main of ``python -m figure_ml.data.mix``."""
    import hydra
    from omegaconf import DictConfig

    from figure_ml.cli import CONFIG_DIR, exit_with, hydra_usage_errors, run_main
    from figure_ml.config import to_typed

    @hydra.main(config_path=str(CONFIG_DIR), config_name="mix", version_base="1.3")
    def _main(cfg: DictConfig) -> None:
        def job() -> None:
            ds = build_mix(to_typed(cfg, MixConfig, drop=("paths",)))
            print(f"dataset: {ds.path}\ndigest: {ds.digest}")

        exit_with(run_main(job))

    hydra_usage_errors(_main)


if __name__ == "__main__":
    main()
