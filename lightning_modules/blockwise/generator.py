"""The generator of block-wise procedural training (Block-wise paper §3.1, §3.3, Fig. 3).

The generator head is an FCN: a down-sampling front end of three stride-2 convolutions, nine residual
blocks whose convolutions have dilation 2, and an up-sampling back end of three stride-2 transposed
convolutions; every layer but the last is followed by batch norm and ReLU. The paper does not give widths
or kernel sizes; the defaults are those of the pix2pixHD global generator it builds on (3×3 kernels,
64-128-256 channels, ref. [32]), a choice of this suite.

Growth (§3.3): residual blocks r1…rN are appended after the trained ones, right before the back end, each
beside a skip path: h ← (1 − α)·h + α·r_i(h), α rising from 0 (the grown network equals the trained one)
to 1. Every block exists from the start so that a checkpoint has one shape whatever the phase; blocks not
yet added are skipped.

Convolution types (§3.1 and its ablation, §4.3): "dilated" (the paper's), "vanilla" (dilation 1),
"interpolated" (stride-1 convolutions followed by max pooling down or bilinear up-sampling, against
checkerboard artefacts), and "dilated_interpolated".
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

CONVOLUTIONS = ("vanilla", "dilated", "interpolated", "dilated_interpolated")


def down(c_in: int, c_out: int, interpolated: bool) -> list[nn.Module]:
    if interpolated:
        return [nn.Conv2d(c_in, c_out, 3, padding=1), nn.MaxPool2d(2)]
    return [nn.Conv2d(c_in, c_out, 3, stride=2, padding=1)]


def up(c_in: int, c_out: int, interpolated: bool) -> list[nn.Module]:
    if interpolated:
        # §3.1: "a dimension-preserving convolution layer of stride 1, followed by max pooling or bilinear
        # up-sampling": the convolution runs before the up-sampling, at the lower resolution
        return [
            nn.Conv2d(c_in, c_out, 3, padding=1),
            nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False),
        ]
    return [nn.ConvTranspose2d(c_in, c_out, 3, stride=2, padding=1, output_padding=1)]


class ResidualBlock(nn.Module):
    """conv-BN-ReLU-conv-BN-ReLU plus the input, both convolutions with `dilation`: §3.1 follows "each
    convolutional layer" with BN and ReLU (He et al. 2016's block has no ReLU after its second BN)."""

    def __init__(self, channels: int, dilation: int):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(channels, channels, 3, padding=dilation, dilation=dilation),
            nn.BatchNorm2d(channels),
            nn.ReLU(inplace=True),
            nn.Conv2d(channels, channels, 3, padding=dilation, dilation=dilation),
            nn.BatchNorm2d(channels),
            nn.ReLU(inplace=True),
        )

    def forward(self, x: Tensor) -> Tensor:
        return x + self.body(x)


class BlockwiseGenerator(nn.Module):
    """in_channels: image + mask (the image in [-1, 1] with holes zero-filled, §3.1); out: tanh in [-1, 1].

    channels: widths of the front end's three stages; head_blocks: the head's residual blocks (9);
    grown_blocks: the blocks r1…rN of procedural training (3, Alg. 1).
    """

    def __init__(
        self,
        in_channels: int = 4,
        out_channels: int = 3,
        channels: Sequence[int] = (64, 128, 256),
        head_blocks: int = 9,
        grown_blocks: int = 3,
        convolution: str = "dilated",
    ):
        super().__init__()
        if convolution not in CONVOLUTIONS:
            raise ValueError(f"convolution must be one of {CONVOLUTIONS}, got {convolution!r}")
        interpolated = convolution.endswith("interpolated")
        dilation = 2 if convolution.startswith("dilated") else 1
        front: list[nn.Module] = []
        for c_in, c_out in zip([in_channels, *channels[:-1]], channels):
            front += [*down(c_in, c_out, interpolated), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True)]
        self.front_end = nn.Sequential(*front)
        width = channels[-1]
        self.head_blocks = nn.Sequential(*(ResidualBlock(width, dilation) for _ in range(head_blocks)))
        self.grown_blocks = nn.ModuleList(ResidualBlock(width, dilation) for _ in range(grown_blocks))
        back: list[nn.Module] = []
        for c_in, c_out in zip(reversed(channels), [*reversed(channels[:-1])]):
            back += [*up(c_in, c_out, interpolated), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True)]
        back += [*up(channels[0], out_channels, interpolated), nn.Tanh()]
        self.back_end = nn.Sequential(*back)
        # Growth state, in the state dict so a checkpoint carries it: blocks added so far, and the weight
        # α of the newest one's path.
        self.register_buffer("active_blocks", torch.tensor(0))
        self.register_buffer("fade", torch.tensor(1.0))

    def grow(self, blocks: int, fade: float) -> None:
        """Sets the number of added blocks and the newest one's path weight α (0: skip path only)."""
        if not 0 <= blocks <= len(self.grown_blocks):
            raise ValueError(f"this generator grows 0…{len(self.grown_blocks)} blocks, not {blocks}")
        self.active_blocks.fill_(blocks)
        self.fade.fill_(fade)

    def forward(self, x: Tensor) -> Tensor:
        h = self.head_blocks(self.front_end(x))
        active = int(self.active_blocks)
        for index, block in enumerate(self.grown_blocks[:active], start=1):
            alpha = self.fade if index == active else 1.0
            h = (1 - alpha) * h + alpha * block(h)
        return self.back_end(h)
