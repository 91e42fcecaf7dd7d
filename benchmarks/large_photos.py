"""predict.py on one large photo: wall time and peak memory (/usr/bin/time -v) per checkpoint and strategy.

The photo is a procedural texture rendered at full size (crisp edges at every scale, like a sharp photo)
with one rectangular hole. Strategies (conf/predict.yaml): `crop` inpaints the hole region in a crop
around it (context 0.5, at most max_side px), `downscale` the whole photo at max_side (a context large
enough for the crop to be the photo). `detail bound` is the PSNR in the hole of the ground truth brought
to the network's working resolution and back: the best any network can do there at that resolution.

    python benchmarks/large_photos.py --checkpoints <gatedconv>.ckpt <deepgin>.ckpt <mono>.ckpt \
        [--size 6000x4000] [--hole 1500x1100] [--max-side 512] [-- colorization=fast]
"""

from __future__ import annotations

import argparse
import math
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from datamodules.datasets.synthetic import render_texture
from datamodules.seeding import rng_for
from lightning_modules.hole_crops import Box

REPO = Path(__file__).resolve().parents[1]
STRATEGIES = {"crop": "context=0.5", "downscale": "context=100"}


def make_photo(folder: Path, width: int, height: int, hole_w: int, hole_h: int) -> tuple[np.ndarray, Box]:
    folder.mkdir(parents=True, exist_ok=True)
    pixels = (render_texture(rng_for(7), height, width) * 255).round().astype(np.uint8)
    Image.fromarray(pixels).save(folder / "photo.jpg", quality=95)
    top, left = (height - hole_h) // 3, (width - hole_w) // 2
    hole = Box(top, left, top + hole_h, left + hole_w)
    mask = np.zeros((height, width), np.uint8)
    mask[hole.slices()] = 255
    Image.fromarray(mask).save(folder / "photo_mask.png")
    return np.asarray(Image.open(folder / "photo.jpg"), dtype=np.float32) / 255, hole


def detail_bound(photo: np.ndarray, hole: Box, scale: float) -> float:
    """PSNR in the hole of the photo resized by `scale` (box filter) and back (bilinear)."""
    image = torch.from_numpy(photo).permute(2, 0, 1)[None]
    size = tuple(max(1, round(s * scale)) for s in image.shape[-2:])
    back = F.interpolate(F.interpolate(image, size, mode="area"), image.shape[-2:], mode="bilinear")
    rows, cols = hole.slices()
    mse = float(((back - image)[..., rows, cols] ** 2).mean())
    return 10 * math.log10(1 / mse)


def working_scale(strategy: str, hole: Box, height: int, width: int, max_side: int) -> float:
    margin = max(max_side // 4, round(0.5 * max(hole.size))) if strategy == "crop" else max(height, width)
    crop = hole.grown(margin, max_side, height, width)
    return min(1.0, max_side / max(crop.size))


def run_predict(checkpoint: str, folder: Path, out: Path, overrides: list[str]) -> tuple[float, float, str]:
    """(wall seconds, peak resident GiB, status line) of predict.py under /usr/bin/time -v."""
    command = ["/usr/bin/time", "-v", sys.executable, str(REPO / "predict.py"), f"ckpt_path={checkpoint}"]
    command += [f"input_dir={folder}", f"hydra.run.dir={out}", *overrides]
    start = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, cwd=REPO)
    seconds = time.perf_counter() - start
    peak = re.search(r"Maximum resident set size \(kbytes\): (\d+)", result.stderr)
    status = "ok" if result.returncode == 0 else f"exit {result.returncode}: {result.stderr.strip()[-300:]}"
    return seconds, int(peak.group(1)) / 2**20 if peak else float("nan"), status


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoints", nargs="+", required=True)
    parser.add_argument("--size", default="6000x4000", help="photo width x height")
    parser.add_argument("--hole", default="1500x1100", help="hole width x height")
    parser.add_argument("--max-side", type=int, default=512)
    parser.add_argument("--strategies", nargs="+", default=list(STRATEGIES), choices=list(STRATEGIES))
    parser.add_argument("overrides", nargs="*", help="more predict.py overrides, e.g. colorization=fast")
    args = parser.parse_args()
    width, height = map(int, args.size.split("x"))
    hole_w, hole_h = map(int, args.hole.split("x"))
    with tempfile.TemporaryDirectory() as tmp:
        photo, hole = make_photo(Path(tmp) / "in", width, height, hole_w, hole_h)
        print(f"photo {width}×{height}, hole {hole_w}×{hole_h}, max_side {args.max_side}")
        print(
            "| checkpoint | strategy | working scale | detail bound (dB) | wall (s) | peak RSS (GiB) | status |"
        )
        print("|---|---|---:|---:|---:|---:|---|")
        for checkpoint in args.checkpoints:
            for strategy in args.strategies:
                scale = working_scale(strategy, hole, height, width, args.max_side)
                bound = detail_bound(photo, hole, scale)
                overrides = [f"max_side={args.max_side}", STRATEGIES[strategy], *args.overrides]
                out = Path(tmp) / f"{Path(checkpoint).parent.parent.name}_{strategy}"
                seconds, peak, status = run_predict(checkpoint, Path(tmp) / "in", out, overrides)
                print(
                    f"| {checkpoint} | {strategy} | {scale:.3f} | {bound:.2f} | {seconds:.1f} | {peak:.2f} "
                    f"| {status} |",
                    flush=True,
                )


if __name__ == "__main__":
    main()
