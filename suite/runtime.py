"""What every entry point shares: instantiation of callbacks / loggers, W&B mode, the run's choices and folder."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from hydra.core.hydra_config import HydraConfig
from hydra.utils import instantiate
from omegaconf import DictConfig

from utils.wandb_credentials import wandb_has_credentials

log = logging.getLogger(__name__)


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


def configure_wandb(cfg: DictConfig) -> None:
    """Offline when there is no key (wandb would raise otherwise); `wandb sync` uploads such runs later."""
    if wandb_requested(cfg) and "WANDB_MODE" not in os.environ and not wandb_has_credentials():
        log.warning(
            "No W&B credentials found: logging offline (upload later with `wandb sync <run>/wandb/`)."
        )
        os.environ["WANDB_MODE"] = "offline"


def choices() -> dict[str, str]:
    """The config-group choices of this run (model, data, mask, ...), for result files and reports."""
    if not HydraConfig.initialized():
        return {}
    return {key: str(value) for key, value in HydraConfig.get().runtime.choices.items() if value is not None}


def output_dir() -> Path:
    return Path(HydraConfig.get().runtime.output_dir)
