"""colorizer=matting_laplacian (this suite's addition to EII Table 3's guided colorizations): chroma
propagation by the matting Laplacian, against a dense solve and against Levin et al. 2004 where its
model differs."""

from __future__ import annotations

import numpy as np
import torch

from lightning_modules.colorization.color_conversions import yiq_to_rgb
from lightning_modules.colorization.guided_colorization.levin import LevinColorization
from lightning_modules.colorization.guided_colorization.matting_laplacian import (
    MattingLaplacianColorization,
    matting_solve,
)


def psnr(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return -10 * torch.log10(((a - b) ** 2).mean(dim=(1, 2, 3)))


def dense_matting_laplacian(luma: np.ndarray, eps: float) -> np.ndarray:
    """Σ over the 3×3 windows inside the image of δ_ij − (1 + (Y_i − μ)(Y_j − μ)/(σ² + ε/9)) / 9."""
    height, width = luma.shape
    index = np.arange(height * width).reshape(height, width)
    laplacian = np.zeros((height * width,) * 2)
    for y in range(height - 2):
        for x in range(width - 2):
            pixels = index[y : y + 3, x : x + 3].ravel()
            values = luma.ravel()[pixels]
            centred = values - values.mean()
            window = np.eye(9) - (1 + np.outer(centred, centred) / (values.var() + eps / 9)) / 9
            laplacian[np.ix_(pixels, pixels)] += window
    return laplacian


def test_matting_laplacian_propagation_equals_a_dense_solve():
    rng = np.random.default_rng(0)
    luma, chroma = rng.random((12, 14)), rng.random((12, 14, 2)) - 0.5
    unknown = np.zeros((12, 14), dtype=bool)
    unknown[3:8, 4:10] = unknown[0, 0] = True  # a corner pixel lies in a single window
    laplacian, u = dense_matting_laplacian(luma, 1e-4), unknown.ravel()
    expected = chroma.reshape(-1, 2).copy()
    expected[u] = np.linalg.solve(laplacian[np.ix_(u, u)], -laplacian[np.ix_(u, ~u)] @ expected[~u])
    np.testing.assert_allclose(matting_solve(luma, chroma, unknown, 1e-4).reshape(-1, 2), expected, atol=1e-9)


def test_a_colour_that_follows_the_shading_crosses_the_hole_with_the_matting_laplacian_only():
    """Chroma linear in a textured gray with a bright bump inside the hole: the matting Laplacian's model
    carries the colour up the bump; Levin et al. 2004's interpolates the border's colours across it."""
    y, x = torch.meshgrid(torch.linspace(0, 1, 48), torch.linspace(0, 1, 48), indexing="ij")
    bump = torch.exp(-((y - 0.5) ** 2 + (x - 0.5) ** 2) / 0.01)
    grain = 0.1 * torch.rand(48, 48, generator=torch.Generator().manual_seed(0))  # windows far above ε
    gray = (0.2 + 0.2 * x + 0.5 * bump + grain)[None, None]
    chroma = torch.cat([0.4 * (gray - 0.5), -0.2 * (gray - 0.5) + 0.02], dim=1)
    image = yiq_to_rgb(gray, chroma)
    mask = torch.zeros_like(gray)
    mask[..., 12:36, 14:34] = 1
    scores = {
        colorizer.name: psnr(colorizer(gray, image, mask) * mask + image * (1 - mask), image).item()
        for colorizer in (MattingLaplacianColorization(), LevinColorization())
    }
    assert scores["matting_laplacian"] > scores["levin"] + 5, scores  # 37.9 against 30.8 dB
