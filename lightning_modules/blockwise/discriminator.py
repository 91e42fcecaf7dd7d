"""Multi-scale patch discriminators (Block-wise paper §3.2): one PatchGAN per image scale (full, ½, ¼),
each judging the whole image, conditioned on the incomplete input as in eq. 1, D(s, x).

Each is pix2pix's 70×70 PatchGAN (Isola et al. 2017, ref. [30]): 4×4 convolutions 64-128-256 with stride 2,
then 512 and 1 with stride 1, batch norm and LeakyReLU 0.2; scales are made with pix2pixHD's 3×3 stride-2
average pooling (ref. [32]), which the paper's three-scale design follows.
"""

from __future__ import annotations

from torch import Tensor, nn

from lightning_modules.blockwise.patch_labels import conv_geometry, fake_patches


class PatchDiscriminator(nn.Module):
    def __init__(self, in_channels: int, channels: int = 64, layers: int = 3):
        super().__init__()
        widths = [channels * min(2**i, 8) for i in range(layers + 1)]
        modules: list[nn.Module] = [
            nn.Conv2d(in_channels, widths[0], 4, stride=2, padding=2),
            nn.LeakyReLU(0.2),
        ]
        for index, (c_in, c_out) in enumerate(zip(widths[:-1], widths[1:]), start=1):
            stride = 2 if index < layers else 1
            modules += [
                nn.Conv2d(c_in, c_out, 4, stride=stride, padding=2),
                nn.BatchNorm2d(c_out),
                nn.LeakyReLU(0.2),
            ]
        modules.append(nn.Conv2d(widths[-1], 1, 4, stride=1, padding=2))
        self.layers = nn.Sequential(*modules)

    def forward(self, x: Tensor) -> Tensor:
        return self.layers(x)


class MultiScalePatchDiscriminator(nn.Module):
    """in_channels: the conditioning input and the image judged, concatenated; returns one logit map per
    scale, finest first."""

    def __init__(self, in_channels: int, channels: int = 64, layers: int = 3, scales: int = 3):
        super().__init__()
        self.scales = nn.ModuleList(PatchDiscriminator(in_channels, channels, layers) for _ in range(scales))
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
