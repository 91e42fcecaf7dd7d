"""What every entry point shares: config resolvers, instantiation of callbacks / loggers, W&B mode."""

from __future__ import annotations

import hashlib
import logging
import os
import secrets
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

log = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("SUITE_ROOT", str(REPO_ROOT))

# `${run_uid:}` makes run directories unique when many jobs start in the same second (timestamps alone
# collide); cached so that every reference inside one process sees the same value.
OmegaConf.register_new_resolver("run_uid", lambda: secrets.token_hex(3), use_cache=True, replace=True)
# SLURM GPUs per node from the trainer: its devices on GPU trainers, none on CPU ones.
OmegaConf.register_new_resolver(
    "gpus_per_node",
    lambda accelerator, devices: devices if accelerator in ("gpu", "cuda") else 0,
    replace=True,
)

# W&B run id from the run directory: a requeued job (same directory) continues the same W&B run, and
# every DDP rank agrees on it without talking to the others.
OmegaConf.register_new_resolver(
    "run_dir_id",
    lambda run_dir: hashlib.sha1(str(Path(run_dir).resolve()).encode()).hexdigest()[:16],
    replace=True,
)


def process_rank() -> int:
    """The global rank of this process as its launcher announces it (torchrun, SLURM, Lightning's children)."""
    for variable in ("RANK", "SLURM_PROCID", "LOCAL_RANK"):
        if os.environ.get(variable, "").isdigit():
            return int(os.environ[variable])
    return 0


def sweep_group(task: str) -> str:
    """W&B's group: one per sweep (<task>/<sweep folder>); a single run is in its task's group."""
    if not HydraConfig.initialized():
        return task
    hydra_cfg = HydraConfig.get()
    if hydra_cfg.mode == RunMode.MULTIRUN:
        return f"{task}/{Path(hydra_cfg.sweep.dir).name}"
    return task


OmegaConf.register_new_resolver("sweep_group", sweep_group, replace=True)
# Rank zero alone writes the run directory's Hydra files and log (conf/hydra/default.yaml): SLURM starts
# every DDP rank as the same Hydra job.
OmegaConf.register_new_resolver(
    "if_rank_zero", lambda value, otherwise=None: value if process_rank() == 0 else otherwise, replace=True
)


def instantiate_list(cfg: DictConfig | None) -> list[Any]:
    """Instantiate every `_target_` entry of a group like callbacks / logger (entries may be null)."""
    if not cfg:
        return []
    return [instantiate(entry) for entry in cfg.values() if entry is not None and "_target_" in entry]


def wandb_requested(cfg: DictConfig) -> bool:
    return any(
        entry is not None and str(entry.get("_target_", "")).endswith("WandbLogger")
        for entry in (cfg.get("logger") or {}).values()
    )


def wandb_has_credentials() -> bool:
    if os.environ.get("WANDB_API_KEY"):
        return True
    netrc = Path(os.environ.get("NETRC", Path.home() / ".netrc"))
    return netrc.is_file() and "api.wandb.ai" in netrc.read_text(errors="ignore")


def configure_wandb(cfg: DictConfig) -> None:
    """Offline when there is no key (wandb would raise otherwise); `wandb sync` uploads such runs later."""
    if wandb_requested(cfg) and "WANDB_MODE" not in os.environ and not wandb_has_credentials():
        log.warning(
            "No W&B credentials found: logging offline (upload later with `wandb sync <run>/wandb/`)."
        )
        os.environ["WANDB_MODE"] = "offline"


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


def choices() -> dict[str, str]:
    """The config-group choices of this run (model, data, mask, ...), for result files and reports."""
    if not HydraConfig.initialized():
        return {}
    return {key: str(value) for key, value in HydraConfig.get().runtime.choices.items() if value is not None}


def output_dir() -> Path:
    return Path(HydraConfig.get().runtime.output_dir)
