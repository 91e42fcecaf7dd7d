"""EII's progressive internal colorization: seconds per image for several presets on the same images, one
image at a time and in a batch of 8, and each preset's cost relative to the first.

Each image trains its own networks (EII §3.3.2), so this cost is paid per test image; the paper names
inference speed its major limitation (§5). A batch trains its images' networks together as grouped
convolutions (colorization_network.py). Images are procedural textures with a centered box hole.

    python benchmarks/colorization.py --device cuda          # paper, official_code, fast_paper; full length
    python benchmarks/colorization.py --device cpu --iterations-scale 0.004 --sizes 256x256
    python benchmarks/colorization.py --device cpu --iterations-scale 0.004 --sizes 512x640 --batch 4

On CPU a 512x640 image needs about 3 GiB for the paper's networks (float32), so a batch of 8 needs 24 GiB.

--iterations-scale runs that fraction of every level's iterations and extrapolates the time linearly to
the full schedule (the per-level setup is then counted 1/scale times: a slight overestimate).
"""

from __future__ import annotations

import argparse
import logging
import time

import torch
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate
from omegaconf import DictConfig

from datamodules.datasets.synthetic import SyntheticTextures
from lightning_modules.colorization.color_conversions import to_gray
from lightning_modules.colorization.colorizer import Colorizer
from lightning_modules.colorization.progressive_colorization import ProgressiveColorization
from utils.resolvers import REPO_ROOT

PRESETS = sorted(path.stem for path in (REPO_ROOT / "conf" / "colorization").glob("*.yaml"))


def scale_iterations(config: DictConfig, scale: float) -> float:
    """Scales every schedule of a colorization config (each height's) in place; returns the factor that
    restores the full count of its full-height schedule."""
    full = list(config.iterations)
    for schedule in (config, *(config.get("lower_pyramids") or {}).values()):
        schedule.iterations = [max(1, round(n * scale)) for n in schedule.iterations]
    if config.get("refine") and config.refine.iterations:  # fast_paper's full-resolution refinement
        config.refine.iterations = max(1, round(config.refine.iterations * scale))
    return sum(full) / sum(config.iterations)


def colorization(preset: str, scale: float, precision: str = "32") -> tuple[Colorizer, float]:
    """The preset (with its own height rule) with every level's iterations scaled, and the factor that
    restores the full count (1 for a preset that fits nothing, such as propagation_ensemble)."""
    with initialize_config_dir(str(REPO_ROOT / "conf" / "colorization"), version_base="1.3"):
        config = compose(preset)
    if "iterations" not in config:
        return instantiate(config), 1.0
    config.precision = precision
    extrapolation = scale_iterations(config, scale)
    return instantiate(config), extrapolation


def describe(model: Colorizer, extrapolation: float) -> str:
    if not isinstance(model, ProgressiveColorization):
        return f"{type(model).__name__}, no network fitted"
    return (
        f"{model.num_blocks} blocks, {model.channels} channels, fitted at {model.fit_scale:g}× the image's "
        f"side, pyramid height up to {model.pyramid_height}"
        + (
            f"; ran iterations {list(model.iterations)} per level, extrapolated ×{extrapolation:.1f}"
            if extrapolation != 1
            else ""
        )
    )


def seconds(model: Colorizer, batch: tuple[torch.Tensor, ...], device: torch.device) -> float:
    start = time.perf_counter()
    model.colorize(*batch)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument(
        "--presets",
        nargs="+",
        default=["paper", "official_code", "fast_paper"],
        choices=PRESETS,
        help="conf/colorization/ presets; the first is the one the others are compared with",
    )
    parser.add_argument("--precision", default="32", choices=("32", "bf16"))
    parser.add_argument("--iterations-scale", type=float, default=1.0)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--sizes", nargs="+", default=["256x256", "512x640"], help="HEIGHTxWIDTH ...")
    args = parser.parse_args()
    # each fit's level, iteration and known-pixel loss every 30 s (stderr): a paper fit takes minutes on CPU
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")

    device = torch.device(args.device)
    print(
        f"EII progressive colorization ({args.precision}) on {device}"
        + (f" ({torch.cuda.get_device_name(device)})" if device.type == "cuda" else "")
        + f", {torch.get_num_threads()} CPU threads, torch {torch.__version__}"
    )
    presets = {}
    for preset in args.presets:
        model, extrapolation = colorization(preset, args.iterations_scale, args.precision)
        # one iteration per level; a preset that fits nothing has nothing to warm up
        warmup = (
            colorization(preset, 0, args.precision)[0] if isinstance(model, ProgressiveColorization) else None
        )
        presets[preset] = model, extrapolation, warmup
        print(f"  {preset}: {describe(model, extrapolation)}")
    for height, width in (map(int, size.split("x")) for size in args.sizes):
        textures = SyntheticTextures(size=(height, width)).split("test")
        images = torch.stack([textures.load(n) for n in range(args.batch)]).to(device)
        mask = torch.zeros(args.batch, 1, height, width, device=device)
        mask[..., height // 4 : 3 * height // 4, width // 4 : 3 * width // 4] = 1
        gray = to_gray(images)
        one, all_ = (gray[:1], images[:1], mask[:1]), (gray, images, mask)
        print(
            f"\n{height}x{width} | s/image one at a time | s/image in a batch of {args.batch} | vs {args.presets[0]} "
            "| pyramid"
        )
        reference = None
        for preset, (model, extrapolation, warmup) in presets.items():
            for batch in (one, all_) if warmup else ():  # kernel selection, allocator, lazy initialization
                seconds(warmup, batch, device)
            single = seconds(model, one, device) * extrapolation
            if device.type == "cuda":
                torch.cuda.reset_peak_memory_stats(device)
            batched = seconds(model, all_, device) * extrapolation / args.batch
            memory = (
                f", peak {torch.cuda.max_memory_allocated(device) / 2**30:.1f} GiB"
                if device.type == "cuda"
                else ""
            )
            reference = reference or single
            levels = (
                f"height {model.height_for(*(max(1, round(side * model.fit_scale)) for side in (height, width)))}"
                if isinstance(model, ProgressiveColorization)
                else "none"
            )
            print(
                f"{preset:>20} | {single:8.1f} | {batched:8.1f} (×{single / batched:.2f}{memory}) | "
                f"1/{reference / single:.1f} | {levels}"
            )


if __name__ == "__main__":
    main()
