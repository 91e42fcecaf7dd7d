"""The mask-generator contract: 1 = missing, 0 = known."""

from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np


class MaskGenerator(ABC):
    """Draws one H×W mask from `rng`.

    Generators are configured from Hydra (`_target_`) and must be picklable (they run in DataLoader
    workers). All randomness comes from `rng`, which the dataset seeds per sample (see seeding.py).
    `index` is the sample's index in its split; generators that read a fixed mask set use it to pair
    masks with images, the others ignore it.
    """

    @abstractmethod
    def __call__(
        self, height: int, width: int, rng: np.random.Generator, index: int | None = None
    ) -> np.ndarray:
        """Return an H×W float32 array with values in {0, 1}, 1 = missing."""

    def draw_per_image(
        self, height: int, width: int, rng: np.random.Generator, index: int | None = None
    ) -> list[np.ndarray]:
        """The training masks of one image, each making one sample of it: a single mask, except for
        generators that mask every training image several times (DeepGIN's three mask types, §5.1)."""
        return [self(height, width, rng, index)]
