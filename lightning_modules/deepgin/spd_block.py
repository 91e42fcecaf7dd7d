"""Spatial Pyramid Dilation (SPD) ResNet block (DeepGIN §4.1, Fig. 3).

n parallel 3x3 branches, each with its own dilation and C/n output channels, are concatenated and fused by
a 3x3 conv C -> C: out = x + fuse(concat(branches)). Splitting the channels keeps the parameter count of a
standard two-conv ResNet block, which is why Table 1 lists the same 42.892M for standard, dilated and SPD
blocks. With one branch the block *is* that ResNet block: conv(dilation d) - ReLU - conv, Fig. 3(a) with
d = 1 and Fig. 3(b) with d = 2 (a dilated first conv, as in [10, 33, 21]). No normalization (§5: all batch
norms removed, as in ESRGAN).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

# Dilation rates of the authors' code (rlct1/gin, models/networks.py: MultiDilationResnetBlock with 8
# branches in the coarse stage, MultiDilationResnetBlock_v3 with 4 in the refinement stage).
SPD8 = (2, 3, 4, 5, 6, 8, 10, 1)
SPD4 = (2, 3, 4, 5)
STANDARD = (1,)  # Fig. 3(a)
DILATED = (2,)  # Fig. 3(b)


class SPDResBlock(nn.Module):
    """Residual block with one 3x3 branch (C / n channels, ReLU) per dilation and a 3x3 C -> C fusion.

    Padding is replicate, as everywhere in the authors' generator (pad_type='replicate').
    """

    def __init__(self, channels: int, dilations: Sequence[int] = SPD8) -> None:
        super().__init__()
        if channels % len(dilations):
            raise ValueError(f"channels ({channels}) must split into {len(dilations)} equal branches")
        self.dilations = tuple(dilations)
        self.branches = nn.ModuleList(
            nn.Sequential(
                nn.Conv2d(
                    channels,
                    channels // len(dilations),
                    3,
                    padding=d,
                    dilation=d,
                    padding_mode="replicate",
                ),
                nn.ReLU(inplace=True),  # on the conv's output, which no backward needs
            )
            for d in self.dilations
        )
        self.fuse = nn.Conv2d(channels, channels, 3, padding=1, padding_mode="replicate")

    def forward(self, x: Tensor) -> Tensor:
        return x + self.fuse(torch.cat([branch(x) for branch in self.branches], dim=1))
