"""Preemption and time limits on SLURM: checkpoint at a batch boundary, requeue the job, resume there.

SLURM warns a job with SIGUSR1 before it stops it (hydra/launcher=slurm asks for that signal). Lightning's
own handler saves the checkpoint inside the signal handler, which can land between the generator's and the
discriminator's update of one GAN step; here the handler only raises a flag, every rank agrees on it at the
end of the batch, and the checkpoint holds whole steps. The requeued job re-runs the same Hydra job in the
same run directory, and train.py resumes from the newest checkpoint there (suite/train.py).
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
from pytorch_lightning.plugins.environments import SLURMEnvironment

from utils.loggers import finish_loggers

log = logging.getLogger(__name__)

CHECKPOINT_NAME = "requeue.ckpt"


class Requeued(SystemExit):
    """Ends the process after a requeue: no results are written, SLURM restarts the job."""


class SlurmRequeue(pl.Callback):
    def __init__(self, dirpath: str | os.PathLike, signum: str = "SIGUSR1"):
        self.path = Path(dirpath) / CHECKPOINT_NAME
        self.signum = signal.Signals[signum]
        self.requested = False
        self._armed = False
        self._previous: Any = None

    def setup(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        # Installed before Lightning's signal connector runs, which then leaves this signal to us.
        if stage == "fit" and SLURMEnvironment.detect():
            self._previous = signal.signal(self.signum, self._request)
            self._armed = True

    def teardown(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        # after training, e.g. while testing, Lightning's own handler takes the signal again
        if self._armed:
            # None: the previous handler was not set from Python; the default action is the closest
            signal.signal(self.signum, self._previous if self._previous is not None else signal.SIG_DFL)
            self._armed = False

    def _request(self, signum: int, frame: Any) -> None:
        log.warning(
            "Received %s: checkpointing after this batch, then requeueing.", signal.Signals(signum).name
        )
        self.requested = True

    def on_train_batch_end(self, trainer: pl.Trainer, *args: Any) -> None:
        if not self._armed or not trainer.strategy.reduce_boolean_decision(self.requested, all=False):
            return
        trainer.save_checkpoint(self.path)
        # Close the W&B run now: `scontrol requeue` makes SLURM signal every process of the job, W&B's
        # service included. The restarted job continues the same run (conf/logger/wandb.yaml: id, resume).
        finish_loggers(trainer.loggers)
        job = os.environ["SLURM_JOB_ID"]
        if "SLURM_ARRAY_JOB_ID" in os.environ:
            job = f"{os.environ['SLURM_ARRAY_JOB_ID']}_{os.environ['SLURM_ARRAY_TASK_ID']}"
        error = None
        if trainer.is_global_zero:
            # The requeue makes SLURM send SIGTERM to every process of the job, this scontrol included,
            # often before it has exited: it ignores SIGTERM (an ignored signal survives exec), so that
            # its exit status says whether the requeue was accepted.
            command = ["sh", "-c", 'trap "" TERM; exec scontrol requeue "$0"', job]
            result = subprocess.run(command, capture_output=True, text=True)
            if result.returncode:
                error = result.stderr.strip() or f"exit status {result.returncode}"
        error = trainer.strategy.broadcast(error, src=0)
        if error is not None:
            raise RuntimeError(
                f"SLURM did not requeue job {job} ({error}). {self.path} holds step {trainer.global_step}: "
                f"submit the job again with hydra.run.dir={self.path.parent.parent} to continue from it."
            )
        log.warning("Saved %s at step %d and requeued SLURM job %s.", self.path, trainer.global_step, job)
        raise Requeued(0)
