"""The redactor app teams read stands alone: it depends on the small core (figure_ml.boxes,
manifest, onnx_detect, tiling, imageio, teachers for detector sets), never on the evaluator,
torch or ultralytics."""

import subprocess
import sys


def test_redactor_imports_nothing_from_eval_torch_or_ultralytics():
    code = (
        "import sys; import figure_ml.redact.redactor, figure_ml.redact.batch, "
        "figure_ml.redact.audit, figure_ml.redact.__main__; "
        "bad = sorted(m for m in sys.modules if m.startswith(('figure_ml.eval', 'torch', "
        "'ultralytics', 'figure_ml.export', 'figure_ml.train'))); print(bad)"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.strip() == "[]", r.stdout
