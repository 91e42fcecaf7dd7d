"""Score a checkpoint on a split and mask set, or export that mask set as PNG files."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf
from torch.utils.data import DataLoader

from datamodules.image_io import save_png
from datamodules.inpainting_dataset import InpaintingDataset
from evaluation.results import write_results
from lightning_modules.base import load_inpainting_module
from suite import runtime
from suite.atomic import write_text
from suite.train import build_trainer, result_fields

log = logging.getLogger(__name__)


def export_mask_set(
    dataset: InpaintingDataset, out_dir: Path, meta: dict[str, Any], num_workers: int = 0
) -> int:
    """masks/{index:06d}.png (white = hole) + meta.json: a versioned, shareable evaluation mask set."""
    loader = DataLoader(dataset, batch_size=None, num_workers=num_workers)
    for sample in loader:
        save_png(sample["mask"], out_dir / f"{sample['index']:06d}.png")
    write_text(
        out_dir / "meta.json",
        json.dumps({**meta, "count": len(dataset), "polarity": "white_is_hole"}, indent=2),
    )
    return len(dataset)


def training_choices(ckpt_path: str) -> dict[str, str]:
    """The config-group choices of the run that wrote <run>/checkpoints/<file>.ckpt, if it is still there."""
    hydra_file = Path(ckpt_path).resolve().parents[1] / ".hydra" / "hydra.yaml"
    if not hydra_file.is_file():
        return {}
    return {k: str(v) for k, v in OmegaConf.load(hydra_file).hydra.runtime.choices.items() if v is not None}


def evaluate(cfg: DictConfig) -> dict[str, Any] | None:
    runtime.configure_wandb(cfg)
    # The split is scored whole (or up to data.test_limit): val_limit only shortens validation in training.
    datamodule = instantiate(
        cfg.data,
        train_masks=None,
        eval_masks=instantiate(cfg.mask.eval),
        test_split=cfg.split,
        val_limit=cfg.data.test_limit,
    )
    if cfg.export_masks:
        out_dir = runtime.output_dir() / "masks"
        meta = {
            "mask": OmegaConf.to_container(cfg.mask.eval, resolve=True),
            "eval_seed": cfg.data.eval_seed,
            "split": cfg.split,
        }
        count = export_mask_set(datamodule.dataset(cfg.split), out_dir, meta, datamodule.num_workers)
        log.info(
            "Wrote %d masks to %s (read back with mask=folder mask.eval.root=%s)",
            count,
            out_dir,
            out_dir,
        )
        return None
    model = load_inpainting_module(cfg.ckpt_path)
    trainer, loggers = build_trainer(cfg)
    try:
        trainer.test(model, datamodule=datamodule)
        results = model.test_results
        if trainer.is_global_zero:
            fields = result_fields(cfg, cfg.split, str(cfg.ckpt_path))
            fields["method"] = training_choices(cfg.ckpt_path).get("model", type(model).__name__)
            table = write_results(runtime.output_dir(), results, **fields)
            log.info("Metrics (%s):\n%s", runtime.output_dir(), table)
        return results
    finally:
        runtime.finish_loggers(loggers)
