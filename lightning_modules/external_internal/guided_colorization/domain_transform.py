"""Gastal & Oliveira 2011, "Domain transform for edge-aware image and video processing" (EII Table 3).

Colorization by normalized convolution: chroma = DT(chroma · known) / DT(known), both filtered with the
edge-aware domain transform guided by the luminance, so colors spread along regions of similar intensity
and stop at edges. Done in the YIQ space of `levin.py` with Y = the given gray: the result keeps the
bottleneck's luminance, and the three guided baselines differ only in how they propagate chroma.
"""

from __future__ import annotations

from typing import Literal

import cv2
import numpy as np
import torch
from torch import Tensor

from lightning_modules.external_internal.colorizer import Colorizer, with_hints
from lightning_modules.external_internal.guided_colorization.levin import rgb_to_yiq, yiq_to_rgb

_MODES = {"NC": cv2.ximgproc.DTF_NC, "IC": cv2.ximgproc.DTF_IC, "RF": cv2.ximgproc.DTF_RF}

# Where almost no known pixel reaches (DT(known) ≪ this weight, e.g. a region walled off by strong edges,
# or beyond the NC box's reach, where DT(known) is exactly 0) the chroma falls back to the mean known
# chroma instead of 0/0: the weight acts as a faint prior worth this fraction of a known neighbourhood.
_FALLBACK_WEIGHT = 1e-3


class DomainTransformColorization(Colorizer):
    """Normalized-convolution colorization with `cv2.ximgproc.dtFilter`.

    EII does not state its settings. The defaults are a middle choice: on a 512² photo missing a quarter
    in 16² blocks, hole PSNR ranged over 27–32.7 dB for σ_s ∈ {10, 30, 60}, σ_r ∈ {0.1, 0.3, 1}; 32.0 here.
    sigma_spatial: the filter's spatial extent in pixels (σ_s); it must reach into the holes.
    sigma_color: the luminance difference, in gray units on [0, 1], that counts like σ_s pixels of
        distance (σ_r): crossing a luminance step Δ costs σ_s / σ_r · Δ pixels.
    mode: "NC" normalized convolution (box kernels of finite reach), "IC" interpolated convolution, or
        "RF" recursive filtering (exponential decay, infinite reach).
    num_iterations: filtering passes with shrinking kernels (OpenCV's default, 3).
    """

    name = "domain_transform"

    def __init__(
        self,
        sigma_spatial: float = 30.0,
        sigma_color: float = 0.3,
        mode: Literal["NC", "IC", "RF"] = "NC",
        num_iterations: int = 3,
    ):
        if mode not in _MODES:
            raise ValueError(f"mode must be one of {', '.join(_MODES)}, got {mode!r}")
        self.sigma_spatial, self.sigma_color = sigma_spatial, sigma_color
        self.mode, self.num_iterations = mode, num_iterations

    def propagate(self, luma: np.ndarray, chroma: np.ndarray, known: np.ndarray) -> np.ndarray:
        """Chroma H×W×2 of one image filled everywhere from its known pixels (H×W, 1 = known)."""
        mean = chroma[known > 0].mean(0) if known.any() else np.zeros(2, np.float32)
        source = np.dstack([chroma * known[..., None], known]).astype(np.float32)
        filtered = cv2.ximgproc.dtFilter(
            luma.astype(np.float32),
            source,
            self.sigma_spatial,
            self.sigma_color,
            mode=_MODES[self.mode],
            numIters=self.num_iterations,
        )
        return (filtered[..., :2] + _FALLBACK_WEIGHT * mean) / (filtered[..., 2:] + _FALLBACK_WEIGHT)

    @torch.no_grad()
    def colorize(
        self,
        gray: Tensor,
        image: Tensor,
        mask: Tensor,
        hint: Tensor | None = None,
        hint_mask: Tensor | None = None,
    ) -> Tensor:
        image, mask = with_hints(image, mask, hint, hint_mask)  # hints are known pixels here
        chroma = rgb_to_yiq(image.float())[:, 1:].permute(0, 2, 3, 1).cpu().numpy()
        luma = gray.float()[:, 0].cpu().numpy()
        known = (mask[:, 0] <= 0.5).float().cpu().numpy()
        filled = np.stack([self.propagate(y, c, k) for y, c, k in zip(luma, chroma, known)])
        filled = torch.from_numpy(filled).permute(0, 3, 1, 2).to(gray.device, gray.dtype)
        return yiq_to_rgb(gray, filled)
