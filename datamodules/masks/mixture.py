"""Several mask types: one per sample chosen at random, or every type on every training image."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from datamodules.masks.base import MaskGenerator


class MaskMixture(MaskGenerator):
    """Draws each mask from one generator, picked with probability proportional to its weight.

    `generators` is a list, or a dict whose names `weights` may use ({box: 1, strokes: 3}); without weights
    all are equally likely (the AIM 2020 mix of DeepGIN, conf/mask_generators/aim2020_mixture.yaml).
    """

    def __init__(
        self,
        generators: Mapping[str, MaskGenerator] | Sequence[MaskGenerator],
        weights: Mapping[str, float] | Sequence[float] | None = None,
    ):
        names = list(generators.keys()) if isinstance(generators, Mapping) else None
        self.generators = list(generators.values()) if names is not None else list(generators)
        if not self.generators:
            raise ValueError("MaskMixture needs at least one generator")
        if weights is None:
            weights = [1.0] * len(self.generators)
        elif isinstance(weights, Mapping):
            if names is None or set(weights) != set(names):
                raise ValueError(f"weights {sorted(weights)} must name exactly the generators {names}")
            weights = [weights[name] for name in names]
        probabilities = np.asarray(weights, dtype=np.float64)
        if (
            probabilities.shape != (len(self.generators),)
            or (probabilities < 0).any()
            or probabilities.sum() <= 0
        ):
            raise ValueError(f"need one non-negative weight per generator, not all zero; got {list(weights)}")
        self.probabilities = probabilities / probabilities.sum()

    def __call__(
        self, height: int, width: int, rng: np.random.Generator, index: int | None = None
    ) -> np.ndarray:
        choice = rng.choice(len(self.generators), p=self.probabilities)
        return self.generators[choice](height, width, rng, index)


class MaskTypesPerImage(MaskMixture):
    """Every training image is masked once by each generator, giving one sample per mask type (DeepGIN
    §5.1: "we applied the three types of masks to each training image to get three different masked
    images ... this can balance the three types of masks"): a batch of B images holds B × types samples.

    A single draw (evaluation, exported mask sets) is MaskMixture's, so the evaluation masks are those
    of the plain mixture with the same generators and weights.
    """

    def draw_per_image(
        self, height: int, width: int, rng: np.random.Generator, index: int | None = None
    ) -> list[np.ndarray]:
        return [generator(height, width, rng, index) for generator in self.generators]
