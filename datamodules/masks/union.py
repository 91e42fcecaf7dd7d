"""Several masks drawn for one sample and merged: a pixel is missing if any of them misses it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from datamodules.masks.base import MaskGenerator


class MaskUnion(MaskGenerator):
    """Pixel-wise OR of the generators' masks (DeepFill v2 trains on free-form strokes ∪ a box)."""

    def __init__(self, generators: Mapping[str, MaskGenerator] | Sequence[MaskGenerator]):
        """`generators`: a list, or a dict of named generators (composed configs), drawn in its order."""
        self.generators = list(generators.values() if isinstance(generators, Mapping) else generators)
        if not self.generators:
            raise ValueError("MaskUnion needs at least one generator")

    def __call__(
        self, height: int, width: int, rng: np.random.Generator, index: int | None = None
    ) -> np.ndarray:
        mask = self.generators[0](height, width, rng, index)
        for generator in self.generators[1:]:
            mask = np.maximum(mask, generator(height, width, rng, index))
        return mask
