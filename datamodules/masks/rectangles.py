"""Random rectangular holes (block-wise procedural training, Zhang et al. 2018 §4.1)."""

from __future__ import annotations

import math

import numpy as np

from datamodules.masks.base import MaskGenerator


def side_range(fraction_low: float, fraction_high: float, size: int) -> tuple[int, int]:
    """The integer side lengths in [fraction_low·size, fraction_high·size], at least one pixel."""
    low = max(1, math.ceil(fraction_low * size - 1e-9))
    return low, max(low, min(size, math.floor(fraction_high * size + 1e-9)))


class RandomRectangles(MaskGenerator):
    """`min_count`…`max_count` axis-aligned rectangles at uniform random positions inside the image; each
    side is uniform over the integers in [min_fraction, max_fraction] of its image dimension.

    Defaults: "one or two rectangle holes. The size of the hole ranges from 1/4 to 1/2 of the image's
    dimension, and are positioned at random locations" (block-wise paper §4.1).
    """

    def __init__(
        self, min_fraction: float = 0.25, max_fraction: float = 0.5, min_count: int = 1, max_count: int = 2
    ):
        if not 0 < min_fraction <= max_fraction <= 1:
            raise ValueError(
                f"need 0 < min_fraction <= max_fraction <= 1, got {min_fraction}, {max_fraction}"
            )
        if not 1 <= min_count <= max_count:
            raise ValueError(f"need 1 <= min_count <= max_count, got {min_count}, {max_count}")
        self.min_fraction, self.max_fraction = min_fraction, max_fraction
        self.min_count, self.max_count = min_count, max_count

    def __call__(
        self, height: int, width: int, rng: np.random.Generator, index: int | None = None
    ) -> np.ndarray:
        rows = side_range(self.min_fraction, self.max_fraction, height)
        cols = side_range(self.min_fraction, self.max_fraction, width)
        mask = np.zeros((height, width), dtype=np.float32)
        for _ in range(rng.integers(self.min_count, self.max_count + 1)):
            h, w = rng.integers(rows[0], rows[1] + 1), rng.integers(cols[0], cols[1] + 1)
            top, left = rng.integers(0, height - h + 1), rng.integers(0, width - w + 1)
            mask[top : top + h, left : left + w] = 1
        return mask
