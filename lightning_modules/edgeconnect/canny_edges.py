"""The edge maps EdgeConnect is trained and run on: Canny edges of the gray image (the official dataset.py
computes skimage.feature.canny(rgb2gray(image), sigma=SIGMA) with SIGMA 2 and skimage's default
thresholds). Here kornia.filters.canny computes them: for training per sample in the DataLoader workers
(WholeImageEdges, as the official loader does), at inference batched on the model's device.

skimage's float thresholds (0.1, 0.2 of the dtype range 1) compare against the unnormalised Sobel
magnitude, as kornia's do, so the same numbers apply; its Gaussian is truncated at 4σ (radius
int(4σ + 0.5)), which sets kornia's kernel size.
"""

from __future__ import annotations

from typing import Any

import kornia
import torch
from torch import Tensor

# skimage.color.rgb2gray (ITU-R BT.709 luma), which the official code feeds to Canny and to the edge model
EDGE_GRAY_WEIGHTS = (0.2125, 0.7154, 0.0721)


def edge_gray(image: Tensor) -> Tensor:
    """The gray image of the edge model: B×3×H×W RGB in [0, 1] -> B×1×H×W."""
    weights = torch.tensor(EDGE_GRAY_WEIGHTS, dtype=image.dtype, device=image.device)
    return kornia.color.rgb_to_grayscale(image, rgb_weights=weights)


def gaussian_kernel_size(sigma: float) -> int:
    """skimage / scipy's Gaussian support: radius int(4σ + 0.5) (truncate=4.0)."""
    return 2 * int(4 * sigma + 0.5) + 1


def canny_edges(
    gray: Tensor, sigma: float = 2.0, low_threshold: float = 0.1, high_threshold: float = 0.2
) -> Tensor:
    """Binary B×1×H×W Canny edges (float32) of B×1×H×W gray images in [0, 1]."""
    size = gaussian_kernel_size(sigma)
    _, edges = kornia.filters.canny(
        gray.float(), low_threshold, high_threshold, kernel_size=size, sigma=(sigma, sigma)
    )
    return edges


def known_region_edges(
    gray: Tensor, mask: Tensor, sigma: float = 2.0, low_threshold: float = 0.1, high_threshold: float = 0.2
) -> Tensor:
    """Canny edges of the known pixels alone (mask 1 = missing), as the official test mode runs
    skimage's canny(mask=known): the hole's content must not reach the edges beside it. skimage smooths
    with a normalised convolution that ignores masked pixels; here the hole is first filled with that
    normalised Gaussian average of the known pixels around it (no step at the hole's border, so no edge
    traces its outline), then Canny runs and edges in the hole are cleared."""
    gray, known = gray.float(), 1 - mask.float()
    size = gaussian_kernel_size(sigma)
    blur = kornia.filters.GaussianBlur2d((size, size), (sigma, sigma), border_type="constant")
    fill = blur(gray * known) / blur(known).clamp_min(1e-6)
    filled = gray * known + fill * (1 - known)
    return canny_edges(filled, sigma, low_threshold, high_threshold) * known


class WholeImageEdges:
    """A training sample's `edge`: the Canny edges (1×H×W float32) of the gray of its whole 3×H×W image,
    computed in the DataLoader workers as the official dataset does (knazeri/edge-connect, src/dataset.py,
    load_item / load_edge: no mask in training mode). A top-level class, so that workers can unpickle it."""

    def __init__(self, sigma: float, low_threshold: float, high_threshold: float):
        self.sigma, self.low_threshold, self.high_threshold = sigma, low_threshold, high_threshold

    def __call__(self, sample: dict[str, Any]) -> dict[str, Tensor]:
        gray = edge_gray(sample["image"][None])
        return {"edge": canny_edges(gray, self.sigma, self.low_threshold, self.high_threshold)[0]}
