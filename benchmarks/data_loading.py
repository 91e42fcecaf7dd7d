"""Data-loading throughput: training samples per second out of the real DataModule (images + masks).

    python benchmarks/data_loading.py                       # synthetic textures and a JPEG folder, 256²
    python benchmarks/data_loading.py --root /data/places365 --dataset places2 --workers 8

Compare the figures with the model's images/s (benchmarks/gatedconv_training.py): loading must be faster.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate
from PIL import Image

from utils.resolvers import REPO_ROOT


def photo_folder(root: Path, count: int, size: tuple[int, int] = (512, 683)) -> Path:
    """JPEGs at a Places2-large-like size, so decoding and resizing cost what they cost on real data."""
    rng = np.random.default_rng(0)
    for i in range(count):
        base = rng.integers(0, 255, (size[0] // 8, size[1] // 8, 3), dtype=np.uint8)
        image = Image.fromarray(base).resize(size[::-1], Image.BICUBIC)
        image.save(root / f"{i:05d}.jpg", quality=90)
    return root


def throughput(overrides: list[str], batches: int) -> float:
    with initialize_config_dir(config_dir=str(REPO_ROOT / "conf"), version_base="1.3"):
        cfg = compose("train", overrides=["paths.output_dir=.", *overrides])
    datamodule = instantiate(cfg.data, train_masks=instantiate(cfg.mask.train), eval_masks=None)
    loader = datamodule.train_dataloader()
    iterator = iter(loader)
    next(iterator)  # workers started, first batch out
    start, seen = time.perf_counter(), 0
    for _ in range(batches):
        seen += len(next(iterator)["image"])
    return seen / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--batches", type=int, default=20)
    parser.add_argument("--workers", type=int, nargs="+", default=[0, 2])
    parser.add_argument("--mask", default="deepfill_v2")
    parser.add_argument(
        "--dataset", default=None, help="a data config (with --root) instead of the built-ins"
    )
    parser.add_argument("--root", default=None)
    args = parser.parse_args()

    common = [f"mask={args.mask}", f"data.batch_size={args.batch_size}"]
    with tempfile.TemporaryDirectory() as tmp:
        if args.dataset:
            cases = {args.dataset: [f"data={args.dataset}", f"data.source.root={args.root}"]}
        else:
            folder = photo_folder(
                Path(tmp), 2 * args.batch_size * (args.batches + 2)
            )  # the folder splits off a test set
            crop = f"[{{_target_: datamodules.transforms.RandomCrop, size: {args.size}}}]"
            cases = {
                f"synthetic {args.size}²": ["data=synthetic", f"data.source.size={args.size}"],
                f"JPEG folder 512×683 -> crop {args.size}²": [
                    "data=folder",
                    f"data.source.root={folder}",
                    f"data.train_transform.transforms={crop}",
                ],
            }
        print(f"mask={args.mask}, batch {args.batch_size}, {args.batches} batches")
        for name, overrides in cases.items():
            for workers in args.workers:
                rate = throughput([*common, *overrides, f"data.num_workers={workers}"], args.batches)
                print(f"{name:<38} workers={workers:<2} {rate:8.1f} images/s")


if __name__ == "__main__":
    main()
