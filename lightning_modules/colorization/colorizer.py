"""The colorizer contract shared by the internal colorization and the guided-colorization baselines.

A colorizer restores the colors of a batch from its known pixels, guided by a gray image that is complete
(the monochromic bottleneck's output, or a decolorized ground truth in the Table 3 protocol), and by the
user's color hints when there are any (EII §4.5, appendix C).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any

import torch.nn.functional as F
from torch import Tensor


@dataclass(frozen=True)
class Hints:
    """User color hints: colors B×3×H×W, given where mask B×1×H×W is 1 (the batch's "hint" and
    "hint_mask")."""

    colors: Tensor
    mask: Tensor

    @classmethod
    def from_batch(cls, batch: dict[str, Any]) -> Hints | None:
        """The hints of a batch dict, or None when it has none."""
        if batch.get("hint") is None or batch.get("hint_mask") is None:
            return None
        return cls(batch["hint"], batch["hint_mask"])

    def resized(self, size: tuple[int, int]) -> Hints:
        """The hints at another size (box filter): a pixel holds a hint if any pixel of its box does, with
        their mean color, so that a one-pixel hint survives downscaling."""
        mask = self.mask.to(self.colors.dtype)
        coverage = F.interpolate(mask, size, mode="area")
        colors = F.interpolate(self.colors * mask, size, mode="area") / coverage.clamp_min(1e-12)
        return Hints(colors, (coverage > 0).to(mask.dtype))

    def merge(self, image: Tensor, mask: Tensor) -> tuple[Tensor, Tensor]:
        """The hints as extra known pixels: their colors replace the image's and they leave the missing
        set (mask: 1 = color missing)."""
        hinted = self.mask.to(mask.dtype)
        return image * (1 - hinted) + self.colors * hinted, mask * (1 - hinted)


def merge_hints(image: Tensor, mask: Tensor, hints: Hints | None) -> tuple[Tensor, Tensor]:
    """`hints.merge(image, mask)`, or the image and mask unchanged without hints."""
    return (image, mask) if hints is None else hints.merge(image, mask)


class Colorizer(ABC):
    """`colorize(gray, image, mask, hints)`: gray B×1×H×W (complete), image B×3×H×W whose colors are valid
    where mask B×1×H×W is 0 (1 = color missing), optional user `Hints`; returns B×3×H×W RGB in [0, 1] for
    the whole image (callers composite it with the known pixels). Must work on any device, also under
    torch.no_grad or torch.inference_mode (Lightning's test loop): a colorizer that optimizes enables
    autograd itself."""

    name: str  # the Table 3 column it is (conf/colorizer/)

    @abstractmethod
    def colorize(self, gray: Tensor, image: Tensor, mask: Tensor, hints: Hints | None = None) -> Tensor: ...

    def __call__(self, gray: Tensor, image: Tensor, mask: Tensor, hints: Hints | None = None) -> Tensor:
        return self.colorize(gray, image, mask, hints).clamp(0, 1)
