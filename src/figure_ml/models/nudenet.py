"""A starting point trained on real photos: NudeNet's YOLOv8n, as ``model.weights=nudenet``.

Why: every student trained here so far started from random weights and has seen synthetic
images only; on real photos it misses most faces and text (README "The reference checkpoint").
No pretrained detector weights can be downloaded here, but the ``nudenet`` wheel (3.4, PyPI)
ships ``nudenet/320n.onnx``: an ultralytics YOLOv8n export (its ONNX metadata says so) trained
on real photos of people, with 18 body-part classes among which ``FACE_FEMALE`` and
``FACE_MALE``. Its backbone has seen real skin, faces, clothing and rooms.

Licence: the wheel's ``LICENSE`` file is AGPL-3.0 (its metadata says MIT); the ONNX metadata
names ultralytics' AGPL-3.0 licence. AGPL-3.0 is recorded, the licence the shipped reference
already carries (ultralytics' YOLO code).

The conversion (:func:`convert`) copies every tensor by name (the export kept ultralytics'
module names) into ``yolov8n.yaml`` built at figure_ml's class count, with two decisions:

- **BatchNorm.** The export folded each BatchNorm into its convolution (weight and bias). A
  model trained from the file normalises each channel by its batch statistics, which would
  rescale every channel that the next convolution was trained on. So each BatchNorm is set to
  reproduce its folded convolution on representative images: running mean ``m`` and variance
  ``v`` of the convolution's output over :data:`CALIBRATION_IMAGES` synthetic images,
  ``gamma = sqrt(v + eps)``, ``beta = m + b``. In eval mode the network is then exactly the
  exported one; in train mode it is close while batches look like the calibration images.
- **Class head.** The face logit starts from the mean of the ``FACE_FEMALE`` and ``FACE_MALE``
  logit convolutions; tattoo, wristband and text keep ultralytics' initial values (no NudeNet
  class means them).

The result is written once per (ONNX sha256, conversion version) into a cache folder and
reused; its provenance (package, version, file, sha256, licence) travels inside the checkpoint
under ``figure_ml_init``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from figure_ml.cache import cache_dir
from figure_ml.classes import CLASS_NAMES, class_id, names_dict
from figure_ml.errors import BadInputError
from figure_ml.teachers.base import TeacherSpec, TeacherUnavailable, locate

#: the package file, found with importlib.resources and verified against pip's RECORD
SPEC = TeacherSpec(
    name="nudenet",
    package="nudenet",
    model_patterns=("320n.onnx",),
    licence="AGPL-3.0",
    licence_note="the nudenet wheel's LICENSE file is AGPL-3.0 (its metadata says MIT) and the "
    "ONNX metadata names ultralytics' AGPL-3.0; the same terms as ultralytics' YOLO code",
    classes=("face",),
    default_threshold=0.25,
    score_floor=0.001,
    description="NudeNet 320n: ultralytics YOLOv8n trained on real photos of people, 18 classes",
)
#: NudeNet's output classes, in order (nudenet/nudenet.py); the face logit starts from these
NUDENET_FACE_CLASSES: tuple[int, ...] = (1, 12)
NUDENET_FACE_NAMES = {1: "FACE_FEMALE", 12: "FACE_MALE"}
NUDENET_NUM_CLASSES = 18
#: the ultralytics architecture of the export
MODEL_YAML = "yolov8n.yaml"
#: how many synthetic images set the BatchNorm statistics, at which input size, from which seed
CALIBRATION_IMAGES, CALIBRATION_IMGSZ, CALIBRATION_SEED = 32, 512, 0
#: bump when the conversion changes: the cache key holds it
CONVERSION_VERSION = 1
INSTALL_HINT = "pip install 'figure_ml[pretrained]' (the nudenet wheel)"


def onnx_tensors(onnx_path: Path) -> dict[str, np.ndarray]:
    """The export's initialisers by name (``model.3.conv.weight``, ...), after checking from its
    metadata that its classes are NudeNet's (the face rows the conversion takes)."""
    import ast

    import onnx
    from onnx import numpy_helper

    try:
        model = onnx.load(str(onnx_path))
    except Exception as exc:  # onnx raises DecodeError and friends
        raise BadInputError(f"{onnx_path}: not a readable ONNX file ({exc})") from exc
    meta = {p.key: p.value for p in model.metadata_props}
    try:
        names = ast.literal_eval(meta.get("names", "None"))
    except (ValueError, SyntaxError):
        names = None
    faces = {i: names.get(i) for i in NUDENET_FACE_CLASSES} if isinstance(names, dict) else None
    if not names or len(names) != NUDENET_NUM_CLASSES or faces != NUDENET_FACE_NAMES:
        raise BadInputError(
            f"{onnx_path}: metadata names {names!r} are not NudeNet's {NUDENET_NUM_CLASSES} "
            f"classes with {NUDENET_FACE_NAMES} (another nudenet release?); the conversion "
            "takes the face logits from those rows"
        )
    return {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}


def _folded_model(tensors: dict[str, np.ndarray], onnx_path: Path) -> Any:
    """``yolov8n.yaml`` at figure_ml's classes holding the export's folded tensors, each
    BatchNorm an identity plus the folded bias (eval-mode equal to the export)."""
    import torch

    from figure_ml.yolo import detection_model

    with torch.random.fork_rng():  # ultralytics' initial values of the new class logits
        torch.manual_seed(CALIBRATION_SEED)
        net = detection_model(MODEL_YAML, len(CLASS_NAMES))
    state = {}
    for key, value in net.state_dict().items():
        if key.endswith("num_batches_tracked"):
            continue
        if ".bn." in key:
            base, attr = key.rsplit(".bn.", 1)
            if f"{base}.conv.bias" not in tensors:
                raise BadInputError(f"{onnx_path}: no folded bias {base}.conv.bias; not a YOLOv8n")
            bias = torch.from_numpy(tensors[f"{base}.conv.bias"].copy())
            eps = net.get_submodule(f"{base}.bn").eps
            state[key] = {
                "weight": torch.ones_like(bias),
                "bias": bias,
                "running_mean": torch.zeros_like(bias),
                "running_var": torch.full_like(bias, 1.0 - eps),
            }[attr]
            continue
        if key not in tensors:
            raise BadInputError(f"{onnx_path}: tensor {key} missing; not a YOLOv8n export")
        src = torch.from_numpy(tensors[key].copy())
        if src.shape == value.shape:
            state[key] = src
        elif src.shape[1:] == value.shape[1:] and (src.shape[0], value.shape[0]) == (
            NUDENET_NUM_CLASSES,
            len(CLASS_NAMES),
        ):
            head = value.clone()  # a class-logit conv: face from NudeNet's two face classes
            head[class_id("face")] = src[list(NUDENET_FACE_CLASSES)].mean(0)
            state[key] = head
        else:
            raise BadInputError(
                f"{onnx_path}: {key} has shape {tuple(src.shape)}, "
                f"{MODEL_YAML} expects {tuple(value.shape)}"
            )
    missing, unexpected = net.load_state_dict(state, strict=False)
    unset = [*unexpected, *(k for k in missing if not k.endswith("num_batches_tracked"))]
    if unset:  # only BatchNorm batch counters are left out on purpose
        raise BadInputError(f"{onnx_path}: the conversion left {unset[:5]} unset")
    net.names = names_dict()
    return net.eval()


def _as_input(image: np.ndarray, imgsz: int) -> Any:
    """An RGB uint8 image, long side scaled to ``imgsz`` (sides multiples of 32), as a batch."""
    import cv2
    import torch

    h, w = image.shape[:2]
    s = imgsz / max(h, w)
    size = (max(32, round(w * s / 32) * 32), max(32, round(h * s / 32) * 32))
    x = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    return torch.from_numpy(np.ascontiguousarray(x)).permute(2, 0, 1)[None].float() / 255


def _unfold_batchnorms(net: Any, images: Iterable[np.ndarray], imgsz: int) -> int:
    """Give every BatchNorm the statistics its folded convolution's output has on ``images``
    (see the module docstring); returns how many images were seen."""
    import torch

    from figure_ml.yolo import conv_blocks

    convs = conv_blocks(net)
    sums: dict[str, list] = {name: [0.0, 0.0, 0.0] for name in convs}

    def hook(name: str):
        def record(_module, _inputs, out) -> None:
            y = out.double()
            s = sums[name]
            s[0] += y.numel() / y.shape[1]
            s[1] = s[1] + y.sum((0, 2, 3))
            s[2] = s[2] + (y * y).sum((0, 2, 3))

        return record

    handles = [m.conv.register_forward_hook(hook(n)) for n, m in convs.items()]
    seen = 0
    try:
        with torch.no_grad():
            for image in images:
                net(_as_input(image, imgsz))
                seen += 1
    finally:
        for h in handles:
            h.remove()
    if seen == 0:
        raise BadInputError("nudenet conversion: no calibration image")
    for name, m in convs.items():
        count, s1, s2 = sums[name]
        mean = s1 / count
        var = (s2 / count - mean * mean).clamp_min(1e-6)
        bn = m.bn
        folded_bias = bn.bias.data.clone()
        bn.running_mean.data = mean.float()
        bn.running_var.data = var.float()
        bn.weight.data = torch.sqrt(var + bn.eps).float()
        bn.bias.data = mean.float() + folded_bias
    return seen


def convert(onnx_path: Path, images: Iterable[np.ndarray], imgsz: int = CALIBRATION_IMGSZ) -> Any:
    """NudeNet's export as an unfused ultralytics ``DetectionModel`` at figure_ml's classes."""
    net = _folded_model(onnx_tensors(onnx_path), onnx_path)
    _unfold_batchnorms(net, images, imgsz)
    return net


def calibration_images(n: int = CALIBRATION_IMAGES, seed: int = CALIBRATION_SEED) -> Iterator:
    """``n`` synthetic training-split images (RGB) of the default generator settings."""
    import cv2

    from figure_ml.config import SynthConfig
    from figure_ml.data.synth.generator import spec_from_config
    from figure_ml.data.synth.sample import make_sample

    spec = spec_from_config(SynthConfig(seed=seed))
    for i in range(n):
        raw = make_sample(spec, "train", i)["image"]
        bgr = cv2.imdecode(np.frombuffer(raw, np.uint8), cv2.IMREAD_COLOR)
        yield bgr[:, :, ::-1]


def init_checkpoint(folder: Path | None = None) -> Path:
    """The converted checkpoint's path, converted and written atomically on first use."""
    import importlib.util
    import io

    import torch

    from figure_ml.atomic import write_bytes

    if importlib.util.find_spec(SPEC.package) is None:
        raise BadInputError(
            f"model.weights=nudenet: package 'nudenet' is not installed; {INSTALL_HINT}"
        )
    try:
        info = locate(SPEC)
    except TeacherUnavailable as exc:
        raise BadInputError(f"model.weights=nudenet: {exc}") from None
    folder = Path(folder) if folder is not None else cache_dir()
    out = folder / f"nudenet-{info.sha256[:16]}-v{CONVERSION_VERSION}.pt"
    if out.is_file():
        return out
    # the key leaves out the generator: a later generator's calibration images would give other
    # statistics, but the cached start stays valid, and a run records its file's sha256
    net = convert(info.path, calibration_images(CALIBRATION_IMAGES))
    provenance = {
        **info.as_dict(),
        "conversion_version": CONVERSION_VERSION,
        "architecture": MODEL_YAML,
        "face_logit_from": list(NUDENET_FACE_CLASSES),
        "calibration": {
            "images": CALIBRATION_IMAGES,
            "imgsz": CALIBRATION_IMGSZ,
            "synthetic_seed": CALIBRATION_SEED,
        },
    }
    buf = io.BytesIO()
    torch.save({"model": net, "train_args": {}, "figure_ml_init": provenance}, buf)
    try:
        write_bytes(out, buf.getvalue())
    except OSError as exc:
        raise BadInputError(
            f"model.weights=nudenet: cannot write the converted start to {folder} ({exc}); "
            "set FIGURE_ML_CACHE to a writable folder"
        ) from exc
    return out


def checkpoint_provenance(path: str | Path) -> dict[str, Any]:
    """Where a converted start came from (``figure_ml_init`` of the checkpoint at ``path``)."""
    import torch

    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as exc:  # torch raises pickle and zip errors
        raise BadInputError(f"{path}: not a readable checkpoint ({exc})") from exc
    prov = ckpt.get("figure_ml_init") if isinstance(ckpt, dict) else None
    if not isinstance(prov, dict):
        raise BadInputError(f"{path}: not a converted start (no figure_ml_init)")
    return prov
