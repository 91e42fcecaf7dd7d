"""The colorizer contract shared by the internal colorization and the guided-colorization baselines.

A colorizer restores the colors of a batch from its known pixels, guided by a gray image that is complete
(the monochromic bottleneck's output, or a decolorized ground truth in the Table 3 protocol).
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import kornia
from torch import Tensor

# EII §3.2: the monochromic image is 0.30 R + 0.59 G + 0.11 B.
GRAY_WEIGHTS = (0.30, 0.59, 0.11)


def to_gray(image: Tensor) -> Tensor:
    """B×3×H×W RGB -> B×1×H×W gray with the paper's weights."""
    return kornia.color.rgb_to_grayscale(image, rgb_weights=image.new_tensor(GRAY_WEIGHTS))


def with_hints(
    image: Tensor, mask: Tensor, hint: Tensor | None, hint_mask: Tensor | None
) -> tuple[Tensor, Tensor]:
    """User color hints (EII §4.5, appendix C) as extra known pixels: their colors replace the image's and
    they leave the missing set. hint: B×3×H×W colors, hint_mask: B×1×H×W, 1 where a hint is given."""
    if hint is None or hint_mask is None:
        return image, mask
    hint_mask = hint_mask.to(mask.dtype)
    return image * (1 - hint_mask) + hint * hint_mask, mask * (1 - hint_mask)


class Colorizer(ABC):
    """`colorize(gray, image, mask, hint, hint_mask)`: gray B×1×H×W (complete), image B×3×H×W whose colors
    are valid where mask is 0, mask B×1×H×W (1 = color missing), optional user hints (hint B×3×H×W colors
    where hint_mask B×1×H×W is 1); returns B×3×H×W RGB in [0, 1] for the whole image (callers composite it
    with the known pixels). Methods that only see known pixels merge hints with `with_hints`. Must work on
    any device, also under torch.no_grad or torch.inference_mode (Lightning's test loop): a colorizer that
    optimizes enables autograd itself."""

    name: str = "colorizer"

    @abstractmethod
    def colorize(
        self,
        gray: Tensor,
        image: Tensor,
        mask: Tensor,
        hint: Tensor | None = None,
        hint_mask: Tensor | None = None,
    ) -> Tensor: ...

    def __call__(
        self,
        gray: Tensor,
        image: Tensor,
        mask: Tensor,
        hint: Tensor | None = None,
        hint_mask: Tensor | None = None,
    ) -> Tensor:
        return self.colorize(gray, image, mask, hint, hint_mask).clamp(0, 1)
