"""The OmegaConf resolvers the configs use, registered by `register_resolvers()`, which every entry point
(train.py, evaluate.py, predict.py, tests that compose configs) calls before Hydra reads a config."""

from __future__ import annotations

import hashlib
import os
import secrets
from pathlib import Path

from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import OmegaConf

REPO_ROOT = Path(__file__).resolve().parents[1]


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


def gpus_per_node(accelerator: str, devices: int) -> int:
    """SLURM GPUs per node from the trainer: its devices on GPU trainers, none on CPU ones."""
    return devices if accelerator in ("gpu", "cuda") else 0


def run_dir_id(run_dir: str) -> str:
    """W&B run id from the run directory: a requeued job (same directory) continues the same W&B run, and
    every DDP rank agrees on it without talking to the others."""
    return hashlib.sha1(str(Path(run_dir).resolve()).encode()).hexdigest()[:16]


def if_rank_zero(value: str, otherwise: str | None = None) -> str | None:
    """`value` on rank zero, `otherwise` on the others: rank zero alone writes the run directory's Hydra files
    and log (conf/hydra/default.yaml), as SLURM starts every DDP rank as the same Hydra job."""
    return value if process_rank() == 0 else otherwise


def register_resolvers() -> None:
    """Register the configs' resolvers (idempotent) and point SUITE_ROOT (conf/paths) at the repository."""
    os.environ.setdefault("SUITE_ROOT", str(REPO_ROOT))
    # `${run_uid:}` makes run directories unique when many jobs start in the same second (timestamps alone
    # collide); cached so that every reference inside one process sees the same value.
    OmegaConf.register_new_resolver("run_uid", lambda: secrets.token_hex(3), use_cache=True, replace=True)
    for resolver in (gpus_per_node, run_dir_id, sweep_group, if_rank_zero):
        OmegaConf.register_new_resolver(resolver.__name__, resolver, replace=True)
