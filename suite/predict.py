"""Inpaint a folder of the user's own images at their original sizes.

Every image needs a mask: <mask_dir>/<stem>.<ext>, or <input_dir>/<stem><mask_suffix>.<ext> beside it.
A bad input (unreadable file, missing mask, mask of another size) is reported with its reason and the
rest are still processed; the return value says how many failed.
"""

from __future__ import annotations

import logging
from pathlib import Path

import torch
import torch.nn.functional as F
from omegaconf import DictConfig

from datamodules.image_io import ImageReadError, is_image_file, read_image, read_mask, save_png
from lightning_modules.base import InpaintingModule, load_inpainting_module
from suite.atomic import write_text

log = logging.getLogger(__name__)


def find_inputs(input_dir: Path, mask_dir: Path | None, mask_suffix: str) -> list[tuple[Path, Path | None]]:
    """(image, mask or None) pairs; files named <stem><mask_suffix>.* are masks, not inputs."""
    if not input_dir.is_dir():
        raise FileNotFoundError(f"input_dir not found: {input_dir} (a folder of images to inpaint)")
    if mask_dir is not None and not mask_dir.is_dir():
        raise FileNotFoundError(f"mask_dir not found: {mask_dir} (a folder of masks named like the images)")
    files = sorted(p for p in input_dir.iterdir() if p.is_file() and is_image_file(p))
    images = [p for p in files if not (mask_suffix and p.stem.endswith(mask_suffix))]
    by_stem: dict[str, Path] = {}
    for candidate in sorted(mask_dir.iterdir()) if mask_dir else files:
        if is_image_file(candidate):
            stem = candidate.stem if mask_dir else candidate.stem.removesuffix(mask_suffix)
            if mask_dir or candidate.stem.endswith(mask_suffix):
                by_stem.setdefault(stem, candidate)
    return [(image, by_stem.get(image.stem)) for image in images]


def load_pair(
    image_path: Path, mask_path: Path | None, polarity: str, resize_masks: bool
) -> tuple[torch.Tensor, ...]:
    image = read_image(image_path)
    if mask_path is None:
        raise ImageReadError(
            image_path, "no mask found", "Add <stem>_mask.png beside it or pass mask_dir=<folder>."
        )
    size = tuple(image.shape[-2:])
    mask = read_mask(mask_path, size=None if resize_masks else size, polarity=polarity)
    if resize_masks and tuple(mask.shape[-2:]) != size:
        mask = F.interpolate(mask[None], size=size, mode="nearest")[0]
    return image, mask


def predict_folder(model: InpaintingModule, cfg: DictConfig, device: torch.device) -> dict[str, str]:
    """Writes <output_dir>/<stem>.png per good input; returns {input path: reason} for the bad ones."""
    output_dir = Path(cfg.output_dir)
    mask_dir = Path(cfg.mask_dir) if cfg.mask_dir else None
    failures: dict[str, str] = {}
    for image_path, mask_path in find_inputs(Path(cfg.input_dir), mask_dir, cfg.mask_suffix):
        try:
            image, mask = load_pair(image_path, mask_path, cfg.mask_polarity, cfg.resize_masks)
        except ImageReadError as err:
            failures[str(image_path)] = f"{err.reason} ({err.path}). {err.fix}"
            log.error("skipped %s: %s", image_path, failures[str(image_path)])
            continue
        result = model.inpaint(image[None].to(device), mask[None].to(device))[0]
        save_png(result, output_dir / f"{image_path.stem}.png")
        log.info(
            "inpainted %s (%d×%d, %.1f %% missing)",
            image_path.name,
            image.shape[2],
            image.shape[1],
            100 * mask.mean().item(),
        )
    report = "".join(f"{path}\t{reason}\n" for path, reason in failures.items())
    write_text(output_dir / "failures.tsv", report)
    return failures


def predict(cfg: DictConfig) -> int:
    """Returns the exit status: 0 when every input was inpainted, 1 otherwise."""
    name = cfg.device
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    device = torch.device(name)
    model = load_inpainting_module(cfg.ckpt_path, map_location=device)
    failures = predict_folder(model, cfg, device)
    if failures:
        log.error("%d input(s) failed, listed in %s/failures.tsv", len(failures), cfg.output_dir)
    return 1 if failures else 0
