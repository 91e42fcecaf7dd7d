"""Shared by the overfit tests: the PSNR of a batch's holes."""

from __future__ import annotations

import torch

from lightning_modules.base import InpaintingModule


def hole_psnr(model: InpaintingModule, image: torch.Tensor, mask: torch.Tensor) -> float:
    """PSNR (data range 1) over the missing pixels of the whole batch, on the composite `inpaint` returns."""
    result = model.inpaint(image, mask)
    mse = ((result - image) ** 2 * mask).sum() / (mask.sum() * image.shape[1])
    return float(10 * torch.log10(1 / mse))
