"""EII Table 3 protocol (§4.4.3) as a method: decolorize the ground truth inside the mask, colorize it back.

Scoring colorizers on inpainted gray images would mix colorization errors with the inpainting's, so the
paper keeps the true luminance and removes only the colors inside random rectangular and irregular masks.
Wrapped as an InpaintingModule, the protocol runs through Lightning's test loop like any method:
same metrics, buckets, examples, devices and DDP.
"""

from __future__ import annotations

from typing import Any

from hydra.errors import InstantiationException
from hydra.utils import instantiate
from torch import Tensor

from lightning_modules.base import TEST_METRICS, InpaintingModule
from lightning_modules.colorization.color_conversions import to_gray
from utils.pretrained import MissingWeightsError


class ColorizationProtocol(InpaintingModule):
    """colorizer: a Colorizer's Hydra config (conf/colorizer/)."""

    def __init__(self, colorizer: dict[str, Any], test_metrics: tuple[str, ...] = TEST_METRICS):
        super().__init__(test_metrics=test_metrics)
        try:
            self.colorizer = instantiate(colorizer)
        except InstantiationException as err:
            if isinstance(err.__cause__, MissingWeightsError):  # callers report the method unavailable
                raise err.__cause__ from None
            raise

    def forward(self, image: Tensor, mask: Tensor) -> Tensor:
        # The gray is the ground truth's, complete; colors are known only outside the mask.
        return self.colorizer(to_gray(image), image, mask)
