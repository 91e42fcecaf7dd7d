"""The colour conversions of the monochromic bottleneck and of every colorizer, in one place.

Gray is the external-internal paper's monochromic image, 0.30 R + 0.59 G + 0.11 B (EII §3.2). The guided
colorization baselines work in YIQ, the space of Levin et al. 2004, with the EII gray as its Y row (NTSC's
luma (0.299, 0.587, 0.114) rounded, EII §3.2) instead of NTSC's, so that a colorized image decolorizes back
to exactly the given gray; I and Q are NTSC's rows. All baselines put their chroma back with `yiq_to_rgb`,
so Table 3 compares chroma only.
"""

from __future__ import annotations

import kornia
import numpy as np
import torch
from torch import Tensor

GRAY_WEIGHTS = (0.30, 0.59, 0.11)  # EII §3.2

_RGB_TO_YIQ = np.array([GRAY_WEIGHTS, (0.5959, -0.2746, -0.3213), (0.2115, -0.5227, 0.3112)])
_YIQ_TO_RGB = np.linalg.inv(_RGB_TO_YIQ)


def to_gray(image: Tensor) -> Tensor:
    """B×3×H×W RGB -> B×1×H×W gray with the paper's weights."""
    return kornia.color.rgb_to_grayscale(image, rgb_weights=image.new_tensor(GRAY_WEIGHTS))


def rgb_to_yiq(image: Tensor) -> Tensor:
    """B×3×H×W RGB -> B×3×H×W YIQ (Y with the EII gray weights)."""
    return torch.einsum("ij,bjhw->bihw", image.new_tensor(_RGB_TO_YIQ), image)


def yiq_to_rgb(luma: Tensor, chroma: Tensor, gamut: bool = True) -> Tensor:
    """Y B×1×H×W in [0, 1] and IQ B×2×H×W -> RGB in [0, 1] whose EII gray is exactly Y.

    Out-of-gamut colors are desaturated towards their gray (the chroma offset scaled until every channel
    fits) rather than clipped per channel, which would change the luminance. gamut=False: the linear
    transform alone, out-of-gamut colors included, for losses whose gradient must not vanish there."""
    rgb = torch.einsum("ij,bjhw->bihw", luma.new_tensor(_YIQ_TO_RGB), torch.cat([luma, chroma], 1))
    if not gamut:
        return rgb
    offset = rgb - luma  # zero gray: the I and Q rows sum to zero
    room = torch.where(offset > 0, 1 - luma, luma) / offset.abs().clamp_min(1e-12)
    scale = room.amin(1, keepdim=True).clamp(max=1)
    return (luma + scale * offset).clamp(0, 1)
