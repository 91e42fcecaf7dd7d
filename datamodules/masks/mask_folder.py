"""Masks read from a folder of images, e.g. the NVIDIA irregular mask test set (Liu et al. 2018)."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from datamodules.image_io import is_image_file, read_mask
from datamodules.masks.aim2020 import resize_nearest
from datamodules.masks.base import MaskGenerator


def _natural_key(name: str) -> list[int | str]:
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", name)]


def list_masks(root: str) -> list[str]:
    """The image files directly in `root`, sorted by name with numbers compared numerically."""
    folder = Path(root)
    names = [p.name for p in folder.iterdir() if is_image_file(p)] if folder.is_dir() else []
    if not names:
        problem = "has no mask images" if folder.is_dir() else "does not exist"
        raise FileNotFoundError(
            f"mask folder {root} {problem}: expected mask images (e.g. PNG, white or black = hole, see "
            "polarity) directly in it, such as the NVIDIA irregular mask test set's 00000.png … 11999.png "
            "(testing_mask_dataset/)."
        )
    return sorted(names, key=_natural_key)


def recorded(root: str | os.PathLike, key: str, setting: str) -> str:
    """An exported set records its polarity and pairing in meta.json, which "auto" follows."""
    meta = Path(root) / "meta.json"
    if setting == "auto" and meta.is_file():
        return json.loads(meta.read_text()).get(key, setting)
    return setting


PAIRINGS = ("by_stem", "by_order")


class MaskFolder(MaskGenerator):
    """Masks from the image files directly in `root` (list_masks).

    Evaluation pairs a mask with each image (`pairing`); without `index`, `rng` picks a file and, if
    `augment`, a random rot90 and left-right flip (training draws).

    pairing: "by_order" (default): image `index` gets file `index % n`, resized to H×W (nearest neighbour);
        "by_stem": image <stem>.* gets <root>/<stem>.*, which must have the image's size and a hole
        (for_image; InpaintingDataset checks every image has one when it is built); "auto": the pairing
        recorded in the folder's meta.json (mask sets exported by evaluate.py pair by order), else by_stem.
    polarity: "white_is_hole" (default), "black_is_hole", or "auto": the polarity recorded in the folder's
        meta.json (mask sets exported by evaluate.py), else decided per mask by image_io.read_mask's rule.
    buckets: the hole-ratio buckets to keep, by file position in blocks of `files_per_bucket`. The NVIDIA
        test set (Liu et al. 2018; 00000.png … 11999.png at 512²) holds buckets 1…6 of hole ratio
        (0.01, 0.1], (0.1, 0.2], …, (0.5, 0.6] with 2,000 files each; in each bucket the first 1,000 masks
        touch the image border and the second 1,000 do not.
    hole_ratio: (low, high) keeps the files whose measured hole ratio is in (low, high]; for any folder.
        It reads every mask once, at construction.
    """

    def __init__(
        self,
        root: str | os.PathLike,
        polarity: str = "white_is_hole",
        buckets: Sequence[int] | None = None,
        files_per_bucket: int = 2000,
        hole_ratio: Sequence[float] | None = None,
        augment: bool = True,
        pairing: str = "by_order",
    ):
        self.root, self.polarity, self.augment = str(root), recorded(root, "polarity", polarity), augment
        self.pairing = recorded(root, "pairing", pairing)
        if self.pairing == "auto":
            self.pairing = "by_stem"
        if self.pairing not in PAIRINGS:
            raise ValueError(
                f"mask folder {self.root}: pairing must be auto, by_stem or by_order, got {pairing!r}"
            )
        names = list_masks(self.root)
        if buckets is not None:
            wanted = {int(b) for b in buckets}
            available = range(1, -(-len(names) // files_per_bucket) + 1)
            if not wanted or not wanted <= set(available):
                raise ValueError(
                    f"buckets {sorted(wanted)} not in {list(available)}: {self.root} has {len(names)} files, "
                    f"{files_per_bucket} per bucket"
                )
            names = [name for i, name in enumerate(names) if i // files_per_bucket + 1 in wanted]
        if hole_ratio is not None:
            low, high = (float(v) for v in hole_ratio)
            names = [name for name in names if low < self._read(name).mean() <= high]
            if not names:
                raise ValueError(f"no mask in {self.root} has a hole ratio in ({low}, {high}]")
        self.names = names
        self.by_stem: dict[str, str] = {}
        for name in names if self.pairing == "by_stem" else ():
            other = self.by_stem.setdefault(Path(name).stem, name)
            if other != name:
                raise ValueError(
                    f"mask folder {self.root} holds two masks for images named {Path(name).stem}.*: {other} "
                    f"and {name}. Keep one of them (masks pair with images by stem: pairing=by_stem)."
                )

    def _read(self, name: str) -> np.ndarray:
        return read_mask(os.path.join(self.root, name), polarity=self.polarity).numpy()[0]

    def _fix(self) -> str:
        return (
            f"Put a mask <stem>.png of the image's size, white = hole, in {self.root} for each image, or pair "
            "masks with images by their order instead (mask.eval.pairing=by_order, which resizes them)."
        )

    def missing(self, image_names: Sequence[str]) -> None:
        """Raises, naming the first image without <root>/<stem>.* and how many lack one (pairing by_stem)."""
        lacking = [name for name in image_names if Path(name).stem not in self.by_stem]
        if lacking:
            raise FileNotFoundError(
                f"{len(lacking)} of {len(image_names)} images have no mask in {self.root}, e.g. image "
                f"{lacking[0]}: no mask {self.root}/{Path(lacking[0]).stem}.* found. {self._fix()}"
            )

    def for_image(self, image_name: str, height: int, width: int) -> np.ndarray:
        """The mask <root>/<stem>.* of the image `image_name` (pairing by_stem), checked."""
        self.missing([image_name])
        name = self.by_stem[Path(image_name).stem]
        path, mask = os.path.join(self.root, name), self._read(name)
        if mask.shape != (height, width):
            raise ValueError(
                f"mask {path} is {mask.shape[1]}×{mask.shape[0]} but image {image_name} is {width}×{height} "
                f"(as scored, after data.eval_transform). {self._fix()}"
            )
        if not mask.any():
            raise ValueError(
                f"mask {path} of image {image_name} has no hole (no pixel is white with "
                f"polarity={self.polarity}): there is nothing to score. Check its polarity "
                "(mask.eval.polarity=black_is_hole or auto) or give a mask with a hole."
            )
        return mask

    def __call__(
        self, height: int, width: int, rng: np.random.Generator, index: int | None = None
    ) -> np.ndarray:
        if index is not None:
            if self.pairing == "by_stem":
                raise ValueError(
                    f"mask folder {self.root} pairs masks with images by stem, and only a split's own mask "
                    "generator learns image names: use it as mask.eval itself, or set pairing=by_order"
                )
            return resize_nearest(self._read(self.names[index % len(self.names)]), height, width)
        mask = self._read(self.names[rng.integers(len(self.names))])
        if self.augment:
            mask = np.rot90(mask, rng.integers(4))
            if rng.random() < 0.5:
                mask = mask[:, ::-1]
        return np.ascontiguousarray(resize_nearest(mask, height, width))
