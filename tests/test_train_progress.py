"""Training shows a per-batch progress bar (rate and ETA) through ultralytics' callbacks."""

from types import SimpleNamespace

import torch

from figure_ml.yolo.training import _EpochHooks


class _Model:
    def __init__(self):
        self.callbacks = {}

    def add_callback(self, event, fn):
        self.callbacks.setdefault(event, []).append(fn)


def test_epoch_bar_counts_batches_and_shows_loss(capsys):
    hooks = _EpochHooks(on_epoch=None, interrupt_after_epochs=None)
    model = _Model()
    hooks.attach(model)
    assert {"on_train_epoch_start", "on_train_batch_end", "on_train_epoch_end"} <= set(
        model.callbacks
    )
    trainer = SimpleNamespace(
        epoch=1, epochs=6, train_loader=[0] * 5, tloss=torch.tensor([0.5, 0.25])
    )
    hooks.train_epoch_start(trainer)
    bar = hooks._bar
    assert bar.total == 5 and bar.desc.startswith("epoch 2/6")
    for _ in range(3):
        hooks.train_batch_end(trainer)
    assert bar.n == 3 and bar.postfix == "loss=0.750"
    hooks.train_epoch_end(trainer)
    assert hooks._bar is None  # closed at the end of the epoch
    err = capsys.readouterr().err
    assert "epoch 2/6" in err and "batch" in err  # rate unit shown on the console
