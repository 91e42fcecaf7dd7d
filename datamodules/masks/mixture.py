"""One mask type per sample, chosen at random: training and evaluation on a mix of mask sets."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from datamodules.masks.base import MaskGenerator


class MaskMixture(MaskGenerator):
    """Draws each mask from one generator, picked with probability proportional to its weight.

    `generators` is a list, or a dict whose names `weights` may use ({box: 1, strokes: 3}); without weights
    all are equally likely (the AIM 2020 mix of DeepGIN, conf/mask/aim2020.yaml).
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
