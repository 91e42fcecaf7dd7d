"""A test-only callback: which training samples each rank saw, per epoch (<out_dir>/seen_rank<r>.json)."""

from __future__ import annotations

import json
from pathlib import Path

import pytorch_lightning as pl


class SeenSamples(pl.Callback):
    def __init__(self, out_dir: str):
        self.out_dir = Path(out_dir)
        self.seen: dict[int, list[int]] = {}

    def on_train_batch_start(self, trainer: pl.Trainer, pl_module, batch, batch_idx: int) -> None:
        self.seen.setdefault(trainer.current_epoch, []).extend(int(i) for i in batch["index"])

    def on_train_end(self, trainer: pl.Trainer, pl_module) -> None:
        self.out_dir.mkdir(parents=True, exist_ok=True)
        (self.out_dir / f"seen_rank{trainer.global_rank}.json").write_text(json.dumps(self.seen))
