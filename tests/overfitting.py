"""Shared by the overfit tests: one batch served for every step, and the PSNR of its holes."""

from __future__ import annotations

import torch
from torch.utils.data import Dataset

from lightning_modules.base import InpaintingModule


class RepeatedBatch(Dataset):
    """The same collated batch for every index (the loader runs with batch_size=None)."""

    def __init__(self, batch: dict, length: int):
        self.batch, self.length = batch, length

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> dict:
        return self.batch


def hole_psnr(model: InpaintingModule, image: torch.Tensor, mask: torch.Tensor) -> float:
    """PSNR (data range 1) over the missing pixels of the whole batch, on the composite `inpaint` returns."""
    result = model.inpaint(image, mask)
    mse = ((result - image) ** 2 * mask).sum() / (mask.sum() * image.shape[1])
    return float(10 * torch.log10(1 / mse))
