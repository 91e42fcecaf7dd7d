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

from datamodules.image_io import ImageReadError, is_image_file, read_hint, read_image, read_mask, save_png
from lightning_modules.base import InpaintingModule, load_inpainting_module
from lightning_modules.colorization.colorizer import Hints
from utils.atomic import write_text

log = logging.getLogger(__name__)


def find_inputs(
    input_dir: Path, companions: dict[str, tuple[Path | None, str]]
) -> list[tuple[Path, dict[str, Path | None]]]:
    """(image, {kind: file or None}) for each input image.

    companions maps a kind ("mask", "hint") to (its folder or None, its suffix): a kind's file is
    <folder>/<stem>.* or, without a folder, <stem><suffix>.* beside the image. A file <stem><suffix>.* is
    a companion, not an input, only when the image <stem>.* is there too (a photo called face_mask.jpg is
    inpainted, or listed as lacking a mask).
    """
    if not input_dir.is_dir():
        raise FileNotFoundError(f"input_dir not found: {input_dir} (a folder of images to inpaint)")
    files = sorted(p for p in input_dir.iterdir() if p.is_file() and is_image_file(p))
    stems = {p.stem for p in files}
    found: dict[str, dict[str, Path]] = {kind: {} for kind in companions}
    beside: set[Path] = set()
    for kind, (folder, suffix) in companions.items():
        if folder is not None:
            if not folder.is_dir():
                raise FileNotFoundError(
                    f"{kind}_dir not found: {folder} (a folder of {kind}s named like the images)"
                )
            candidates = [(p.stem, p) for p in sorted(folder.iterdir()) if p.is_file() and is_image_file(p)]
        else:
            candidates = [
                (p.stem.removesuffix(suffix), p)
                for p in files
                if suffix and p.stem.endswith(suffix) and p.stem.removesuffix(suffix) in stems
            ]
            beside.update(p for _, p in candidates)
        for stem, path in candidates:
            found[kind].setdefault(stem, path)
    return [
        (image, {kind: found[kind].get(image.stem) for kind in companions})
        for image in files
        if image not in beside
    ]


def load_inputs(image_path: Path, files: dict[str, Path | None], cfg: DictConfig) -> dict[str, torch.Tensor]:
    """image, mask and (if given) hint / hint_mask as a batch of one."""
    image = read_image(image_path)
    if files["mask"] is None:
        raise ImageReadError(
            image_path, "no mask found", "Add <stem>_mask.png beside it or pass mask_dir=<folder>."
        )
    size = tuple(image.shape[-2:])
    mask = read_mask(files["mask"], size=None if cfg.resize_masks else size, polarity=cfg.mask_polarity)
    if cfg.resize_masks and tuple(mask.shape[-2:]) != size:
        mask = F.interpolate(mask[None], size=size, mode="nearest")[0]
    inputs = {"image": image, "mask": mask}
    if files["hint"] is not None:
        inputs["hint"], inputs["hint_mask"] = read_hint(files["hint"], size)
    return {key: value[None] for key, value in inputs.items()}


def predict_folder(
    model: InpaintingModule,
    pairs: list[tuple[Path, dict[str, Path | None]]],
    cfg: DictConfig,
    device: torch.device,
) -> dict[str, str]:
    """Writes <output_dir>/<stem>.png per good input; returns {input path: reason} for the bad ones."""
    output_dir = Path(cfg.output_dir)
    stems = Counter(image.stem for image, _ in pairs)
    failures: dict[str, str] = {}
    for image_path, files in pairs:
        try:
            if stems[image_path.stem] > 1:  # photo.jpg and photo.png would both be written to photo.png
                raise ImageReadError(
                    image_path,
                    f"another input is also named {image_path.stem}.*",
                    "Rename one of them (outputs are named <stem>.png).",
                )
            inputs = {key: value.to(device) for key, value in load_inputs(image_path, files, cfg).items()}
        except ImageReadError as err:
            # One line per input: decoder messages may hold tabs or newlines.
            failures[str(image_path)] = " ".join(f"{err.reason} ({err.path}). {err.fix}".split())
            log.error("skipped %s: %s", image_path, failures[str(image_path)])
            continue
        result = model.inpaint(inputs["image"], inputs["mask"], Hints.from_batch(inputs))[0]
        save_png(result, output_dir / f"{image_path.stem}.png")
        height, width = result.shape[-2:]
        missing = 100 * inputs["mask"].mean().item()
        log.info("inpainted %s (%d×%d, %.1f %% missing)", image_path.name, width, height, missing)
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
        companions = {
            "mask": (Path(cfg.mask_dir) if cfg.mask_dir else None, cfg.mask_suffix),
            "hint": (Path(cfg.hint_dir) if cfg.hint_dir else None, cfg.hint_suffix),
        }
        pairs = find_inputs(Path(cfg.input_dir), companions)
        model = load_inpainting_module(cfg.ckpt_path, map_location=device, **(cfg.model_overrides or {}))
        model.use_colorization(cfg.colorization, recolor=cfg.recolor)
    except FileNotFoundError as err:
        # A wrong path on the command line: its message says what to pass, a traceback would bury it.
        log.error("%s", err)
        return 2
    failures = predict_folder(model, pairs, cfg, device)
    if failures:
        log.error("%d input(s) failed, listed in %s/failures.tsv", len(failures), cfg.output_dir)
    return 1 if failures else 0
