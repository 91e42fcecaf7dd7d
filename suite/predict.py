"""Inpaint a folder of the user's own images at their original sizes.

Every image needs a mask: <mask_dir>/<stem>.<ext>, or <input_dir>/<stem><mask_suffix>.<ext> beside it.
A bad input (unreadable file, missing mask, mask of another size, two inputs with one stem) is reported
with its reason and the rest are still processed. Exit status: 0 when every input was inpainted, 1 when
some failed (listed in <output_dir>/failures.tsv), 2 when nothing could run (no checkpoint or folder).
"""

from __future__ import annotations

import logging
from collections import Counter
from pathlib import Path

import torch
import torch.nn.functional as F
from omegaconf import DictConfig

from datamodules.image_io import ImageReadError, is_image_file, read_image, read_mask, save_png
from lightning_modules.base import InpaintingModule, load_inpainting_module
from suite.atomic import write_text

log = logging.getLogger(__name__)


def find_inputs(input_dir: Path, mask_dir: Path | None, mask_suffix: str) -> list[tuple[Path, Path | None]]:
    """(image, mask or None) pairs.

    A file <stem><mask_suffix>.* is the mask of the image <stem>.* beside it, not an input; without such an
    image it is an input (a photo called face_mask.jpg is inpainted, or listed as lacking a mask).
    """
    if not input_dir.is_dir():
        raise FileNotFoundError(f"input_dir not found: {input_dir} (a folder of images to inpaint)")
    if mask_dir is not None and not mask_dir.is_dir():
        raise FileNotFoundError(f"mask_dir not found: {mask_dir} (a folder of masks named like the images)")
    files = sorted(p for p in input_dir.iterdir() if p.is_file() and is_image_file(p))
    stems = {p.stem for p in files}
    beside = {
        p: p.stem.removesuffix(mask_suffix)
        for p in files
        if mask_suffix and p.stem.endswith(mask_suffix) and p.stem.removesuffix(mask_suffix) in stems
    }
    if mask_dir is None:
        masks = [(stem, p) for p, stem in beside.items()]
    else:
        masks = [(p.stem, p) for p in sorted(mask_dir.iterdir()) if p.is_file() and is_image_file(p)]
    by_stem: dict[str, Path] = {}
    for stem, path in masks:
        by_stem.setdefault(stem, path)
    return [(image, by_stem.get(image.stem)) for image in files if image not in beside]


def load_pair(
    image_path: Path, mask_path: Path | None, polarity: str, resize_masks: bool
) -> tuple[torch.Tensor, torch.Tensor]:
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


def predict_folder(
    model: InpaintingModule, pairs: list[tuple[Path, Path | None]], cfg: DictConfig, device: torch.device
) -> dict[str, str]:
    """Writes <output_dir>/<stem>.png per good input; returns {input path: reason} for the bad ones."""
    output_dir = Path(cfg.output_dir)
    stems = Counter(image.stem for image, _ in pairs)
    failures: dict[str, str] = {}
    for image_path, mask_path in pairs:
        try:
            if stems[image_path.stem] > 1:  # photo.jpg and photo.png would both be written to photo.png
                raise ImageReadError(
                    image_path,
                    f"another input is also named {image_path.stem}.*",
                    "Rename one of them (outputs are named <stem>.png).",
                )
            image, mask = load_pair(image_path, mask_path, cfg.mask_polarity, cfg.resize_masks)
        except ImageReadError as err:
            # One line per input: decoder messages may hold tabs or newlines.
            failures[str(image_path)] = " ".join(f"{err.reason} ({err.path}). {err.fix}".split())
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
    """Returns the exit status (module docstring)."""
    name = cfg.device
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    device = torch.device(name)
    try:
        mask_dir = Path(cfg.mask_dir) if cfg.mask_dir else None
        pairs = find_inputs(Path(cfg.input_dir), mask_dir, cfg.mask_suffix)
        model = load_inpainting_module(cfg.ckpt_path, map_location=device)
    except FileNotFoundError as err:
        # A wrong path on the command line: its message says what to pass, a traceback would bury it.
        log.error("%s", err)
        return 2
    failures = predict_folder(model, pairs, cfg, device)
    if failures:
        log.error("%d input(s) failed, listed in %s/failures.tsv", len(failures), cfg.output_dir)
    return 1 if failures else 0
