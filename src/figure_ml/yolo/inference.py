"""Inference and export with ultralytics: loading a checkpoint, its raw head output, FP32 ONNX."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from figure_ml.errors import BadInputError
from figure_ml.yolo.runtime import ultralytics_module


def load_detector(weights: str | Path) -> Any:
    """A ``.pt`` detection checkpoint; :class:`BadInputError` when it is missing, not a
    detection model, or its classes differ from :mod:`figure_ml.classes`."""
    from figure_ml.classes import check_names

    ul = ultralytics_module()
    p = Path(weights)
    if not p.is_file():
        raise BadInputError(f"weights {p}: no such file")
    try:
        model = ul.YOLO(str(p))
    except Exception as exc:  # ultralytics raises many types for a bad file
        raise BadInputError(f"weights {p}: not an ultralytics checkpoint ({exc})") from exc
    if model.task != "detect":
        raise BadInputError(f"weights {p}: a {model.task!r} model, not a detection model")
    try:
        check_names(dict(model.names), where=f"weights {p}")
    except ValueError as exc:
        raise BadInputError(str(exc)) from exc
    model.model.eval()
    return model


def trained_imgsz(model: Any) -> int | None:
    """The image size a checkpoint was trained at (from its saved training arguments)."""
    ckpt = getattr(model, "ckpt", None) or {}
    args = ckpt.get("train_args") or getattr(model, "overrides", {}) or {}
    size = args.get("imgsz")
    return int(size) if isinstance(size, int) else None


def forward_raw(model: Any, x: np.ndarray) -> np.ndarray:
    """The raw head output of a letterboxed ``(1, 3, S, S)`` float32 input — the same tensor
    the ONNX export returns, so both are decoded by :mod:`figure_ml.onnx_detect`."""
    import torch

    net = model.model
    with torch.inference_mode():
        out = net(torch.from_numpy(x).to(next(net.parameters()).device))
    if isinstance(out, list | tuple):
        out = out[0]
    if isinstance(out, dict):  # some heads return {"one2one": ..., "one2many": ...}
        out = out.get("one2one", next(iter(out.values())))
        out = out[0] if isinstance(out, list | tuple) else out
    return out.float().cpu().numpy()


def export_onnx(
    weights: str | Path, out_path: Path, *, imgsz: int, opset: int, dynamic_batch: bool = False
) -> Path:
    """FP32 ONNX of a ``.pt`` checkpoint via ultralytics' exporter, written to ``out_path``.

    ``simplify`` stays off: it needs onnxslim, which ultralytics would otherwise try to
    pip-install (offline machines have no index). The export runs on a copy of the weights in
    a temporary folder, because ultralytics writes its output beside the weights file.
    """
    load_detector(weights)  # clear errors before exporting
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "model.pt"
        shutil.copy(weights, src)
        model = ultralytics_module().YOLO(str(src))
        try:
            produced = model.export(
                format="onnx",
                imgsz=imgsz,
                opset=opset,
                dynamic=dynamic_batch,
                simplify=False,
                half=False,
                int8=False,
                batch=1,
                device="cpu",
                verbose=False,
            )
        except Exception as exc:
            raise BadInputError(f"weights {weights}: ONNX export failed ({exc})") from exc
        out_path.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(produced), out_path)
    return out_path
