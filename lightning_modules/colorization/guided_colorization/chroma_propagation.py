"""The base of the guided-colorization baselines of EII Table 3 (§3.3.1, §4.4.3): Levin et al., the
domain transform and Zhang et al.

Each keeps the given gray as the luminance and predicts only the chroma (I and Q of YIQ,
color_conversions.py) from the known pixels, user hints counting as known ones, so the three differ only
in how they spread chroma into the hole. Levin and the domain transform propagate it per image on the CPU
(scipy, OpenCV): `ChromaPropagation`.
"""

from __future__ import annotations

from abc import abstractmethod

import numpy as np
import torch
from torch import Tensor

from lightning_modules.colorization.color_conversions import rgb_to_yiq, yiq_to_rgb
from lightning_modules.colorization.colorizer import Colorizer, Hints, merge_hints


class GuidedColorization(Colorizer):
    """Chroma from `chroma(gray, image, known)`, put back on the given gray."""

    @abstractmethod
    def chroma(self, gray: Tensor, image: Tensor, known: Tensor) -> Tensor:
        """IQ B×2×H×W everywhere, from gray B×1×H×W, image B×3×H×W and known B×1×H×W (bool)."""

    @torch.no_grad()
    def colorize(self, gray: Tensor, image: Tensor, mask: Tensor, hints: Hints | None = None) -> Tensor:
        image, mask = merge_hints(image, mask, hints)  # hints are known pixels here
        chroma = self.chroma(gray, image, mask <= 0.5)
        return yiq_to_rgb(gray, chroma.to(gray.device, gray.dtype))


class ChromaPropagation(GuidedColorization):
    """Guided colorization that fills each image's chroma with numpy on the CPU, in `dtype`."""

    dtype: torch.dtype = torch.float64

    @abstractmethod
    def propagate(self, luma: np.ndarray, chroma: np.ndarray, known: np.ndarray) -> np.ndarray:
        """Chroma H×W×2 of one image filled everywhere from its known pixels (luma H×W, known H×W bool)."""

    def chroma(self, gray: Tensor, image: Tensor, known: Tensor) -> Tensor:
        chroma = rgb_to_yiq(image.to(self.dtype))[:, 1:].permute(0, 2, 3, 1).cpu().numpy()
        luma = gray.to(self.dtype)[:, 0].cpu().numpy()
        known = known[:, 0].cpu().numpy()
        filled = np.stack([self.propagate(y, c, k) for y, c, k in zip(luma, chroma, known)])
        return torch.from_numpy(filled).permute(0, 3, 1, 2)
