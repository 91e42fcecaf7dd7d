"""DeepGIN's conditional multi-scale discriminators D1, D2 (§4.1, "Conditional Multi-Scale
Discriminators"): pix2pixHD-style multi-scale PatchGANs with spectral normalization after every conv.

Each scale sees concat(I_in, I) (I = I_compltd or I_gt, 3 + 3 channels) at 256^2 and, after an average
pool (3x3, stride 2, count_include_pad=False), at 128^2. Layers as the authors' NLayerDiscriminator with
n_layers_D=2, ndf=64 (rlct1/gin, models/networks.py, options/train_options.py): 4x4 convs with padding 2,
stride 2, 2, 1, 1 and 64, 128, 256, 256 channels, LeakyReLU(0.2) between them and none after the last.
The output keeps its 256 channels, "a set of feature maps ... x c" of about H/4 x W/4 (H/4 + 3 with this
padding; the paper's H/2^2 is the approximate size). Each value judges one local region (hinge loss).
"""

from __future__ import annotations

from torch import Tensor, nn

from lightning_modules.common.spectral_norm import spectral_norm


class PatchDiscriminator(nn.Module):
    """One scale: four SN 4x4 convs. PyTorch's default init, as in the authors' code (their weights_init
    skips these convs, whose weight their SpectralNorm wrapper has renamed)."""

    def __init__(self, in_channels: int = 6, ndf: int = 64) -> None:
        super().__init__()
        widths = [ndf, 2 * ndf, 4 * ndf, 4 * ndf]
        strides = [2, 2, 1, 1]
        layers: list[nn.Module] = []
        for i, (c_in, c_out, stride) in enumerate(zip([in_channels, *widths[:-1]], widths, strides)):
            layers.append(spectral_norm(nn.Conv2d(c_in, c_out, 4, stride, padding=2)))
            if i < len(widths) - 1:  # in place: on the conv's output, which no backward needs
                layers.append(nn.LeakyReLU(0.2, inplace=True))
        self.layers = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        return self.layers(x)


class DeepGINDiscriminator(nn.Module):
    """`num_scales` independent PatchDiscriminators on an average-pooled pyramid (two as published)."""

    def __init__(self, in_channels: int = 6, ndf: int = 64, num_scales: int = 2) -> None:
        super().__init__()
        self.scales = nn.ModuleList(PatchDiscriminator(in_channels, ndf) for _ in range(num_scales))
        self.downsample = nn.AvgPool2d(3, stride=2, padding=1, count_include_pad=False)

    def forward(self, x: Tensor) -> list[Tensor]:
        """x: B x in_channels x H x W, concat(masked image, image); returns one patch map per scale,
        full resolution first (B x 4*ndf x ~H/4 x ~W/4, then ~H/8 x ~W/8), raw hinge logits."""
        outputs = []
        for i, discriminator in enumerate(self.scales):
            if i:
                x = self.downsample(x)
            outputs.append(discriminator(x))
        return outputs
