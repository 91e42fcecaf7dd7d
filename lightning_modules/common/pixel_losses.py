"""Pixel losses of inpainting: L1 weighted between hole and valid pixels, and total variation."""

from __future__ import annotations

from typing import Literal

from torch import Tensor


def hole_valid_l1(output: Tensor, target: Tensor, mask: Tensor, hole_weight: float = 1.0) -> Tensor:
    """hole_weight · L_hole + L_valid, each the sum of |output − target| over its pixels divided by the
    number of all elements (mask 1 = hole; a soft, e.g. downsampled, mask weights pixels in between).
    Normalizing by all elements, not by each region's size, keeps the terms' balance as the hole grows:
    DeepGIN Eq. (1) as the authors' code computes it (L1Loss of the masked images)."""
    error = (output - target).abs()
    return hole_weight * (error * mask).mean() + (error * (1 - mask)).mean()


def total_variation(image: Tensor, distance: Literal["l1", "squared"] = "l1") -> Tensor:
    """Mean difference between vertical and between horizontal neighbours, summed over the two directions.

    "l1": DeepGIN Eq. (6), the L1 norm of each pixel's colour difference averaged over the pixel pairs;
    "squared": the authors' code, twice the mean squared difference per element.
    """
    rows = image[..., 1:, :] - image[..., :-1, :]
    cols = image[..., :, 1:] - image[..., :, :-1]
    if distance == "l1":
        return rows.abs().sum(1).mean() + cols.abs().sum(1).mean()
    if distance == "squared":
        return 2 * (rows.pow(2).mean() + cols.pow(2).mean())
    raise ValueError(f"total variation distance must be 'l1' or 'squared', got {distance!r}")
