"""The U-Net of both translation networks (Song et al. 2018, §3.3.1 / §3.3.3): convolution blocks down,
deconvolution blocks up, skip connections between blocks of the same resolution "similar to the style of
U-Net" (pix2pix, the paper's ref. [17]).

A block is the layer, batch norm and leaky ReLU 0.2 (§3.3.1). The paper gives neither kernel sizes nor
widths: they are pix2pix's (4×4, stride 2; 64 channels doubling to at most 512), with pix2pix's
exceptions: no batch norm on the first block (it sees the raw input) nor on the innermost one (a 1×1 map
of a single image has no batch statistics), and a tanh output layer.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor, nn

Upsampling = Literal["deconv", "resize"]


def up_layer(c_in: int, c_out: int, upsampling: Upsampling, trim: int = 0) -> nn.Module:
    """×2 upsampling: a 4×4 stride-2 deconvolution, or the resize-convolution of Song et al. §4.3's
    ablation (nearest ×2, then a 3×3 convolution: Odena et al., the paper's ref. [26], against
    checkerboard artifacts). trim: the deconvolution's output is that many pixels smaller, its border
    cropped (by its padding)."""
    if upsampling == "deconv":
        return nn.ConvTranspose2d(
            c_in, c_out, 4, stride=2, padding=1 + (trim + 1) // 2, output_padding=trim % 2
        )
    if trim:
        raise ValueError("only the deconvolution output can be trimmed")
    if upsampling == "resize":
        return nn.Sequential(
            nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(c_in, c_out, 3, padding=1)
        )
    raise ValueError(f"upsampling must be 'deconv' or 'resize', got {upsampling!r}")


def block(layer: nn.Module, channels: int, norm: bool) -> nn.Sequential:
    return nn.Sequential(layer, *([nn.BatchNorm2d(channels)] if norm else []), nn.LeakyReLU(0.2))


class UNet(nn.Module):
    """down convolution blocks (the first with `first_stride`, the others stride 2), then up
    deconvolution blocks; the output of deconvolution block j < skips is concatenated with the
    convolution block of its resolution. The last deconvolution is the tanh output layer, output_trim
    pixels smaller than twice its input."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        down: int,
        up: int,
        skips: int,
        first_stride: int = 2,
        channels: int = 64,
        max_channels: int = 512,
        upsampling: Upsampling = "deconv",
        output_trim: int = 0,
    ):
        super().__init__()
        if not 0 <= skips <= min(up - 1, down - 1):
            raise ValueError(f"{skips} skip connections do not fit {down} down / {up} up blocks")
        widths = [min(channels * 2**i, max_channels) for i in range(down)]
        self.encoder = nn.ModuleList()
        for index, (c_in, c_out) in enumerate(zip([in_channels, *widths[:-1]], widths)):
            stride = first_stride if index == 0 else 2
            # a stride-1 block keeps the size: 3×3, since a 4×4 kernel cannot be padded symmetrically
            conv = nn.Conv2d(c_in, c_out, 4 if stride == 2 else 3, stride=stride, padding=1)
            self.encoder.append(block(conv, c_out, norm=0 < index < down - 1))
        self.skips = skips
        self.decoder = nn.ModuleList()
        c_in = widths[-1]
        for index in range(up):
            if index == up - 1:
                self.decoder.append(
                    nn.Sequential(up_layer(c_in, out_channels, upsampling, output_trim), nn.Tanh())
                )
                break
            # mirrored widths where a skip joins; the extra upsampling blocks of G2 keep `channels`
            c_out = widths[down - 2 - index] if index < skips else channels
            self.decoder.append(block(up_layer(c_in, c_out, upsampling), c_out, norm=True))
            c_in = c_out + (widths[down - 2 - index] if index < skips else 0)

    def forward(self, x: Tensor) -> Tensor:
        features = []
        for layer in self.encoder:
            x = layer(x)
            features.append(x)
        x = features.pop()
        for index, layer in enumerate(self.decoder):
            x = layer(x)
            if index < self.skips:
                x = torch.cat([x, features.pop()], dim=1)
        return x
