"""GMCNN's confidence-driven reconstruction loss (NeurIPS 2018 §3.2, Eq. 1; official code
pytorch/model/layer.py `ConfidenceDrivenMaskLayer`, util/utils.py `gauss_kernel`, model/net.py `forward_G`).

A hole pixel near the known region is more certain than one deep inside it, so the L1 loss in the hole is
weighted by a confidence that spreads from the known pixels inwards: starting from the known region, 7 times
blur with a 65×65 kernel, keep the hole part, and put the known region back at 1. Known pixels get their own
L1 term (the "autoencoder" loss: the network also reproduces what it was given).
"""

from __future__ import annotations

import kornia
import torch
from torch import Tensor


def blur_kernel_1d(size: int = 65, sigma: float = 1 / 40) -> Tensor:
    """The official gauss_kernel's separable factor: `size` bins of the standard normal's probability
    over [-sigma - Δ/2, sigma + Δ/2], Δ = (2 sigma + 1) / size; its 2-D kernel is the normalized square
    root of the bins' outer product, i.e. the outer product of the normalized square roots. With sigma
    1/40 the bins span ±0.04 standard deviations: an almost flat 65×65 box."""
    sigma_ = torch.tensor(sigma, dtype=torch.float64)
    interval = (2 * sigma_ + 1) / size
    edges = torch.linspace(
        float(-sigma_ - interval / 2), float(sigma_ + interval / 2), size + 1, dtype=torch.float64
    )
    bins = torch.special.ndtr(edges).diff()
    factor = bins.sqrt()
    return (factor / factor.sum()).float()


@torch.no_grad()
def confidence_weights(mask: Tensor, size: int = 65, sigma: float = 1 / 40, iterations: int = 7) -> Tensor:
    """The hole pixels' confidence M_w (0 on known pixels) for a mask B×1×H×W (1 = missing); the blur pads
    by reflection, as the official layer does."""
    kernel = blur_kernel_1d(size, sigma).to(mask)[None]
    known = 1 - mask
    spread = known
    for _ in range(iterations):
        confidence = kornia.filters.filter2d_separable(spread, kernel, kernel, border_type="reflect") * mask
        spread = confidence + known
    return confidence


def confidence_driven_loss(output: Tensor, target: Tensor, mask: Tensor, weights: Tensor) -> Tensor:
    """L1 of the completed image in the hole weighted by the confidence, divided by the hole ratio (net.py
    G_loss_reconstruction). output, target: B×C×H×W in [-1, 1]; mask, weights: B×1×H×W."""
    return ((output - target).abs() * mask * weights).mean() / mask.mean()


def autoencoder_loss(output: Tensor, target: Tensor, mask: Tensor) -> Tensor:
    """L1 on the known pixels divided by their ratio (net.py G_loss_ae)."""
    known = 1 - mask
    return ((output - target).abs() * known).mean() / known.mean()
