"""Validation image grids: masked input | output | composite | ground truth, one row per image.

Saved as PNG in the run directory and sent to every logger that takes images (W&B panels, TensorBoard).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch
from pytorch_lightning.loggers import TensorBoardLogger, WandbLogger
from pytorch_lightning.utilities import rank_zero_only
from torchvision.utils import make_grid

from datamodules.image_io import save_png

COLUMNS = ("masked input", "output", "composite", "ground truth")


def masked_input(image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """The image with its holes painted white, as inpainting papers show inputs."""
    return image * (1 - mask) + mask


def grid_rows(batch: dict[str, Any], outputs: dict[str, torch.Tensor], count: int) -> list[torch.Tensor]:
    image, mask = batch["image"][:count], batch["mask"][:count]
    output, result = outputs["output"][:count], outputs["composite"][:count]
    return [
        torch.cat([masked_input(i, m), o, c, i], dim=-1)
        for i, m, o, c in zip(image.float(), mask.float(), output.float(), result.float())
    ]


class ImageGrid(pl.Callback):
    def __init__(self, out_dir: str, num_images: int = 8):
        self.out_dir, self.num_images = Path(out_dir), num_images
        self.rows: list[torch.Tensor] = []

    def on_validation_epoch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.rows = []

    def on_validation_batch_end(
        self,
        trainer: pl.Trainer,
        pl_module: pl.LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
        dataloader_idx: int = 0,
    ) -> None:
        missing = self.num_images - len(self.rows)
        if missing > 0 and not trainer.sanity_checking:
            self.rows += [row.cpu() for row in grid_rows(batch, outputs, missing)]

    @rank_zero_only
    def on_validation_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if not self.rows:
            return
        grid = make_grid(torch.stack(self.rows), nrow=1, padding=2, pad_value=1.0)
        step = trainer.global_step
        save_png(grid, self.out_dir / f"val_step{step:08d}.png")
        caption = " | ".join(COLUMNS)
        for logger in trainer.loggers:
            if isinstance(logger, WandbLogger):
                logger.log_image(key="val/examples", images=[grid], step=step, caption=[caption])
            elif isinstance(logger, TensorBoardLogger):
                logger.experiment.add_image("val/examples", grid, global_step=step)
        self.rows = []
