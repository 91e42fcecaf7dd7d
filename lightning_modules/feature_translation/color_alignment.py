"""Colour alignment of the output with the input (Song et al. 2018, §4.3, Fig. 12): G_2 synthesizes the whole
image, so its tone may drift from the input's; the paper aligns "the color of the boundary between the
output and the input" without saying how. Here: the output is shifted, per channel, by the difference of
the two images' mean colours over the boundary band (the known pixels within `band` of the hole), then
clamped to [0, 1]; the composite with the known pixels follows.
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor


def boundary_band(mask: Tensor, band: int) -> Tensor:
    """The known pixels within `band` pixels (Chebyshev) of the hole."""
    return (1 - mask) * (F.max_pool2d(mask, 2 * band + 1, stride=1, padding=band) > 0)


def align_colors(output: Tensor, image: Tensor, mask: Tensor, band: int) -> Tensor:
    """output shifted so its mean colour over the boundary band equals the image's (B×C×H×W, [0, 1])."""
    ring = boundary_band(mask, band)
    count = ring.sum(dim=(2, 3), keepdim=True).clamp_min(1)
    shift = ((image - output) * ring).sum(dim=(2, 3), keepdim=True) / count
    return (output + shift).clamp(0, 1)
