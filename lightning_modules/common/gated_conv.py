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
# centered: PyTorch's equal zero padding on both sides; tf_same: TensorFlow's "SAME" (TFSameConv2d)
Padding = Literal["centered", "tf_same"]

_ACTIVATIONS = {"elu": nn.ELU, "relu": nn.ReLU}


def tf_same_padding(size: int, kernel_size: int, stride: int, dilation: int = 1) -> tuple[int, int]:
    """TensorFlow's "SAME" padding of one axis, (before, after): ceil(size / stride) outputs, and an odd
    total puts the extra pixel after (bottom / right)."""
    total = max((-(-size // stride) - 1) * stride + dilation * (kernel_size - 1) + 1 - size, 0)
    return total // 2, total - total // 2


class TFSameConv2d(nn.Conv2d):
    """nn.Conv2d with TensorFlow's "SAME" padding, for weights trained in TF. At stride 1 it equals
    centered padding; at stride 2 on an even size TF pads one pixel less on the top and left (3x3: 0 and
    1, 5x5: 1 and 2), so every output samples the input one pixel further down-right than PyTorch's."""

    def __init__(self, in_ch: int, out_ch: int, kernel_size: int, stride: int = 1, dilation: int = 1) -> None:
        super().__init__(in_ch, out_ch, kernel_size, stride=stride, dilation=dilation)

    def forward(self, x: Tensor) -> Tensor:
        top, bottom = tf_same_padding(x.shape[-2], self.kernel_size[0], self.stride[0], self.dilation[0])
        left, right = tf_same_padding(x.shape[-1], self.kernel_size[1], self.stride[1], self.dilation[1])
        return super().forward(F.pad(x, (left, right, top, bottom)))


def same_conv2d(
    in_ch: int,
    out_ch: int,
    kernel_size: int,
    stride: int = 1,
    dilation: int = 1,
    padding: Padding = "centered",
) -> nn.Conv2d:
    """A convolution whose output is ceil(size / stride) for an odd kernel, padded as `padding` says."""
    if padding == "tf_same":
        return TFSameConv2d(in_ch, out_ch, kernel_size, stride, dilation)
    if padding != "centered":
        raise ValueError(f"padding must be 'centered' or 'tf_same', got {padding!r}")
    pad = dilation * (kernel_size - 1) // 2
    return nn.Conv2d(in_ch, out_ch, kernel_size, stride=stride, padding=pad, dilation=dilation)


class GatedConv2d(nn.Module):
    """Gated convolution with "same" padding; `gated=False` is a plain convolution (the output layer).
    padding: "centered", or "tf_same" as TensorFlow pads (TFSameConv2d: differs at stride 2 only)."""

    def __init__(
        self,
        in_ch: int,
        out_ch: int,
        kernel_size: int,
        stride: int = 1,
        dilation: int = 1,
        activation: Activation = "elu",
        gated: bool = True,
        padding: Padding = "centered",
    ) -> None:
        super().__init__()
        if kernel_size % 2 == 0:
            raise ValueError(f"kernel_size must be odd for 'same' padding, got {kernel_size}")
        self.out_ch = out_ch
        self.gated = gated
        self.conv = same_conv2d(
            in_ch, 2 * out_ch if gated else out_ch, kernel_size, stride, dilation, padding
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
