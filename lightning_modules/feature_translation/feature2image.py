"""The Feature2Image generator G_2 (Song et al. 2018, §3.3.3): a U-Net from a VGG19 feature map to the whole
image. At 256² it takes relu3_1's 64×64×256 map through seven convolution blocks (the first at stride 1,
then six stride-2 ones down to 1×1) and eight deconvolution blocks; the first six deconvolutions have skip
connections, the last two upsample past the feature map's resolution to the 256×256×3 output. The depth
follows the training size (scales 128 / 256 / 512, §4.1), so the innermost block is always 1×1.
"""

from __future__ import annotations

import math
from typing import NamedTuple

from torch import Tensor, nn

from lightning_modules.feature_translation.unet import UNet, Upsampling


class VGGLayer(NamedTuple):
    channels: int
    stride: int  # image pixels per feature position


# §4.3: relu3_1 (the default) against the ablation's relu2_1 and relu4_1
VGG_LAYERS = {"relu2_1": VGGLayer(128, 2), "relu3_1": VGGLayer(256, 4), "relu4_1": VGGLayer(512, 8)}


class Feature2ImageGenerator(nn.Module):
    """in_channels: the feature map's; feature_stride: image pixels per feature position (4 for relu3_1),
    i.e. the upsampling blocks past the skipped ones."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        image_size: int = 256,
        feature_stride: int = 4,
        channels: int = 64,
        max_channels: int = 512,
        upsampling: Upsampling = "deconv",
    ):
        super().__init__()
        extra = round(math.log2(feature_stride))
        down = round(math.log2(image_size)) - extra + 1
        if 2**extra != feature_stride or image_size != 2 ** (down - 1 + extra) or down < 3:
            raise ValueError(
                f"image_size {image_size} and feature_stride {feature_stride} must be powers of two with "
                "at least a 4×4 feature map"
            )
        self.image_size, self.feature_stride = image_size, feature_stride
        self.unet = UNet(
            in_channels, out_channels, down, down + extra - 1, down - 1, 1, channels, max_channels, upsampling
        )

    def forward(self, features: Tensor) -> Tensor:
        """B×C×S/stride×S/stride features → B×C'×S×S image in [-1, 1]."""
        return self.unet(features)
