"""Generate the synthetic canonical dataset: parallel, deterministic, written atomically."""

from __future__ import annotations

import logging
import multiprocessing as mp
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

import cv2
from tqdm import tqdm

from figure_ml import atomic
from figure_ml.config import SynthConfig
from figure_ml.data.canonical import CanonicalDataset, CanonicalWriter, is_canonical, open_dataset
from figure_ml.data.card import write_card
from figure_ml.data.contact_sheet import write_contact_sheet
from figure_ml.data.fonts import resolve_fonts
from figure_ml.data.render.options import SceneOptions
from figure_ml.data.synth.sample import LICENCE, SOURCE, SampleSpec, make_sample
from figure_ml.errors import ConfigError
from figure_ml.provenance import git_commit

log = logging.getLogger(__name__)

_spec: SampleSpec | None = None


def _init_worker(spec: SampleSpec, threads: int = 0) -> None:
    """Per-process set-up; ``threads`` > 0 caps OpenCV's own thread pool. Worker processes
    get their single OpenCV thread from the parent instead (see :func:`_samples`)."""
    global _spec
    _spec = spec
    if threads:
        cv2.setNumThreads(threads)


def _work(task: tuple[str, int]) -> dict[str, Any]:
    assert _spec is not None
    return make_sample(_spec, *task)


def spec_from_config(cfg: SynthConfig) -> SampleSpec:
    """The per-sample spec of ``cfg`` (fonts resolved: a missing one raises ConfigError)."""
    scene = SceneOptions(
        classes=tuple(cfg.classes),
        font_paths=resolve_fonts(cfg.fonts),
        phi_per_image=(cfg.phi_per_image[0], cfg.phi_per_image[1]),
        findings_per_image=(cfg.findings_per_image[0], cfg.findings_per_image[1]),
        negatives_per_image=(cfg.negatives_per_image[0], cfg.negatives_per_image[1]),
    )
    return SampleSpec(
        seed=cfg.seed,
        scene=scene,
        long_side=(cfg.long_side[0], cfg.long_side[1]),
        jpeg_quality=(cfg.jpeg_quality[0], cfg.jpeg_quality[1]),
        augment=cfg.augment,
        min_box_side=cfg.min_box_side,
        phi_free_share=cfg.phi_free_share,
    )


def _tasks(cfg: SynthConfig) -> list[tuple[str, int]]:
    counts = {"train": cfg.n_train, "val": cfg.n_val, "test": cfg.n_test}
    return [(split, i) for split, n in counts.items() for i in range(n)]


def _samples(spec: SampleSpec, tasks: list[tuple[str, int]], workers: int) -> Iterator[dict]:
    if workers == 1:
        _init_worker(spec)
        yield from map(_work, tasks)
        return
    # fork: workers inherit imported modules (fast start); results come back in task order,
    # which is what makes the output independent of the number of workers.
    # OpenCV is set to one thread in the parent *before* forking (children inherit it):
    # calling cv2.setNumThreads in a forked child of a process that has already used
    # OpenCV's thread pool deadlocks on the pool's inherited lock (measured: a test process
    # that had rendered before generating with 2 workers hung forever on a futex).
    ctx = mp.get_context("fork")
    before = cv2.getNumThreads()
    cv2.setNumThreads(1)
    try:
        with ctx.Pool(workers, initializer=_init_worker, initargs=(spec, 0)) as pool:
            yield from pool.imap(_work, tasks, chunksize=4)
    finally:
        cv2.setNumThreads(before)


def identity_config(cfg: SynthConfig) -> dict[str, Any]:
    """The part of ``cfg`` that decides the content (not where or how fast it is written)."""
    config = asdict(cfg)
    for key in ("out_dir", "workers", "overwrite", "realism_images"):
        config.pop(key)
    return config


def _existing(out: Path, cfg: SynthConfig) -> CanonicalDataset | None:
    """The dataset already at ``out`` when it was made with the same config; else None.

    Raises :class:`ConfigError` when ``out`` holds something else and ``overwrite`` is off.
    """
    if not out.exists():
        return None
    if not out.is_dir():
        raise ConfigError(f"out_dir {out} exists and is not a folder")
    if is_canonical(out):
        ds = open_dataset(out)
        made_with = ds.info.get("generator", {}).get("config") or {}
        wanted = identity_config(cfg)
        if made_with == wanted and not cfg.overwrite:
            return ds
        if not cfg.overwrite:
            differ = [
                f"{k} {wanted.get(k)!r}, not {made_with.get(k)!r}"
                for k in sorted(set(wanted) | set(made_with))
                if wanted.get(k) != made_with.get(k)
            ]
            raise ConfigError(
                f"out_dir {out} already holds another dataset (digest {ds.digest[:12]}, made "
                f"with a different config; asked for {'; '.join(differ[:4])}); pass "
                "overwrite=true or choose another out_dir"
            )
        return None
    if any(out.iterdir()):
        raise ConfigError(f"out_dir {out} is not empty and holds no dataset; refusing to touch it")
    return None


def _realism_section(folder: Path, cfg: SynthConfig) -> None:
    """The realism score of ``cfg.realism_images`` images of the last split, into the card
    (:mod:`figure_ml.data.realism`); without the teachers the card says why it has none."""
    from figure_ml.data.realism import card_section, realism_score, unavailable_section, update_card
    from figure_ml.teachers import TeacherUnavailable

    split = "test" if cfg.n_test else "val" if cfg.n_val else "train"
    try:
        section = card_section(realism_score(folder, split, limit=cfg.realism_images))
    except TeacherUnavailable as exc:
        log.warning("realism score skipped: %s", exc)
        section = unavailable_section(str(exc))
    update_card(folder / "DATASET_CARD.md", section)


def generate(cfg: SynthConfig) -> CanonicalDataset:
    """Write the synthetic dataset described by ``cfg`` to ``cfg.out_dir`` and open it.

    Nothing at ``out_dir`` changes unless the whole dataset was written: it is built in a
    temporary sibling folder and renamed into place. A dataset already there that was made
    with the same config is reused; any other content is an error unless ``overwrite``.
    """
    cfg.validate()
    out = Path(cfg.out_dir)
    existing = _existing(out, cfg)
    if existing is not None:
        log.info("%s already holds this dataset (digest %s); reusing it", out, existing.digest[:12])
        return existing
    spec = spec_from_config(cfg)
    tasks = _tasks(cfg)
    if out.exists() and not is_canonical(out):
        out.rmdir()  # an empty folder: the staging rename needs the name free
    with atomic.staging_dir(out, overwrite=cfg.overwrite) as tmp:
        writer = CanonicalWriter(tmp, shard_size=cfg.shard_size)
        preview: list[dict[str, Any]] = []
        workers = min(cfg.workers, max(1, len(tasks)))
        for s in tqdm(_samples(spec, tasks, workers), total=len(tasks), desc="synth", unit="img"):
            writer.add(s)
            first_split = s["meta"]["split"] == "train" or cfg.n_train == 0
            if len(preview) < cfg.contact_sheet_images and first_split:
                preview.append(s)
        config = identity_config(cfg)
        info = writer.finish(
            {
                "synthetic": True,
                "sources": {SOURCE: {"licence": LICENCE, "num_samples": len(tasks)}},
                "generator": {"name": "figure_ml.data.synth", "config": config},
                "git_commit": git_commit(),
            }
        )
        write_card(CanonicalDataset(tmp, info))
        write_contact_sheet(tmp / "contact_sheet.png", preview)
        if cfg.realism_images:
            _realism_section(tmp, cfg)
    log.info("wrote %d images to %s (digest %s)", len(tasks), out, info["digest"][:12])
    return open_dataset(out)
