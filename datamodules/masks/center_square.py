"""The fixed central hole of multi-scale feature image translation (Song et al. 2018 §3)."""

from __future__ import annotations

import numpy as np

from datamodules.masks.base import MaskGenerator


class CenterSquare(MaskGenerator):
    """A centred hole whose height and width are `fraction` of the image's ("the center square region whose
    height and width are about half of the original image", §3; the experiments, §4, use 224 of 512 =
    0.4375). On a non-square image the hole takes the fraction of each dimension."""

    def __init__(self, fraction: float = 0.5):
        if not 0 < fraction <= 1:
            raise ValueError(f"fraction must be in (0, 1], got {fraction}")
        self.fraction = fraction

    def __call__(
        self, height: int, width: int, rng: np.random.Generator, index: int | None = None
    ) -> np.ndarray:
        h, w = max(1, round(self.fraction * height)), max(1, round(self.fraction * width))
        top, left = (height - h) // 2, (width - w) // 2
        mask = np.zeros((height, width), dtype=np.float32)
        mask[top : top + h, left : left + w] = 1
        return mask
