"""Closing experiment loggers, from the entry points and from callbacks that end a job early."""

from __future__ import annotations

import logging
from typing import Any

import pytorch_lightning as pl

log = logging.getLogger(__name__)


def finish_loggers(loggers: list[Any]) -> None:
    """Close W&B runs so that each job of a local multirun is its own run.

    Called on the way out of failed and requeued jobs too, where W&B's service process may already be
    gone (SLURM signals every process of a job): a failure to close is logged, never raised over the
    exception that ended the job.
    """
    for logger in loggers:
        if isinstance(logger, pl.loggers.WandbLogger):
            try:
                logger.experiment.finish()
            except Exception as err:
                log.warning("Could not close the W&B run cleanly: %r", err)
