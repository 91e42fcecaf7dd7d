"""Score a checkpoint on a split and mask set, run the colorization protocol (EII Table 3), or export the
mask set as PNG files."""

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
from lightning_modules.base import TEST_METRICS, load_inpainting_module
from lightning_modules.colorization_protocol import ColorizationProtocol
from suite import runtime
from suite.train import build_trainer, record_results, result_fields
from utils.atomic import write_text
from utils.loggers import finish_loggers
from utils.pretrained import MissingWeightsError

log = logging.getLogger(__name__)


def export_mask_set(
    dataset: InpaintingDataset, out_dir: Path, meta: dict[str, Any], num_workers: int = 0
) -> int:
    """masks/{index:06d}.png (white = hole) + meta.json: a versioned, shareable evaluation mask set, paired
    with images by index (image names need not be unique across a split's folders)."""
    loader = DataLoader(dataset, batch_size=None, num_workers=num_workers)
    for sample in loader:
        save_png(sample["mask"], out_dir / f"{sample['index']:06d}.png")
    write_text(
        out_dir / "meta.json",
        json.dumps(
            {**meta, "count": len(dataset), "polarity": "white_is_hole", "pairing": "by_order"}, indent=2
        ),
    )
    return len(dataset)


def training_choices(ckpt_path: str) -> dict[str, str]:
    """The config-group choices of the run that wrote <run>/checkpoints/<file>.ckpt, if it is still there."""
    hydra_file = Path(ckpt_path).resolve().parents[1] / ".hydra" / "hydra.yaml"
    if not hydra_file.is_file():
        return {}
    return {k: str(v) for k, v in OmegaConf.load(hydra_file).hydra.runtime.choices.items() if v is not None}


def unavailable_results(metrics: list[str], reason: str) -> dict[str, Any]:
    """Results of a method that could not run (e.g. missing weights): every metric n/a with the reason."""
    return {
        "overall": {**dict.fromkeys(metrics), "count": 0},
        "buckets": {},
        "unavailable": dict.fromkeys(metrics, reason),
    }


def missing_release(cfg: DictConfig) -> str | None:
    """Why a job of a released-model sweep (sweeps/experiment/*_releases.yaml: `releases`, `release_name`,
    `method`) has no model to score, or None when it has one."""
    if "releases" not in cfg:
        return None
    if cfg.release_name is None:
        return f"{cfg.method}: no public release for {runtime.choices().get('data')}"
    if not Path(cfg.ckpt_path).is_file():
        dataset = cfg.release_name.removeprefix(f"{cfg.method}_")
        return (
            f"{cfg.release_name} is not converted ({cfg.ckpt_path}): python import_release.py release={cfg.method} "
            f"release.dataset={dataset} release.dir=<the downloaded folder>"
        )
    return None


def evaluate(cfg: DictConfig) -> dict[str, Any] | None:
    runtime.configure_wandb(cfg)
    # The split is scored whole (or up to data.test_limit): val_limit only shortens validation in training.
    datamodule = instantiate(
        cfg.data,
        train_masks=None,
        eval_masks=instantiate(cfg.mask.eval),
        test_split=cfg.split,
        val_limit=cfg.data.test_limit,
        evaluation_only=True,
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
    fields = result_fields(cfg, cfg.split, cfg.ckpt_path)
    if cfg.mode == "colorization":
        fields["method"] = runtime.choices().get("colorizer", "")
        try:
            model = ColorizationProtocol(cfg.colorizer, test_metrics=cfg.colorization_metrics)
        except MissingWeightsError as err:
            log.error("%s: skipped. %s", fields["method"], err)
            write_results(
                runtime.output_dir(), unavailable_results(cfg.colorization_metrics, err.reason), **fields
            )
            return None
    elif cfg.mode == "inpainting":
        missing = missing_release(cfg)
        if missing is not None:
            log.warning("%s: n/a", missing)
            fields["method"] = cfg.method
            write_results(runtime.output_dir(), unavailable_results(list(TEST_METRICS), missing), **fields)
            return None
        if cfg.ckpt_path is None:
            raise ValueError("evaluate.py needs ckpt_path=<run>/checkpoints/last.ckpt (or mode=colorization)")
        model = load_inpainting_module(cfg.ckpt_path, **(cfg.model_overrides or {}))
        model.use_colorization(cfg.colorization, recolor=cfg.recolor)
        # a model built outside a training run (a joined checkpoint, a converted release) names its method
        label = getattr(model, "method", None) or (model.release or {}).get("method") or type(model).__name__
        fields["method"] = training_choices(cfg.ckpt_path).get("model", label)
        if model.release:
            fields["release"] = model.release["name"]
    else:
        raise ValueError(f"mode must be inpainting or colorization, got {cfg.mode!r}")
    trainer, loggers = build_trainer(cfg)
    try:
        trainer.test(model, datamodule=datamodule)
        results = model.test_results
        record_results(trainer, runtime.output_dir(), results, fields)
        return results
    finally:
        finish_loggers(loggers)
