"""The internal colorization's progress on the progress bar: a batch of a mono model (or of the Table 3
protocol) fits its colorization networks inside one test step, minutes on CPU, while the bar's count sits
still. This shows the level, the iteration and the known-pixel loss beside it."""

from __future__ import annotations

from contextlib import ExitStack

import pytorch_lightning as pl
from pytorch_lightning.callbacks import TQDMProgressBar

from lightning_modules.colorization.progressive_colorization import progress_listener

BARS = {"test": "test_progress_bar", "predict": "predict_progress_bar", "validate": "val_progress_bar"}


class ColorizationProgress(pl.Callback):
    def __init__(self) -> None:
        self._listening = ExitStack()
        self._trainer: pl.Trainer | None = None

    def setup(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        self._trainer = trainer
        self._listening.enter_context(progress_listener(self.show))

    def teardown(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        self._listening.close()

    def show(self, line: str) -> None:
        trainer = self._trainer
        callback = trainer.progress_bar_callback if trainer is not None else None
        if not isinstance(callback, TQDMProgressBar):
            return
        stage = trainer.state.stage.value if trainer.state.stage is not None else ""
        try:
            bar = getattr(callback, BARS.get(stage, "val_progress_bar"))
        except TypeError:  # that bar is not shown (not started, or the bar disabled)
            return
        bar.set_postfix_str(line, refresh=True)
