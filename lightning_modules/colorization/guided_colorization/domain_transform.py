"""Gastal & Oliveira 2011, "Domain transform for edge-aware image and video processing" (EII Table 3).

Colorization by normalized convolution: chroma = DT(chroma · known) / DT(known), both filtered with the
edge-aware domain transform guided by the luminance, so colors spread along regions of similar intensity
and stop at edges, in the YIQ space of every guided baseline (chroma_propagation.py). OpenCV is imported
when the colorizer is built, so the rest of the suite runs without it.
"""

from __future__ import annotations

import importlib
from typing import Literal

import numpy as np
import torch

from lightning_modules.colorization.guided_colorization.chroma_propagation import ChromaPropagation

_MODES = {"NC": "DTF_NC", "IC": "DTF_IC", "RF": "DTF_RF"}  # cv2.ximgproc's filter modes

# Where almost no known pixel reaches (DT(known) ≪ this weight, e.g. a region walled off by strong edges,
# or beyond the NC box's reach, where DT(known) is exactly 0) the chroma falls back to the mean known
# chroma instead of 0/0: the weight acts as a faint prior worth this fraction of a known neighbourhood.
_FALLBACK_WEIGHT = 1e-3


class DomainTransformColorization(ChromaPropagation):
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

    dtype = torch.float32  # cv2.ximgproc.dtFilter filters float32 images

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
        _ximgproc()  # fail here, not at the first image, without OpenCV

    def propagate(self, luma: np.ndarray, chroma: np.ndarray, known: np.ndarray) -> np.ndarray:
        mean = chroma[known > 0].mean(0) if known.any() else np.zeros(2, np.float32)
        source = np.dstack([chroma * known[..., None], known]).astype(np.float32)
        ximgproc = _ximgproc()
        filtered = ximgproc.dtFilter(
            luma.astype(np.float32),
            source,
            self.sigma_spatial,
            self.sigma_color,
            mode=getattr(ximgproc, _MODES[self.mode]),
            numIters=self.num_iterations,
        )
        return (filtered[..., :2] + _FALLBACK_WEIGHT * mean) / (filtered[..., 2:] + _FALLBACK_WEIGHT)


def _ximgproc():
    """OpenCV's extended image processing module, with the fix when it is missing."""
    try:
        return importlib.import_module("cv2.ximgproc")
    except ImportError as err:
        raise ImportError(
            "the domain-transform colorization needs OpenCV's contrib modules (cv2.ximgproc): "
            "pip install opencv-contrib-python-headless (it is in the suite's dependencies; a plain "
            f"opencv-python install lacks ximgproc and shadows it). Import failed with: {err}"
        ) from err
