"""Inpaint a folder of the user's own images at their original sizes, however large (hole_crops.py).

Every image needs a mask: <mask_dir>/<stem>.<ext>, or <input_dir>/<stem><mask_suffix>.<ext> beside it.
With style=<image> or guide=<image> the checkpoint's own hook (InpaintingModule.style_transfer /
guided_inpainting) stylizes each image or pastes the guide into it instead, and masks are not read.
A bad input (unreadable file, missing mask, mask of another size or with nothing known, two inputs with
one stem) or any failure while inpainting one, out of memory included, is reported with its reason and
what to do, and the rest are still processed. An image whose mask has no hole is written unchanged.
Exit status: 0 when every input was written, 1 when some failed (listed in <output_dir>/failures.tsv),
2 when nothing could run (no checkpoint, folder or image).
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from pathlib import Path

import torch
import torch.nn.functional as F
from omegaconf import DictConfig
from tqdm import tqdm
from tqdm.contrib.logging import logging_redirect_tqdm

from datamodules.image_io import (
    ImageReadError,
    is_image_file,
    read_guide,
    read_hint,
    read_image,
    read_mask,
    save_png,
)
from lightning_modules.base import InpaintingModule, load_inpainting_module
from lightning_modules.colorization.colorizer import Hints
from lightning_modules.colorization.progressive_colorization import progress_listener
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


def guided_inputs(image: torch.Tensor, cfg: DictConfig) -> dict[str, torch.Tensor]:
    """Guided inpainting (block-wise §4.4): the guide pasted into the image's box, [left, top, width,
    height]; its object is kept (to harmonize) and the rest of the box is the hole (to inpaint)."""
    height, width = image.shape[-2:]
    box = list(cfg.box or [])
    if len(box) != 4 or box[2] < 1 or box[3] < 1 or box[0] < 0 or box[1] < 0:
        raise ValueError(f"box must be [left, top, width, height] in pixels, got {cfg.box}")
    left, top, box_w, box_h = (int(v) for v in box)
    if left + box_w > width or top + box_h > height:
        raise ValueError(f"box {box} reaches outside the {width}×{height} image")
    colors, obj = read_guide(cfg.guide)
    colors = F.interpolate(colors[None], (box_h, box_w), mode="bilinear", antialias=True)[0]
    obj = F.interpolate(obj[None], (box_h, box_w), mode="nearest")[0]
    composite, hole, inside = image.clone(), torch.zeros(1, height, width), torch.zeros(1, height, width)
    rows, cols = slice(top, top + box_h), slice(left, left + box_w)
    composite[:, rows, cols] = torch.where(obj > 0.5, colors, image[:, rows, cols])
    hole[:, rows, cols] = 1 - obj
    inside[:, rows, cols] = obj
    return {
        "image": composite[None],
        "mask": (hole + inside)[None],
        "hole": hole[None],
        "object": inside[None],
    }


def load_inputs(image_path: Path, files: dict[str, Path | None], cfg: DictConfig) -> dict[str, torch.Tensor]:
    """image, mask and (if given) hint / hint_mask as a batch of one; with a guide, the guided composite
    and its box's hole / object split instead of a mask file; with a style, the image and the style."""
    image = read_image(image_path)
    if cfg.get("style"):
        return {"image": image[None], "style": read_image(cfg.style)[None]}
    if cfg.get("guide"):
        return guided_inputs(image, cfg)
    if files["mask"] is None:
        if cfg.mask_dir:
            looked_for, fix = Path(cfg.mask_dir) / f"{image_path.stem}.*", "Name its mask after the image."
        else:
            looked_for = image_path.parent / f"{image_path.stem}{cfg.mask_suffix}.*"
            fix = "Add it beside the image or pass mask_dir=<a folder of masks named like the images>."
        raise ImageReadError(image_path, f"no mask {looked_for} found", fix)
    size = tuple(image.shape[-2:])
    mask = read_mask(files["mask"], size=None if cfg.resize_masks else size, polarity=cfg.mask_polarity)
    if cfg.resize_masks and tuple(mask.shape[-2:]) != size:
        mask = F.interpolate(mask[None], size=size, mode="nearest")[0]
    if bool(mask.all()):
        raise ImageReadError(
            files["mask"],
            "the mask leaves no pixel known (100 % hole): there is nothing to inpaint from",
            f"Check its polarity (mask_polarity={cfg.mask_polarity}; white_is_hole or black_is_hole).",
        )
    inputs = {"image": image, "mask": mask}
    if files["hint"] is not None:
        inputs["hint"], inputs["hint_mask"] = read_hint(files["hint"], size)
    return {key: value[None] for key, value in inputs.items()}


def inpaint_file(
    model: InpaintingModule,
    image_path: Path,
    files: dict[str, Path | None],
    cfg: DictConfig,
    device: torch.device,
) -> str:
    """Writes <output_dir>/<stem>.png; returns what was done, for the log."""
    inputs = {key: value.to(device) for key, value in load_inputs(image_path, files, cfg).items()}
    image, mask = inputs["image"], inputs.get("mask")
    height, width = image.shape[-2:]
    if "style" in inputs:
        result = model.style_transfer()(image, inputs["style"], max_side=cfg.max_side)
        done = f"stylized {image_path.name} ({width}×{height}) with the style {Path(cfg.style).name}"
    elif "object" in inputs:
        result = model.guided_inpainting()(image, inputs["hole"], inputs["object"])
        done = f"inpainted {image_path.name} ({width}×{height}) with the guide {Path(cfg.guide).name}"
    elif not bool(mask.any()):
        result, done = image, f"written unchanged {image_path.name} ({width}×{height}): no hole in its mask"
    else:
        result = model.inpaint_photo(image, mask, Hints.from_batch(inputs), cfg.max_side, cfg.context)
        done = f"inpainted {image_path.name} ({width}×{height}, {100 * mask.mean().item():.1f} % missing)"
    if not bool(result.isfinite().all()):  # never written as a silent 0 in the PNG
        raise FloatingPointError("the inpainting produced non-finite values (NaN or inf)")
    save_png(result[0], Path(cfg.output_dir) / f"{image_path.stem}.png")
    return done


def failure(image_path: Path, err: BaseException, cfg: DictConfig) -> str:
    """One line: the reason and what to do (decoder messages may hold tabs or newlines)."""
    if isinstance(err, ImageReadError):
        text = f"{err.reason} ({err.path}). {err.fix}"
    elif isinstance(err, (torch.OutOfMemoryError, MemoryError)):
        if torch.cuda.is_available():
            torch.cuda.empty_cache()  # the next file starts from a free device
        text = (
            f"out of memory ({type(err).__name__}). Lower max_side (now {cfg.max_side}), free the device "
            "or run with device=cpu."
        )
    else:
        text = (
            f"{type(err).__name__}: {err}. Unexpected: please report it with this file "
            "(the run's log has the traceback)."
        )
        log.exception("failed on %s", image_path)
    return " ".join(text.split())


def predict_folder(
    model: InpaintingModule,
    pairs: list[tuple[Path, dict[str, Path | None]]],
    cfg: DictConfig,
    device: torch.device,
) -> dict[str, str]:
    """Writes <output_dir>/<stem>.png per good input; returns {input path: reason} for the bad ones, which
    <output_dir>/failures.tsv lists as they happen (a killed run keeps them)."""
    output_dir = Path(cfg.output_dir)
    stems = Counter(image.stem for image, _ in pairs)
    failures: dict[str, str] = {}
    start, written = time.perf_counter(), 0
    write_text(output_dir / "failures.tsv", "")
    bar = tqdm(pairs, desc="predict", unit="image")
    # a mono model's colorization fits for minutes per photo on CPU: its progress beside the bar
    with logging_redirect_tqdm(), progress_listener(lambda line: bar.set_postfix_str(line, refresh=True)):
        for image_path, files in bar:
            try:
                if stems[image_path.stem] > 1:  # photo.jpg and photo.png would both be written to photo.png
                    raise ImageReadError(
                        image_path,
                        f"another input is also named {image_path.stem}.*",
                        "Rename one of them (outputs are named <stem>.png).",
                    )
                log.info("%s", inpaint_file(model, image_path, files, cfg, device))
                written += 1
            except Exception as err:  # one input's failure never costs the others
                failures[str(image_path)] = failure(image_path, err, cfg)
                log.error("skipped %s: %s", image_path, failures[str(image_path)])
                report = "".join(f"{path}\t{reason}\n" for path, reason in failures.items())
                write_text(output_dir / "failures.tsv", report)
    log.info(
        "%d written, %d failed%s, in %.1f s",
        written,
        len(failures),
        f" (listed in {output_dir / 'failures.tsv'})" if failures else "",
        time.perf_counter() - start,
    )
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
        if cfg.get("style") and cfg.get("guide"):
            raise ValueError("style= and guide= are two different modes: pass one of them")
        pairs = find_inputs(Path(cfg.input_dir), companions)
        if not pairs:
            raise FileNotFoundError(
                f"input_dir={cfg.input_dir} holds no image to inpaint: put the images (PNG, JPEG, ...) "
                "directly in it"
            )
        model = load_inpainting_module(cfg.ckpt_path, map_location=device, **(cfg.model_overrides or {}))
        model.use_colorization(cfg.colorization, recolor=cfg.recolor)
        # the mode's hook refuses a checkpoint that lacks it before any file is read
        if cfg.get("style"):
            model.style_transfer()
        if cfg.get("guide"):
            model.guided_inpainting()
    except (FileNotFoundError, ValueError) as err:
        # A wrong path or setting on the command line: its message says what to pass, a traceback would
        # bury it.
        log.error("%s", err)
        return 2
    failures = predict_folder(model, pairs, cfg, device)
    return 1 if failures else 0
