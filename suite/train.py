"""Train a method, then score it on the test split (metrics.json / .csv / .md in the run directory)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from callbacks.example_writer import ExampleWriter
from evaluation.results import TEST_SETS_DIR, results_rows, write_results
from suite import ddp, runtime
from utils.loggers import finish_loggers

log = logging.getLogger(__name__)


def build_datamodule(cfg: DictConfig, train: bool = True) -> pl.LightningDataModule:
    """The data config with the mask set's generators (`mask` is its own group so sweeps can vary it)."""
    train_masks = instantiate(cfg.mask.train) if train else None
    return instantiate(cfg.data, train_masks=train_masks, eval_masks=instantiate(cfg.mask.eval))


def build_trainer(cfg: DictConfig) -> tuple[pl.Trainer, list[Any]]:
    loggers = runtime.instantiate_list(cfg.get("logger"))
    trainer = instantiate(
        cfg.trainer, callbacks=runtime.instantiate_list(cfg.get("callbacks")), logger=loggers
    )
    for logger in loggers:
        logger.log_hyperparams(OmegaConf.to_container(cfg, resolve=True))
    return trainer, loggers


def result_fields(cfg: DictConfig, split: str, checkpoint: str | None) -> dict[str, Any]:
    picked = runtime.choices()
    return {
        "method": picked.get("model", ""),
        "dataset": picked.get("data", ""),
        "mask": picked.get("mask", ""),
        "experiment": picked.get("experiment", ""),
        "split": split,
        "checkpoint": checkpoint,
        "seed": cfg.get("seed"),
    }


def test_and_write(
    trainer: pl.Trainer,
    model: pl.LightningModule,
    datamodule: pl.LightningDataModule,
    out_dir: Path,
    fields: dict,
) -> dict[str, Any]:
    """Test on the datamodule's test split; metrics files and examples go to `out_dir` (rank zero)."""
    for callback in trainer.callbacks:
        if isinstance(callback, ExampleWriter):
            callback.out_dir = out_dir / "examples"
    trainer.test(model, datamodule=datamodule)
    record_results(trainer, out_dir, model.test_results, fields)
    return model.test_results


def record_results(trainer: pl.Trainer, out_dir: Path, results: dict, fields: dict) -> None:
    """metrics.json / .csv / .md in `out_dir`, and the same table in W&B (rank zero)."""
    if not trainer.is_global_zero:
        return
    table = write_results(out_dir, results, **fields)
    log.info("Test metrics (%s):\n%s", out_dir, table)
    columns, rows = results_rows(results)
    for logger in trainer.loggers:
        if isinstance(logger, pl.loggers.WandbLogger):
            # one table per dataset scored, so the runs of a sweep line up in one W&B panel
            logger.log_table(key=f"{fields['split']}/results/{fields['dataset']}", columns=columns, data=rows)


def resume_checkpoint(cfg: DictConfig, run_dir: Path) -> str | None:
    """`ckpt_path` if given; else the newest checkpoint already in this run directory.

    A run directory holds checkpoints at start only when SLURM requeued the job (preemption, time limit,
    node failure) or when `hydra.run.dir` names an earlier run: it continues where it stopped.
    """
    if cfg.get("ckpt_path"):
        return str(cfg.ckpt_path)
    found = sorted((run_dir / "checkpoints").glob("*.ckpt"), key=lambda path: path.stat().st_mtime)
    if not found:
        return None
    log.info("Resuming from %s, the newest checkpoint of this run directory.", found[-1])
    return str(found[-1])


def train(cfg: DictConfig) -> dict[str, Any] | None:
    runtime.configure_wandb(cfg)
    pl.seed_everything(cfg.seed, workers=True)
    datamodule = build_datamodule(cfg)
    model = instantiate(cfg.model)
    trainer, loggers = build_trainer(cfg)
    if trainer.world_size > 1:
        ddp.children_rerun_this_job()
    try:
        trainer.fit(model, datamodule=datamodule, ckpt_path=resume_checkpoint(cfg, runtime.output_dir()))
        if not cfg.get("test", True):
            return None
        checkpoint = trainer.checkpoint_callback.last_model_path if trainer.checkpoint_callback else None
        fields = result_fields(cfg, "test", checkpoint)
        results = test_and_write(trainer, model, datamodule, runtime.output_dir(), fields)
        # Cross-dataset evaluation (EII Table 2): the same model on other datasets' test splits (or on
        # its own with other masks).
        eval_masks = instantiate(cfg.mask.eval)
        for name, data in (cfg.get("test_sets") or {}).items():
            if name == fields["dataset"]:
                continue  # the run's own test split, scored above
            # A test set may bring its own masks (`eval_masks`: a mask generator config), e.g. the
            # block-wise paper's centre holes beside its random ones.
            masks = {} if "eval_masks" in data else {"eval_masks": eval_masks}
            other = instantiate(data, train_masks=None, evaluation_only=True, **masks)
            test_and_write(
                trainer,
                model,
                other,
                runtime.output_dir() / TEST_SETS_DIR / name,
                {**fields, "dataset": name},
            )
        return results
    finally:
        finish_loggers(loggers)
