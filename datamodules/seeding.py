"""Per-sample random generators that are pure functions of their keys.

Training draws use (seed, epoch, index); validation/test draws use (seed, index). Which worker, rank or
process draws a sample never matters, so masks are identical across num_workers, DDP ranks and
resumed runs, and every method in a sweep is scored on the same masks.
"""

from __future__ import annotations

import numpy as np

# Independent streams so that, e.g., adding an augmentation never changes the masks.
MASK_STREAM = 0
AUGMENT_STREAM = 1
SOURCE_STREAM = 2


def rng_for(*keys: int) -> np.random.Generator:
    """A numpy Generator seeded by the non-negative integer keys."""
    if any(int(k) < 0 for k in keys):
        raise ValueError(f"seed keys must be non-negative, got {keys}")
    return np.random.default_rng(np.random.SeedSequence([int(k) for k in keys]))
