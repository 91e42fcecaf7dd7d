"""A test-only callback: at one step, say so in a file and wait until SLURM's warning signal has arrived
and the test has released the job.

Tiny jobs finish in a second or two; this makes "signalled part-way" deterministic under any load. The
release (a second file, written once `scancel --signal` has returned) keeps a job from requeueing while
scancel may still be talking to the controller: in one run under load, a requeue 0.2 s after the signal
was followed by a second kill request in the controller's log, and SLURM 22.05 never finished requeueing
the job. On a cluster the controller sends the warning signal itself.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytorch_lightning as pl

from callbacks.slurm_requeue import SlurmRequeue


class PauseUntilSignalled(pl.Callback):
    def __init__(self, step: int, ready_file: str, release_file: str, timeout: float = 300.0):
        self.step, self.timeout = step, timeout
        self.ready_file, self.release_file = Path(ready_file), Path(release_file)

    def on_train_batch_end(self, trainer: pl.Trainer, *args) -> None:
        if trainer.global_step != self.step:  # the resumed start is past it
            return
        requeue = next(c for c in trainer.callbacks if isinstance(c, SlurmRequeue))
        self.ready_file.touch()
        deadline = time.monotonic() + self.timeout
        while not (requeue.requested and self.release_file.exists()) and time.monotonic() < deadline:
            time.sleep(0.1)
