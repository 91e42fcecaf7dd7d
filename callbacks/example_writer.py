"""Test examples for reports: the same indices in every run, so report.py can compare runs side by side."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytorch_lightning as pl

from callbacks.image_grid import masked_input
from datamodules.image_io import save_png


class ExampleWriter(pl.Callback):
    """Writes examples/{index:06d}_{masked,composite,target}.png for test indices below `num_examples`."""

    def __init__(self, out_dir: str, num_examples: int = 8):
        self.out_dir, self.num_examples = Path(out_dir), num_examples

    def on_test_batch_end(
        self,
        trainer: pl.Trainer,
        pl_module: pl.LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
        dataloader_idx: int = 0,
    ) -> None:
        for row, index in enumerate(batch["index"].tolist()):
            if index >= self.num_examples:
                continue
            image, mask = batch["image"][row], batch["mask"][row]
            stem = self.out_dir / f"{index:06d}"
            save_png(masked_input(image, mask), f"{stem}_masked.png")
            save_png(outputs["composite"][row], f"{stem}_composite.png")
            save_png(image, f"{stem}_target.png")
