"""Shared by the overfit tests: training on one repeated batch, and the PSNR of a batch's holes."""

from __future__ import annotations

import pytorch_lightning as pl
import torch

from benchmarks.training_speed import bare_trainer
from datamodules.repeated_batch import repeated_batch_loader
from lightning_modules.base import InpaintingModule


def hole_psnr(model: InpaintingModule, image: torch.Tensor, mask: torch.Tensor) -> float:
    """PSNR (data range 1) over the missing pixels of the whole batch, on the composite `inpaint` returns."""
    result = model.inpaint(image, mask)
    mse = ((result - image) ** 2 * mask).sum() / (mask.sum() * image.shape[1])
    return float(10 * torch.log10(1 / mse))


def bottleneck_hole_psnr(model: InpaintingModule, image: torch.Tensor, mask: torch.Tensor) -> float:
    """PSNR over the holes in the bottleneck's own space: RGB, or for mono the gray the network predicts,
    before the per-image colorization (not what training fits). Evaluated in eval mode, so that spectral
    norm's power iteration does not move."""
    training = model.training
    model.eval()
    target = model.bottleneck.target(image)
    result = model.predict_output(image, mask) * mask + target * (1 - mask)
    model.train(training)
    mse = ((result - target) ** 2 * mask).sum() / (mask.sum() * target.shape[1])
    return float(10 * torch.log10(1 / mse))


def fit_repeated(model: pl.LightningModule, batch: dict, batches: int, **trainer_args) -> pl.Trainer:
    """Trains `model` on `batch` seen `batches` times, through its real training step in a bare CPU Trainer
    (no logger, checkpoints, progress bar or summary)."""
    trainer = bare_trainer(**trainer_args)
    trainer.fit(model, repeated_batch_loader(batch, batches))
    return trainer
