"""GatedConv (DeepFill v2) training speed at 256²: full Lightning training steps (D then G) per second.

    python benchmarks/gatedconv_training.py                          # CPU, default width, batch 4
    python benchmarks/gatedconv_training.py --device gpu --precision bf16-mixed --batch-size 16

Batches come from memory, so the figure is the model's speed alone; compare it with
benchmarks/data_loading.py (images/s = batches/s × batch size).
"""

from __future__ import annotations

import argparse
import time

import pytorch_lightning as pl
import torch
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate
from torch.utils.data import DataLoader, Dataset

from suite.runtime import REPO_ROOT


class RepeatedBatch(Dataset):
    def __init__(self, size: int, length: int):
        generator = torch.Generator().manual_seed(0)
        self.image = torch.rand(3, size, size, generator=generator)
        self.mask = torch.zeros(1, size, size)
        self.mask[:, size // 4 : 3 * size // 4, size // 4 : 3 * size // 4] = 1
        self.length = length

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> dict:
        return {"image": self.image, "mask": self.mask}


class Timer(pl.Callback):
    def __init__(self, warmup: int):
        self.warmup, self.times = warmup, []

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        if trainer.strategy.root_device.type == "cuda":
            torch.cuda.synchronize()
        self.times.append(time.perf_counter())


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--cnum", type=int, default=48, help="generator width (48: the paper's 4.05M)")
    parser.add_argument("--batches", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--device", default="cpu", choices=["cpu", "gpu"])
    parser.add_argument("--precision", default="32-true")
    args = parser.parse_args()

    with initialize_config_dir(config_dir=str(REPO_ROOT / "conf"), version_base="1.3"):
        cfg = compose("train", overrides=["model=gatedconv", f"model.generator.cnum={args.cnum}"])
    model = instantiate(cfg.model)
    timer = Timer(args.warmup)
    total = args.warmup + args.batches
    trainer = pl.Trainer(
        accelerator=args.device,
        devices=1,
        precision=args.precision,
        max_steps=2 * total,  # G and D each count a step
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        limit_val_batches=0,
        callbacks=[timer],
    )
    loader = DataLoader(RepeatedBatch(args.size, total * args.batch_size), batch_size=args.batch_size)
    trainer.fit(model, loader)
    elapsed = timer.times[-1] - timer.times[args.warmup - 1]
    rate = args.batches / elapsed
    print(
        f"GatedConv cnum={args.cnum} {args.size}² batch {args.batch_size} on {args.device} ({args.precision}): "
        f"{rate:.3f} steps/s, {rate * args.batch_size:.1f} images/s, {1000 / rate:.0f} ms/step"
    )


if __name__ == "__main__":
    main()
