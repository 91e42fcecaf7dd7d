"""The space every method reconstructs in: RGB as published, or the monochromic bottleneck (EII §3).

With `mono` any backbone sees the RGB image plus its gray version, predicts one gray channel and is
trained against the gray target (external learning, EII §3.2); at inference the completed gray image is
colorized from the image's own known pixels by a per-image colorizer (internal learning, EII §3.3). A
backbone only asks for `image_channels` / `out_channels`; nothing else differs between methods, so the
base module (base.py) gives every method both forms through `model.bottleneck`.
"""

from __future__ import annotations

from typing import Any

import torch
from hydra.utils import instantiate
from torch import Tensor

from lightning_modules.colorization.color_conversions import to_gray
from lightning_modules.colorization.colorizer import Colorizer, Hints


class Bottleneck:
    """RGB reconstruction: the published set-up of every backbone."""

    name = "rgb"
    image_channels = 3  # channels of the image part of the generator input
    out_channels = 3  # channels the generator predicts

    def use_colorization(self, colorization: dict[str, Any] | None) -> None:
        """The internal stage to restore colors with; RGB reconstruction has none."""

    def network_image(self, image: Tensor) -> Tensor:
        """What the generator sees of the B×3×H×W image in [0, 1]."""
        return image

    def target(self, image: Tensor) -> Tensor:
        """What the generator reconstructs (and its discriminator judges)."""
        return image

    def restore(self, output: Tensor, image: Tensor, mask: Tensor, hints: Hints | None = None) -> Tensor:
        """The generator's output back to RGB (the image's colors where mask is 0, with the user's color
        hints where given). RGB reconstruction has nothing to restore: hints do not apply to it."""
        return output


class MonochromicBottleneck(Bottleneck):
    """EII: RGB + gray in (0.30R + 0.59G + 0.11B, §3.2), gray out, colors restored per image (§3.3).

    colorization: the colorizer's Hydra config (conf/colorization/, default the paper's progressive
    colorization), built on first use: training never needs it.
    """

    name = "mono"
    image_channels = 4
    out_channels = 1

    def __init__(self, colorization: dict[str, Any] | None):
        self.use_colorization(colorization)

    def use_colorization(self, colorization: dict[str, Any] | None) -> None:
        """Switch the internal stage: it runs per image, so evaluate / predict may pick another preset."""
        self.colorization = colorization
        self._colorizer: Colorizer | None = None

    @property
    def colorizer(self) -> Colorizer:
        if self._colorizer is None:
            if not self.colorization:
                raise ValueError(
                    "the monochromic bottleneck needs a colorization config (e.g. colorization=paper)"
                )
            self._colorizer = instantiate(self.colorization)
        return self._colorizer

    def network_image(self, image: Tensor) -> Tensor:
        return torch.cat([image, to_gray(image)], dim=1)

    def target(self, image: Tensor) -> Tensor:
        return to_gray(image)

    def restore(self, output: Tensor, image: Tensor, mask: Tensor, hints: Hints | None = None) -> Tensor:
        gray = output * mask + to_gray(image) * (1 - mask)  # the completed monochromic bottleneck
        return self.colorizer(gray.float(), image.float(), mask.float(), hints)


class RecoloredBottleneck(Bottleneck):
    """An RGB method whose output is re-colored by the internal stage (EII §3.1.1, Fig. 3): its gray is
    kept and its colors come from the image's own known pixels. Chosen at evaluate / predict time."""

    name = "recolored"

    def __init__(self, colorization: dict[str, Any] | None):
        self.monochromic = MonochromicBottleneck(colorization)

    def restore(self, output: Tensor, image: Tensor, mask: Tensor, hints: Hints | None = None) -> Tensor:
        return self.monochromic.restore(to_gray(output), image, mask, hints)


def make_bottleneck(name: str, colorization: dict[str, Any] | None = None) -> Bottleneck:
    """`model.bottleneck`: "rgb" (as published) or "mono" (EII's external-internal scheme)."""
    if name == "rgb":
        return Bottleneck()
    if name == "mono":
        return MonochromicBottleneck(colorization)
    raise ValueError(f"model.bottleneck must be 'rgb' or 'mono', got {name!r}")
