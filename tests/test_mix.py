"""Dataset mixes: composition by weight, determinism by seed, split hygiene, licences, CLI."""

import io
import json
import subprocess
import sys
from collections import Counter

import numpy as np
import pytest
from PIL import Image

from figure_ml.config import MixConfig, MixSourceConfig
from figure_ml.data.canonical import CanonicalWriter, open_dataset
from figure_ml.data.licences import SOURCE_LICENCES, classify
from figure_ml.data.mix import build_mix
from figure_ml.errors import ConfigError, DatasetError

SPLIT_OFFSET = {"train": 0, "val": 300, "test": 600}


def _png(seed: int) -> bytes:
    # distinct pixels per image: the mix's leak check compares image bytes
    rng = np.random.default_rng(seed)
    buf = io.BytesIO()
    Image.fromarray(rng.integers(0, 255, (8, 8, 3), dtype=np.uint8)).save(buf, format="PNG")
    return buf.getvalue()


def make_dataset(path, source, counts, *, seed, licence=None, images=None):
    """A tiny canonical dataset of one source; ``images`` (split, i) -> bytes overrides."""
    lic = SOURCE_LICENCES.get(source) or classify(licence)
    w = CanonicalWriter(path, shard_size=7)
    for split, n in counts.items():
        for i in range(n):
            image = (images or {}).get((split, i)) or _png(seed * 1000 + SPLIT_OFFSET[split] + i)
            w.add(
                {
                    "id": f"{source}-{split}-{i}",
                    "image": image,
                    "width": 8,
                    "height": 8,
                    "objects": [{"bbox_xyxy": [1, 1, 5, 5], "category": 0, "attrs": "{}"}],
                    "findings": [],
                    "meta": {
                        "source": source,
                        "licence": lic.name,
                        "split": split,
                        "skin_tone": 0,
                        "synthetic": source == "synth",
                    },
                }
            )
    w.finish(
        {
            "synthetic": source == "synth",
            "sources": {source: {**lic.as_info(), "num_samples": sum(counts.values())}},
        }
    )
    return open_dataset(path)


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    root = tmp_path_factory.mktemp("mixin")
    make_dataset(root / "a", "synth", {"train": 40, "val": 5, "test": 5}, seed=1)
    make_dataset(root / "b", "wider_face", {"train": 30, "val": 4}, seed=2)
    make_dataset(root / "c", "textocr", {"train": 20, "val": 3, "test": 3}, seed=3)
    make_dataset(root / "d", "fddb", {"test": 6}, seed=4)
    return root


def _cfg(root, out, weights=(0.5, 0.3, 0.2, 0.0), **kw):
    names = ("synth", "wider_face", "textocr", "fddb")
    sources = {
        n: MixSourceConfig(path=str(root / d), weight=w)
        for n, d, w in zip(names, "abcd", weights, strict=True)
    }
    return MixConfig(name="t", sources=sources, out_dir=str(out), shard_size=16, **kw)


def _composition(ds, split):
    return Counter(r["meta"]["source"] for r in ds.annotations(split))


def test_composition_follows_weights_and_eval_splits_stay_out_of_train(inputs, tmp_path):
    ds = build_mix(_cfg(inputs, tmp_path / "m"))
    # null train_size: the largest size without repeats = min(40/.5, 30/.3, 20/.2) = 80
    assert _composition(ds, "train") == {"synth": 40, "wider_face": 24, "textocr": 16}
    assert _composition(ds, "val") == {"synth": 5, "wider_face": 4, "textocr": 3}
    assert _composition(ds, "test") == {"synth": 5, "textocr": 3, "fddb": 6}  # fddb: eval only
    train_ids = {r["id"] for r in ds.annotations("train")}
    assert all(i.split("-")[-2] == "train" for i in train_ids) and len(train_ids) == 80
    assert ds.info["sources"]["wider_face"]["rows_per_split"] == {"train": 24, "val": 4}
    assert not ds.is_synthetic
    card = (ds.path / "DATASET_CARD.md").read_text()
    assert "CC BY-NC-ND 4.0" in card and "## Mix" in card
    assert "Synthetic boxes are the tight box" in card  # its synth rows are boxed that way


def test_larger_train_size_repeats_rows_within_tolerance(inputs, tmp_path):
    ds = build_mix(_cfg(inputs, tmp_path / "m", weights=(1, 1, 2, 0), train_size=301))
    comp = _composition(ds, "train")
    assert sum(comp.values()) == 301
    for src, share in (("synth", 0.25), ("wider_face", 0.25), ("textocr", 0.5)):
        assert abs(comp[src] / 301 - share) < 0.005
    ids = [r["id"] for r in ds.annotations("train")]
    assert len(set(ids)) == 301  # repeats get their own ids
    # textocr: 151 draws from 20 rows -> every row used 7 or 8 times (whole passes first)
    base = Counter(i.split("~")[0] for i in ids if i.startswith("textocr"))
    assert set(base.values()) <= {7, 8} and len(base) == 20


def test_same_seed_same_dataset_other_seed_other_order(inputs, tmp_path):
    a = build_mix(_cfg(inputs, tmp_path / "a", seed=3))
    b = build_mix(_cfg(inputs, tmp_path / "b", seed=3))
    c = build_mix(_cfg(inputs, tmp_path / "c", seed=4))
    assert a.digest == b.digest
    assert (a.path / "data" / "train-00000.parquet").read_bytes() == (
        b.path / "data" / "train-00000.parquet"
    ).read_bytes()
    assert c.digest != a.digest
    assert _composition(c, "train") == _composition(a, "train")
    # rebuilding into the same folder with the same config reuses it; another config refuses
    assert build_mix(_cfg(inputs, tmp_path / "a", seed=3)).digest == a.digest
    with pytest.raises(ConfigError, match="already holds another dataset"):
        build_mix(_cfg(inputs, tmp_path / "a", seed=5))


def test_commercial_safe_drops_nc_nd_and_unknown_sources(inputs, tmp_path):
    make_dataset(tmp_path / "e", "tattoo_set", {"train": 10}, seed=9, licence="unknown")
    cfg = _cfg(inputs, tmp_path / "m", commercial_safe=True)
    cfg.sources["tattoos"] = MixSourceConfig(path=str(tmp_path / "e"), weight=0.2)
    ds = build_mix(cfg)
    # wider_face (NC-ND), fddb (non-commercial) and the unknown-licence set are gone; the
    # remaining weights are renormalised (5/7, 2/7); no repeats: min(40 / (5/7), 20 / (2/7))
    # = 56 rows -> 40 : 16
    assert _composition(ds, "train") == {"synth": 40, "textocr": 16}
    assert set(_composition(ds, "test")) == {"synth", "textocr"}
    assert set(ds.licences) == {"synth", "textocr"}
    assert set(ds.info["mix"]["dropped"]) == {
        "wider_face/wider_face",
        "fddb/fddb",
        "tattoos/tattoo_set",
    }
    card = (ds.path / "DATASET_CARD.md").read_text()
    assert "Dropped (commercial_safe)" in card and "unknown licence" in card
    assert "CC BY 4.0 (annotations)" in card


def test_two_datasets_of_one_source_keep_unique_ids_and_add_up(tmp_path):
    # e.g. two synthetic datasets with different seeds: both name their rows synth-val-0...
    make_dataset(tmp_path / "s1", "synth", {"train": 6, "val": 2}, seed=21)
    make_dataset(tmp_path / "s2", "synth", {"train": 6, "val": 2}, seed=22)
    cfg = MixConfig(
        name="two",
        out_dir=str(tmp_path / "m"),
        sources={
            "s1": MixSourceConfig(path=str(tmp_path / "s1")),
            "s2": MixSourceConfig(path=str(tmp_path / "s2")),
        },
    )
    ds = build_mix(cfg)
    ids = [r["id"] for s in ("train", "val") for r in ds.annotations(s)]
    assert len(ids) == len(set(ids)) == 16
    assert ds.info["sources"]["synth"]["num_samples"] == 16 and ds.is_synthetic


def test_licence_classification():
    assert classify("CC-BY-4.0").commercial_safe
    assert classify("CC BY-SA 4.0").commercial_safe
    assert classify("proprietary-owned").commercial_safe
    for bad in ("CC-BY-NC-4.0", "CC BY-ND 4.0", "research only", "unknown", "", "weird"):
        assert not classify(bad).commercial_safe, bad
    assert SOURCE_LICENCES["textocr"].commercial_safe
    assert not SOURCE_LICENCES["wider_face"].commercial_safe
    assert not SOURCE_LICENCES["icdar2015"].commercial_safe


def test_leak_between_train_and_val_stops_the_build(inputs, tmp_path):
    a_val = open_dataset(inputs / "a").iter_samples("val")
    leaked = next(a_val)["image"]
    make_dataset(
        tmp_path / "x",
        "tattoo_set",
        {"train": 5},
        seed=11,
        licence="CC0-1.0",
        images={("train", 2): leaked},
    )
    cfg = _cfg(inputs, tmp_path / "m")
    cfg.sources["x"] = MixSourceConfig(path=str(tmp_path / "x"), weight=0.1)
    with pytest.raises(DatasetError, match="also in a val/test split"):
        build_mix(cfg)
    assert not (tmp_path / "m").exists()
    cfg.sources["x"].path = str(inputs / "a")
    with pytest.raises(ConfigError, match="same dataset"):
        build_mix(cfg)
    cfg = _cfg(inputs, tmp_path / "m", weights=(0.5, 0.3, 0.2, 1.0))
    with pytest.raises(DatasetError, match=r"sources\.fddb: weight 1\.0 but no train rows"):
        build_mix(cfg)


def test_mix_cli(inputs, tmp_path):
    # a user's own mix file outside the repository, found through --config-dir
    (tmp_path / "conf" / "mix").mkdir(parents=True)
    (tmp_path / "conf" / "mix" / "cli.yaml").write_text(
        "# @package _global_\nname: cli\nsources:\n"
        f"  a: {{path: '{inputs / 'a'}', weight: 2}}\n  c: {{path: '{inputs / 'c'}'}}\n"
    )
    cmd = [
        sys.executable,
        "-m",
        "figure_ml.data.mix",
        "--config-dir",
        str(tmp_path / "conf"),
        "mix=cli",
        f"out_dir={tmp_path / 'm'}",
        "seed=1",
        f"hydra.run.dir={tmp_path / 'h'}",
    ]
    # cwd: Hydra's log folder of a run without hydra.run.dir stays out of the checkout
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    ds = open_dataset(tmp_path / "m")
    assert _composition(ds, "train") == {"synth": 40, "textocr": 20}  # 2 : 1, no repeats
    assert f"digest: {ds.digest}" in res.stdout
    info = json.loads((tmp_path / "m" / "dataset_info.json").read_text())
    assert info["mix"]["name"] == "cli"
    bad = subprocess.run(
        [*cmd[:5], "mix=cli", "train_size=0", f"out_dir={tmp_path / 'n'}"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert bad.returncode == 2 and "train_size must be >= 1" in bad.stderr
