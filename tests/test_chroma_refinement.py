"""fast_paper's chroma refinement at full resolution: what the quarter-resolution fit cannot see."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from lightning_modules.colorization.chroma_refinement import refine_chroma
from lightning_modules.colorization.color_conversions import to_gray
from lightning_modules.colorization.progressive_colorization import guided_chroma, with_known_chroma
from test_progressive_colorization import preset, psnr

# pink, yellow, pink, purple: pink and yellow differ by 0.02 in gray, so no colour is ordered by its gray
PALETTE = torch.tensor([[0.95, 0.55, 0.70], [0.80, 0.70, 0.10], [0.95, 0.55, 0.70], [0.50, 0.20, 0.60]])


def striped(size: int = 96, width: int = 2) -> torch.Tensor:
    """1×3×size×size diagonal stripes `width` px wide, cycling through PALETTE: a period of 8 px, which a
    fit at a quarter of the side sees as 2 px, averaged away."""
    rows, cols = torch.meshgrid(torch.arange(size), torch.arange(size), indexing="ij")
    stripe = ((rows + cols) // width) % len(PALETTE)
    return PALETTE[stripe].permute(2, 0, 1)[None]


def test_refinement_restores_stripes_of_a_palette_finer_than_the_fit():
    image = striped()
    gray = to_gray(image)
    hole = torch.zeros_like(gray)
    hole[..., 32:64, 24:72] = 1
    # the true colours at a quarter of the side: the best a quarter-resolution fit can give
    chroma = guided_chroma(F.interpolate(image, 24, mode="area"), gray, 1, 1e-4, "fit")
    guided = with_known_chroma(chroma, gray, image, hole, 4.0)
    refined = with_known_chroma(refine_chroma(chroma, gray, image, hole, F.l1_loss), gray, image, hole, 4.0)
    inside = hole.bool().expand_as(image)
    hole_psnr = {
        name: psnr(out[inside].view(1, 1, 1, -1), image[inside].view(1, 1, 1, -1)).item()
        for name, out in (("guided", guided), ("refined", refined))
    }
    assert hole_psnr["refined"] > 35 and hole_psnr["refined"] > hole_psnr["guided"] + 10, hole_psnr
    assert torch.allclose(to_gray(refined), gray, atol=2e-3)  # the gray stays the luminance


def test_refinement_without_known_pixels_changes_nothing_and_repeats_itself():
    image = striped(32)
    gray, chroma = to_gray(image), torch.rand(1, 2, 32, 32) * 0.2 - 0.1
    everything = torch.ones_like(gray)
    assert torch.equal(refine_chroma(chroma, gray, image, everything, F.l1_loss, iterations=20), chroma)
    half = torch.zeros_like(gray)
    half[..., :16, :] = 1
    runs = [refine_chroma(chroma, gray, image, half, F.l1_loss, iterations=20) for _ in range(2)]
    assert torch.equal(*runs) and not torch.equal(runs[0], chroma)


def test_fast_paper_refines_and_the_setting_is_checked():
    assert preset("fast_paper").refine == {
        "iterations": 1000,
        "channels": 32,
        "window": 5,
        "lr": 0.02,
        "samples": 8192,
    }
    assert preset("fast_paper", "refine.iterations=0").refine["iterations"] == 0
    assert preset("paper").refine["iterations"] == 0
    with pytest.raises(Exception, match="refine takes"):  # a ValueError, wrapped by Hydra
        preset("fast_paper", "+refine.steps=3")
