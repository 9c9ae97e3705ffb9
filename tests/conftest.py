"""Shared fixtures: no network but loopback (in this process and every subprocess), a temporary
MLflow store, tiny canonical datasets."""

from __future__ import annotations

import io
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from figure_ml.data.canonical import CanonicalWriter, open_dataset
from subprocess_site import figure_ml_netblock as netblock

# before anything imports mlflow: no telemetry thread phoning home from the test process
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
# tiny test trainings gain nothing from a second thread, and on a busy machine two spinning
# OpenMP threads are several times slower than one (see figure_ml.yolo)
os.environ.setdefault("OMP_NUM_THREADS", "1")

#: prepended to every subprocess's PYTHONPATH: its sitecustomize blocks the network there too
SUBPROCESS_SITE = Path(__file__).resolve().parent / "subprocess_site"

#: the attempt lists of the tests running now (one per test, see block_network)
_RECORDERS: list[list] = []


def _record(kind: str, target: object) -> None:
    for attempts in _RECORDERS:
        attempts.append((kind, target))


@pytest.fixture(scope="session", autouse=True)
def network_blocked_everywhere(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """No network but loopback, for the whole session and every Python process it starts.

    In this process the block is on from the first fixture (session- and module-scoped
    fixtures train and export too). Child processes inherit ``PYTHONPATH`` with
    :data:`SUBPROCESS_SITE` first and ``FIGURE_ML_NETBLOCK=1``, so ``python -m figure_ml....``,
    ``dvc`` and its stages, the notebook kernel and the MLflow server block it at start-up.
    Every refused attempt of any process is appended to the returned JSON-lines file.
    """
    log = tmp_path_factory.mktemp("netblock") / "attempts.jsonl"
    log.touch()
    mp = pytest.MonkeyPatch()
    mp.setenv(
        "PYTHONPATH",
        os.pathsep.join([str(SUBPROCESS_SITE), *filter(None, [os.environ.get("PYTHONPATH")])]),
    )
    mp.setenv(netblock.ENV_SWITCH, "1")
    mp.setenv(netblock.ENV_LOG, str(log))
    undo = netblock.install(record=_record)
    try:
        yield log
    finally:
        undo()
        mp.undo()


class NetworkAttempts(list):
    """Every blocked attempt to reach a non-loopback host, as ``(kind, target)``."""


@pytest.fixture(autouse=True)
def block_network(network_blocked_everywhere: Path) -> NetworkAttempts:
    """The refused attempts of this test's own process (connections and name lookups that are
    not loopback or a UNIX socket).

    Autouse: nothing in the suite may reach the network (DESIGN §6). Tests that must prove a
    run made no attempt assert that the returned list is empty, because libraries such as
    ultralytics swallow the error of a refused attempt.
    """
    attempts = NetworkAttempts()
    _RECORDERS.append(attempts)
    try:
        yield attempts
    finally:
        _RECORDERS.remove(attempts)


@pytest.fixture(scope="session")
def mlflow_empty_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty MLflow SQLite store, made once: creating one runs MLflow's schema migrations
    (seconds each time); a copy of the file is the same fresh store at once."""
    from mlflow.tracking import MlflowClient

    db = tmp_path_factory.mktemp("mlflow_template") / "mlflow.db"
    MlflowClient(f"sqlite:///{db}").search_experiments()  # creates and migrates the schema
    return db


@pytest.fixture
def mlflow_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mlflow_empty_db: Path
) -> dict[str, str]:
    """A fresh embedded MLflow store: ``{"uri": sqlite URI, "local_dir": folder}``. The SQLite
    file exists from the start (empty: only MLflow's ``Default`` experiment, no run)."""
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    local = tmp_path / "mlruns"
    local.mkdir()
    shutil.copyfile(mlflow_empty_db, local / "mlflow.db")
    return {"uri": f"sqlite:///{local / 'mlflow.db'}", "local_dir": str(local)}


# --- tiny canonical datasets ----------------------------------------------------------------

#: colour that stands for each class in the toy images (face, tattoo, wristband, text)
_COLOURS = np.array([[230, 180, 140], [40, 40, 160], [240, 240, 240], [10, 10, 10]], np.uint8)


def _toy_sample(rng: np.random.Generator, i: int, split: str, synthetic: bool) -> dict:
    w, h = int(rng.integers(96, 160)), int(rng.integers(80, 128))
    img = rng.integers(90, 170, (h, w, 3), dtype=np.uint8)
    objects = []
    for _ in range(int(rng.integers(1, 4))):
        c = int(rng.integers(0, 4))
        bw, bh = int(rng.integers(16, w // 2)), int(rng.integers(12, h // 2))
        x0, y0 = int(rng.integers(0, w - bw)), int(rng.integers(0, h - bh))
        img[y0 : y0 + bh, x0 : x0 + bw] = _COLOURS[c]
        objects.append({"bbox_xyxy": [x0, y0, x0 + bw, y0 + bh], "category": c, "attrs": "{}"})
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format="JPEG", quality=90)
    return {
        "id": f"{split}-{i:04d}",
        "image": buf.getvalue(),
        "width": w,
        "height": h,
        "objects": objects,
        "findings": [],
        "meta": {
            "source": "toy",
            "licence": "CC0-1.0",
            "split": split,
            "skin_tone": 0,
            "synthetic": synthetic,
        },
    }


def make_toy_dataset(
    root: Path, *, n_train: int = 12, n_val: int = 6, synthetic: bool = True, seed: int = 0
) -> Path:
    """A canonical dataset of coloured boxes on noise (fast to make and to train on)."""
    rng = np.random.default_rng(seed)
    writer = CanonicalWriter(root)
    for split, n in (("train", n_train), ("val", n_val)):
        for i in range(n):
            writer.add(_toy_sample(rng, i, split, synthetic))
    writer.finish(
        {
            "synthetic": synthetic,
            "sources": {"toy": {"licence": "CC0-1.0", "num_samples": n_train + n_val}},
        }
    )
    open_dataset(root)  # fails loudly here if the fixture itself is wrong
    return root


@pytest.fixture(scope="session")
def toy_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny synthetic canonical dataset (read-only: tests must not modify it)."""
    return make_toy_dataset(tmp_path_factory.mktemp("toy") / "ds")


@pytest.fixture(scope="session")
def toy_real_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same kind of data marked *not* synthetic: it stands for real patient photos."""
    return make_toy_dataset(tmp_path_factory.mktemp("toyreal") / "ds", synthetic=False, seed=1)


# --- training configs -----------------------------------------------------------------------


def compose_train(overrides: list[str]):
    """``TrainConfig`` exactly as ``python -m figure_ml.train <overrides>`` would build it."""
    from hydra import compose, initialize_config_dir

    from figure_ml.cli import CONFIG_DIR
    from figure_ml.config import TrainConfig, to_typed

    with initialize_config_dir(str(CONFIG_DIR), version_base="1.3"):
        cfg = compose("train", overrides=overrides)
    return to_typed(cfg, TrainConfig, drop=("paths",))


@pytest.fixture
def smoke_config(tmp_path: Path, toy_dataset: Path, mlflow_store: dict[str, str]):
    """Factory: the smoke experiment on the toy dataset, tracked in the temporary store."""

    def make(*overrides: str, run_dir: Path | None = None, dataset: Path | None = None):
        return compose_train(
            [
                "experiment=smoke",
                f"data.path={dataset or toy_dataset}",
                f"data.cache_dir={tmp_path / 'yolo_cache'}",
                f"run_dir={run_dir or tmp_path / 'run'}",
                f"tracking.uri={mlflow_store['uri']}",
                f"tracking.local_dir={mlflow_store['local_dir']}",
                f"runs_root={tmp_path / 'runs'}",
                "trainer.imgsz=64",
                "trainer.batch=4",
                *overrides,
            ]
        )

    return make


def phi_scene():
    """A 480x360 photo drawn with figure_ml's renderer: one face and a printed name label on
    grey. Returns ``(PIL image, true face box, true text box)`` (xyxy pixels). Shared by the
    teacher, autolabel and ensemble tests, which need a face and a text line a real-photo
    detector finds."""
    import numpy as np
    from PIL import Image, ImageDraw

    from figure_ml.data.fonts import load_font, resolve_font
    from figure_ml.data.render.canvas import Canvas
    from figure_ml.data.render.face import add_face
    from figure_ml.data.render.primitives import Layout

    canvas = Canvas(480, 360, np.random.default_rng(1))
    canvas.image[:] = 0.78
    (face,) = add_face(canvas, 3, 120.0, 130.0, 150.0, Layout(480, 360), roll=0.0)
    ys, xs = np.nonzero(canvas.instances == face.instance_id)
    face_box = [float(xs.min()), float(ys.min()), float(xs.max() + 1), float(ys.max() + 1)]
    img = Image.fromarray(canvas.to_uint8())
    draw = ImageDraw.Draw(img)
    draw.rectangle([250, 250, 470, 310], fill=(250, 250, 245))
    font = load_font(str(resolve_font("DejaVuSans-Bold")), 28)
    draw.text((262, 262), "DOE, JANE", font=font, fill=(10, 10, 10))
    text_box = [float(v) for v in draw.textbbox((262, 262), "DOE, JANE", font=font)]
    return img, face_box, text_box
