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


def test_epoch_log_shows_the_replanned_total_of_a_time_boxed_run(caplog):
    # trainer.time makes ultralytics re-plan the epoch count after each epoch: the log line
    # follows it ("epoch 10/14"), not the config's epochs (8), which read "epoch 10/8"
    from figure_ml.train.metrics import EpochLogger
    from figure_ml.yolo import EpochReport

    logged = []
    tracker = SimpleNamespace(log_metrics=lambda m, step=None: logged.append(step))
    log = EpochLogger(tracker, total=8)
    with caplog.at_level("INFO", logger="figure_ml.train.metrics"):
        log(EpochReport(10, {"val/mAP50": 0.8}, train_seconds=1.0, train_images=4, epochs=14))
        log(EpochReport(11, {"val/mAP50": 0.8}, train_seconds=1.0, train_images=4))
    assert "epoch 10/14 (1 s)" in caplog.text and "epoch 11/8 (1 s)" in caplog.text
    assert logged == [10, 11]
