"""Per image, the chroma propagation that best restores known pixels hidden in the hole's own shape: this
suite's addition (`colorization=propagation_ensemble`), not an EII method.

Which propagation suits an image depends on where its colours come from. In a photo, a hole's colours are
mostly those of its surroundings (local propagation wins); in a flat-palette texture, they are those of the
same gray anywhere (a global gray → colour map wins, as EII's internal network learns). The known pixels
tell which: the hole's mask is moved to `held_out` places in the known region (disjoint from the hole and
its margin), those pixels are hidden too, and each candidate's chroma error there is measured. The first
candidate is the default; another fills the real hole only when its error is below `ratio` times the
first's (a few hidden regions are a noisy sample of the hole, and a wrong switch costs more than a missed
one on photos). A candidate is the mean chroma of some members (an ensemble of propagations whose errors
differ, e.g. Levin's locally constant and the matting Laplacian's locally linear model).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from scipy.ndimage import binary_dilation

from lightning_modules.colorization.guided_colorization.chroma_propagation import ChromaPropagation

MARGIN = 4  # px between a held-out region and the hole: a region touching the hole would lose its border


def held_out_regions(hole: np.ndarray, count: int, seed: int, min_share: float = 0.6) -> list[np.ndarray]:
    """Up to `count` copies of `hole` (H×W bool) translated on a grid of 1/32 of each side, clipped to the
    image and kept off the hole's margin, each keeping at least `min_share` of the hole's pixels; drawn
    without replacement by `seed`. A hole too large for any such copy (a box of half the side) is shrunk
    2× and then 4× (every 2nd / 4th pixel) first."""
    height, width = hole.shape
    forbidden = binary_dilation(hole, np.ones((3, 3), dtype=bool), iterations=MARGIN)
    step_y, step_x = max(1, height // 32), max(1, width // 32)
    for factor in (1, 2, 4):
        shape = np.zeros_like(hole)
        small = hole[::factor, ::factor]
        shape[: small.shape[0], : small.shape[1]] = small
        regions = []
        for dy in range(-height + step_y, height, step_y):
            for dx in range(-width + step_x, width, step_x):
                moved = np.zeros_like(hole)
                moved[max(dy, 0) : height + min(dy, 0), max(dx, 0) : width + min(dx, 0)] = shape[
                    max(-dy, 0) : height + min(-dy, 0), max(-dx, 0) : width + min(-dx, 0)
                ]
                moved &= ~forbidden
                if moved.any() and moved.sum() >= min_share * small.sum():
                    regions.append(moved)
        if regions:
            chosen = np.random.default_rng(seed).choice(
                len(regions), size=min(count, len(regions)), replace=False
            )
            return [regions[i] for i in sorted(chosen)]
    return []


class HeldOutSelection(ChromaPropagation):
    """members: {name: ChromaPropagation}; candidates: {name: [member names]}, each the mean of its members'
    chroma, the first one the default (and the choice when no region can be held out); held_out: the number
    of hole-shaped regions hidden; seed: their draw; ratio: the held-out squared error, relative to the
    first candidate's, below which another candidate is taken."""

    name = "propagation_ensemble"

    def __init__(
        self,
        members: Mapping[str, ChromaPropagation],
        candidates: Mapping[str, Sequence[str]],
        held_out: int = 4,
        seed: int = 0,
        ratio: float = 0.5,
    ):
        unknown = sorted({m for names in candidates.values() for m in names} - set(members))
        if not candidates or unknown or any(not names for names in candidates.values()):
            raise ValueError(f"every candidate needs members among {sorted(members)}; unknown: {unknown}")
        self.members, self.candidates = dict(members), {name: list(m) for name, m in candidates.items()}
        if not 0 < ratio <= 1:
            raise ValueError(f"ratio must be in (0, 1], got {ratio}")
        self.held_out, self.seed, self.ratio = held_out, seed, ratio
        self.last_choice: str | None = None  # the candidate chosen for the last image (for the logs/tests)

    def _candidates(self, luma: np.ndarray, chroma: np.ndarray, known: np.ndarray) -> dict[str, np.ndarray]:
        needed = {m for names in self.candidates.values() for m in names}
        filled = {m: self.members[m].propagate(luma, chroma, known) for m in sorted(needed)}
        return {name: np.mean([filled[m] for m in names], axis=0) for name, names in self.candidates.items()}

    def errors(self, luma: np.ndarray, chroma: np.ndarray, known: np.ndarray) -> dict[str, float]:
        """Each candidate's mean squared chroma error on the held-out regions (empty: none could be held)."""
        regions = held_out_regions(~known, self.held_out, self.seed)
        if not regions:
            return {}
        squared, count = dict.fromkeys(self.candidates, 0.0), sum(int(r.sum()) for r in regions)
        for region in regions:
            for name, filled in self._candidates(luma, chroma, known & ~region).items():
                squared[name] += float(((filled[region] - chroma[region]) ** 2).sum())
        return {name: value / count for name, value in squared.items()}

    def propagate(self, luma: np.ndarray, chroma: np.ndarray, known: np.ndarray) -> np.ndarray:
        chroma = chroma.astype(np.float64)
        if known.all():
            return chroma
        errors = self.errors(luma, chroma, known)
        default = next(iter(self.candidates))
        better = {name: e for name, e in errors.items() if e < self.ratio * errors[default]}
        self.last_choice = min(better, key=better.get) if better else default
        names = self.candidates[self.last_choice]
        return np.mean([self.members[m].propagate(luma, chroma, known) for m in names], axis=0)
