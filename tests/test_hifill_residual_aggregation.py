"""HiFill's contextual residual aggregation (§3.1) on an image far larger than the network's input: the
known pixels come back bit for bit, the hole is filled, and the hole's high frequencies are the known
residuals recombined by the low-resolution attention."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from lightning_modules.hifill.residual_aggregation import residual_aggregate
from test_hifill_networks import compose_model

SIZE = 1024


def textured(size: int) -> torch.Tensor:
    """Stripes finer than the network's 128² input can hold (period 6 px at 1024²)."""
    y, x = torch.meshgrid(torch.arange(size), torch.arange(size), indexing="ij")
    stripes = 0.5 + 0.3 * torch.sin(2 * math.pi * (x + y) / 6)
    return torch.stack([stripes, stripes.flip(1), 0.5 + 0.2 * torch.cos(x / 50.0)])[None].float()


def test_inpaint_large_keeps_known_pixels_bit_exact_and_fills_the_hole():
    torch.manual_seed(0)
    # The network at 128² (large_image_size) with its 8² attention grid: CRA multiplies it by 8.
    model = compose_model(
        "model.generator.cnum=4",
        "model.discriminator.cnum=4",
        "model.generator.image_size=128",
        "model.generator.bottleneck_size=16",
        "model.generator.coarse_size=64",
        "model.large_image_size=128",
    ).eval()
    image = textured(SIZE)
    mask = torch.zeros(1, 1, SIZE, SIZE)
    mask[..., 300:620, 200:500] = 1
    mask[..., 800:803, 100:900] = 1  # a thin stroke: 3 px, under one pixel at 128²
    result = model.inpaint_large(image, mask)
    assert result.shape == image.shape and result.dtype == image.dtype
    assert torch.equal(result * (1 - mask), image * (1 - mask))  # known pixels bit for bit
    known = mask == 0
    assert torch.equal(result.expand_as(image)[known.expand_as(image)], image[known.expand_as(image)])
    hole = mask.bool().expand_as(image)
    assert torch.isfinite(result).all() and (result[hole] != image[hole]).float().mean() > 0.99
    # predict.py's `inpaint_photo` takes this path, not the hole crops of the other methods
    assert torch.equal(model.inpaint_photo(image, mask, max_side=512), result)


def test_aggregation_pastes_known_residuals_by_the_attention():
    """With attention that sends every location to one known patch, the hole's residual is that patch's."""
    size, low = 256, 64
    image = torch.rand(1, 3, size, size)
    mask = torch.zeros(1, 1, size, size)
    mask[..., :64, :64] = 1  # grid cell (0, 0) of a 4² grid (64-px cells)

    def inpaint_low(small, small_mask):
        scores = torch.zeros(1, 16, 16)
        scores[0, :, 15] = 1  # everything attends to the bottom-right cell
        return torch.full_like(small, 0.5), scores

    out = residual_aggregate(image, mask, inpaint_low, size=low)
    blurry = F.interpolate(F.avg_pool2d(image, 4), size, mode="bilinear")
    residual = image[..., 192:, 192:] - blurry[..., 192:, 192:]
    torch.testing.assert_close(out[..., :64, :64], (0.5 + residual).clamp(0, 1))
