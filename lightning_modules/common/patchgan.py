"""pix2pix's PatchGAN discriminator (Isola et al., CVPR 2017, `NLayerDiscriminator`): 4×4 convolutions
64-128-256 at stride 2, then 512 and 1 at stride 1, batch norm (not on the first) and LeakyReLU 0.2; with
three layers each output judges a 70×70 patch. Logits out: the sigmoid belongs to the loss.

padding: 1 as pix2pix (30×30 outputs at 256²), 2 as pix2pixHD, whose multi-scale discriminators use it.
"""

from __future__ import annotations

from torch import Tensor, nn


class PatchGAN(nn.Module):
    def __init__(self, in_channels: int, channels: int = 64, layers: int = 3, padding: int = 1):
        super().__init__()
        widths = [channels * min(2**i, 8) for i in range(layers + 1)]
        modules: list[nn.Module] = [
            nn.Conv2d(in_channels, widths[0], 4, stride=2, padding=padding),
            nn.LeakyReLU(0.2),
        ]
        for index, (c_in, c_out) in enumerate(zip(widths[:-1], widths[1:]), start=1):
            stride = 2 if index < layers else 1
            modules += [
                nn.Conv2d(c_in, c_out, 4, stride=stride, padding=padding),
                nn.BatchNorm2d(c_out),
                nn.LeakyReLU(0.2),
            ]
        modules.append(nn.Conv2d(widths[-1], 1, 4, stride=1, padding=padding))
        self.layers = nn.Sequential(*modules)

    def forward(self, x: Tensor) -> Tensor:
        return self.layers(x)
