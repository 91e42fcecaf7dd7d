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


def recorded_polarity(root: str | os.PathLike, polarity: str) -> str:
    """An exported set says its polarity in meta.json, which "auto" follows instead of guessing per mask."""
    meta = Path(root) / "meta.json"
    if polarity == "auto" and meta.is_file():
        return json.loads(meta.read_text()).get("polarity", polarity)
    return polarity


class MaskFolder(MaskGenerator):
    """Masks from the image files directly in `root` (list_masks).

    With `index` the mask is file `index % n`, a fixed pairing for evaluation; without, `rng` picks a file
    and, if `augment`, a random rot90 and left-right flip. Masks are resized to H×W (nearest neighbour).

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
    ):
        self.root, self.polarity, self.augment = str(root), recorded_polarity(root, polarity), augment
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

    def _read(self, name: str) -> np.ndarray:
        return read_mask(os.path.join(self.root, name), polarity=self.polarity).numpy()[0]

    def __call__(
        self, height: int, width: int, rng: np.random.Generator, index: int | None = None
    ) -> np.ndarray:
        if index is not None:
            return resize_nearest(self._read(self.names[index % len(self.names)]), height, width)
        mask = self._read(self.names[rng.integers(len(self.names))])
        if self.augment:
            mask = np.rot90(mask, rng.integers(4))
            if rng.random() < 0.5:
                mask = mask[:, ::-1]
        return np.ascontiguousarray(resize_nearest(mask, height, width))
