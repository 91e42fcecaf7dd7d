"""A test-only callback: at one step, say so in a file and wait until SLURM's warning signal has arrived.

Tiny jobs finish in a second or two; this makes "signalled part-way" deterministic under any load.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytorch_lightning as pl

from callbacks.slurm_requeue import SlurmRequeue


class PauseUntilSignalled(pl.Callback):
    def __init__(self, step: int, ready_file: str, timeout: float = 300.0):
        self.step, self.ready_file, self.timeout = step, Path(ready_file), timeout

    def on_train_batch_end(self, trainer: pl.Trainer, *args) -> None:
        if trainer.global_step != self.step:  # the resumed start is past it
            return
        requeue = next(c for c in trainer.callbacks if isinstance(c, SlurmRequeue))
        self.ready_file.touch()
        deadline = time.monotonic() + self.timeout
        while not requeue.requested and time.monotonic() < deadline:
            time.sleep(0.1)
