"""Multi-scale patch discriminators (Block-wise paper §3.2): one PatchGAN per image scale (full, ½, ¼),
each judging the whole image, conditioned on the incomplete input as in eq. 1, D(s, x).

Each is pix2pix's 70×70 PatchGAN (ref. [30], common/patchgan.py); the scales and the padding of 2 are
pix2pixHD's (ref. [32], 3×3 stride-2 average pooling), whose three-scale design the paper follows.
"""

from __future__ import annotations

from torch import Tensor, nn

from lightning_modules.blockwise.patch_labels import conv_geometry, fake_patches
from lightning_modules.common.patchgan import PatchGAN


class MultiScalePatchDiscriminator(nn.Module):
    """in_channels: the conditioning input and the image judged, concatenated; returns one logit map per
    scale, finest first."""

    def __init__(self, in_channels: int, channels: int = 64, layers: int = 3, scales: int = 3):
        super().__init__()
        self.scales = nn.ModuleList(PatchGAN(in_channels, channels, layers, padding=2) for _ in range(scales))
        self.downsample = nn.AvgPool2d(3, stride=2, padding=1, count_include_pad=False)

    def forward(self, x: Tensor) -> list[Tensor]:
        outputs = []
        for index, discriminator in enumerate(self.scales):
            if index:
                x = self.downsample(x)
            outputs.append(discriminator(x))
        return outputs

    def fake_labels(self, mask: Tensor) -> list[Tensor]:
        """Per scale, 1 where an output's receptive field (through the pooling that made its scale)
        overlaps the hole: the patches of a restored image that are fake (eq. 4's Q)."""
        pooling = conv_geometry(self.downsample)
        return [
            fake_patches(mask, pooling * index + conv_geometry(discriminator))
            for index, discriminator in enumerate(self.scales)
        ]
