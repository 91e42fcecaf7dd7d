"""Gated convolution (Yu et al., "Free-Form Image Inpainting with Gated Convolution", ICCV 2019).

One convolution produces features and a soft gate in the same pass: output = act(features) * sigmoid(gate).
The gate learns, per pixel and channel, how much a location is trusted, which replaces the hand-crafted
mask update of partial convolution.
"""

from __future__ import annotations

from typing import Literal

import torch.nn.functional as F
from torch import Tensor, nn

Activation = Literal["elu", "relu"] | None

_ACTIVATIONS = {"elu": nn.ELU, "relu": nn.ReLU}


class GatedConv2d(nn.Module):
    """Gated convolution with "same" padding; `gated=False` is a plain convolution (the output layer)."""

    def __init__(
        self,
        in_ch: int,
        out_ch: int,
        kernel_size: int,
        stride: int = 1,
        dilation: int = 1,
        activation: Activation = "elu",
        gated: bool = True,
    ) -> None:
        super().__init__()
        if kernel_size % 2 == 0:
            raise ValueError(f"kernel_size must be odd for 'same' padding, got {kernel_size}")
        self.out_ch = out_ch
        self.gated = gated
        self.conv = nn.Conv2d(
            in_ch,
            2 * out_ch if gated else out_ch,
            kernel_size,
            stride=stride,
            padding=dilation * (kernel_size - 1) // 2,
            dilation=dilation,
        )
        self.activation = _ACTIVATIONS[activation]() if activation is not None else nn.Identity()
        # The official TF code builds these with tf.layers.conv2d's defaults: Glorot-uniform kernel, zero bias
        # (fans count both halves of a gated conv, as TF sees one 2*out_ch convolution).
        nn.init.xavier_uniform_(self.conv.weight)
        nn.init.zeros_(self.conv.bias)

    def forward(self, x: Tensor) -> Tensor:
        x = self.conv(x)
        if not self.gated:
            return self.activation(x)
        features, gate = x.split(self.out_ch, dim=1)
        return self.activation(features) * gate.sigmoid()


class GatedUpConv(nn.Module):
    """Nearest-neighbour x2 upsampling then a 3x3 gated conv: DeepFill's "deconv", free of checkerboards."""

    def __init__(self, in_ch: int, out_ch: int) -> None:
        super().__init__()
        self.conv = GatedConv2d(in_ch, out_ch, 3)

    def forward(self, x: Tensor) -> Tensor:
        return self.conv(F.interpolate(x, scale_factor=2, mode="nearest"))
