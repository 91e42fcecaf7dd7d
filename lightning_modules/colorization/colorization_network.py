"""The generator of one level of the progressive colorization (EII §3.3.2, appendix A), for a whole batch.

Internal learning fits one network per image. B images get B independent ResNets that are stored and run
as one module: every convolution is grouped (groups = B) over the images stacked along the channels
(1 × B·C × H × W), and each BatchNorm2d has B·C channels. With a batch of one per network, BatchNorm's
statistics are per channel over H × W, so this is exactly B separate networks with their own statistics,
and Adam, being element-wise, on the stacked parameters is exactly B separate Adams; the images are
trained together in one kernel launch per layer instead of one after another.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor, nn

KERNEL_SIZE = 3  # appendix A: filter size 3
NEGATIVE_SLOPE = 0.2  # LeakyReLU(0.2) as in the public code (model.py)


def memory_format(device: torch.device) -> torch.memory_format:
    """channels_last for cuDNN's NHWC kernels on a GPU; on CPU a training step at 256² runs 1.5-1.8× slower
    in channels_last than in NCHW, mostly in oneDNN's backward convolution (AMD EPYC, torch 2.14, one image
    or a batch of two)."""
    return torch.channels_last if device.type == "cuda" else torch.contiguous_format


class GroupedConv(nn.Conv2d):
    """A reflection-padded 3×3 convolution of each of `num_networks` networks on its own channel slice."""

    def __init__(self, num_networks: int, in_channels: int, out_channels: int, bias: bool):
        super().__init__(
            num_networks * in_channels,
            num_networks * out_channels,
            KERNEL_SIZE,
            padding=KERNEL_SIZE // 2,
            padding_mode="reflect",
            groups=num_networks,
            bias=bias,
        )

    @torch.no_grad()
    def init_networks(self, generators: Sequence[torch.Generator]) -> None:
        """Network n drawn from generators[n] as nn.Conv2d initializes itself: kaiming_uniform(a=√5) and a
        bias in ±1/√fan_in, with the fan-in of one network (its in_channels × 3 × 3)."""
        for weight, bias, generator in zip(
            self.weight.chunk(self.groups),
            self.bias.chunk(self.groups) if self.bias is not None else [None] * self.groups,
            generators,
            strict=True,
        ):
            one = torch.empty(weight.shape)
            nn.init.kaiming_uniform_(one, a=math.sqrt(5), generator=generator)
            weight.copy_(one)
            if bias is not None:
                bound = 1 / math.sqrt(one[0].numel())
                bias.copy_(torch.empty(bias.shape).uniform_(-bound, bound, generator=generator))


class ResidualBlock(nn.Module):
    """conv-BN-LeakyReLU-conv-BN plus the input; convolutions without bias as in the public code."""

    def __init__(self, num_networks: int, channels: int):
        super().__init__()
        self.body = nn.Sequential(
            GroupedConv(num_networks, channels, channels, bias=False),
            nn.BatchNorm2d(num_networks * channels),
            nn.LeakyReLU(NEGATIVE_SLOPE, inplace=True),  # in place as in the public code: less memory
            GroupedConv(num_networks, channels, channels, bias=False),
            nn.BatchNorm2d(num_networks * channels),
        )

    def forward(self, x: Tensor) -> Tensor:
        return x + self.body(x)


class ColorizationNetwork(nn.Module):
    """`num_networks` independent ResNets (appendix A): input conv + LeakyReLU, `num_blocks` residual
    blocks, conv + BatchNorm, output conv to RGB + sigmoid; `channels` features. forward maps
    B×in_channels×H×W to B×3×H×W with B = num_networks, image n through network n. Always used in training
    mode: BatchNorm normalizes with the image's own statistics, as when it was fitted."""

    def __init__(self, num_networks: int, in_channels: int, num_blocks: int = 9, channels: int = 32):
        super().__init__()
        self.num_networks = num_networks
        self.body = nn.Sequential(
            GroupedConv(num_networks, in_channels, channels, bias=True),
            nn.LeakyReLU(NEGATIVE_SLOPE, inplace=True),  # in place as in the public code: less memory
            *(ResidualBlock(num_networks, channels) for _ in range(num_blocks)),
            GroupedConv(num_networks, channels, channels, bias=True),
            nn.BatchNorm2d(num_networks * channels),
            GroupedConv(num_networks, channels, 3, bias=True),
            nn.Sigmoid(),
        )

    def forward(self, x: Tensor) -> Tensor:
        batch, channels, height, width = x.shape
        if batch != self.num_networks:
            raise ValueError(f"{self.num_networks} networks got a batch of {batch} images")
        stacked = x.reshape(1, batch * channels, height, width).contiguous(
            memory_format=memory_format(x.device)
        )
        return self.body(stacked).reshape(batch, 3, height, width)

    def init_networks(self, generators: Sequence[torch.Generator]) -> None:
        """Network n initialized like a fresh torch network from generators[n] (CPU generators), so a
        network's start depends on its generator only, never on the batch it runs in."""
        for module in self.modules():
            if isinstance(module, GroupedConv):
                module.init_networks(generators)
            elif isinstance(module, nn.BatchNorm2d):
                module.reset_parameters()
