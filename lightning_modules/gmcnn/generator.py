"""The generative multi-column network of GMCNN (Wang et al., "Image Inpainting via Generative Multi-column
Convolutional Neural Networks", NeurIPS 2018, §3.1 and Fig. 2; official code shepnerd/inpainting_gmcnn,
pytorch/model/net.py `GMCNN`).

Three encoder columns with 7×7, 5×5 and 3×3 kernels see the masked image at three receptive-field scales;
each goes down to 1/4 resolution, through dilations 2, 4, 8, 16, and back to full resolution its own way
(bilinear ×4; nearest ×2 + two convolutions + bilinear ×2; two rounds of nearest ×2 + two convolutions).
Their features (4c + 2c + c channels) are concatenated and fused by two 3×3 convolutions. Every convolution
pads by reflection and is followed by ELU, except the last, whose output is clipped to [-1, 1].
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def reflect_pad(x: Tensor, pad: int) -> Tensor:
    """Reflection padding by `pad` on every side, continued periodically when `pad` reaches the feature
    map's size: identical to the official ReflectionPad2d wherever that works (the 7×7 column's pad of 48
    at 1/4 resolution needs inputs above 192 px), and defined for the small images of tests and demos."""
    if pad < min(x.shape[-2:]):
        return F.pad(x, (pad,) * 4, mode="reflect")
    for axis in (-1, -2):
        remaining = pad
        while remaining > 0:
            # A full step (size - 1) ends on a mirror axis of the periodic reflection, so the next one
            # continues it.
            step = min(remaining, x.shape[axis] - 1)
            if step < 1:  # one pixel reflects to itself
                step = remaining
                mode = "replicate"
            else:
                mode = "reflect"
            x = F.pad(x, (step, step, 0, 0) if axis == -1 else (0, 0, step, step), mode=mode)
            remaining -= step
    return x


class PaddedConv(nn.Module):
    """Reflection padding ("SAME" size), convolution and, unless `act` is False, ELU."""

    def __init__(
        self, c_in: int, c_out: int, kernel: int, stride: int = 1, dilation: int = 1, act: bool = True
    ) -> None:
        super().__init__()
        self.pad = dilation * (kernel - 1) // 2
        self.conv = nn.Conv2d(c_in, c_out, kernel, stride=stride, dilation=dilation)
        self.act = act

    def forward(self, x: Tensor) -> Tensor:
        x = self.conv(reflect_pad(x, self.pad))
        return F.elu(x) if self.act else x


class Upsample(nn.Module):
    """×2 or ×4 resizing as in the official `PureUpsampling` (bilinear with aligned corners, or nearest)."""

    def __init__(self, scale: int, mode: str) -> None:
        super().__init__()
        self.scale, self.mode = scale, mode

    def forward(self, x: Tensor) -> Tensor:
        align = {"align_corners": True} if self.mode == "bilinear" else {}
        return F.interpolate(x, scale_factor=self.scale, mode=self.mode, **align)


def column(in_channels: int, cnum: int, kernel: int) -> nn.Sequential:
    """One encoder column (net.py EB1 / EB2 / EB3): the shared 1/4-resolution dilated trunk, then the
    column's own way back to full resolution."""
    c = cnum
    layers: list[nn.Module] = [
        PaddedConv(in_channels, c, kernel),
        PaddedConv(c, 2 * c, kernel, stride=2),
        PaddedConv(2 * c, 2 * c, kernel),
        PaddedConv(2 * c, 4 * c, kernel, stride=2),
        PaddedConv(4 * c, 4 * c, kernel),
        PaddedConv(4 * c, 4 * c, kernel),
        *(PaddedConv(4 * c, 4 * c, kernel, dilation=d) for d in (2, 4, 8, 16)),
        PaddedConv(4 * c, 4 * c, kernel),
        PaddedConv(4 * c, 4 * c, kernel),
    ]
    if kernel == 7:  # 4c channels out
        layers.append(Upsample(4, "bilinear"))
    elif kernel == 5:  # 2c channels out
        layers += [
            Upsample(2, "nearest"),
            PaddedConv(4 * c, 2 * c, kernel),
            PaddedConv(2 * c, 2 * c, kernel),
            Upsample(2, "bilinear"),
        ]
    elif kernel == 3:  # c channels out
        layers += [
            Upsample(2, "nearest"),
            PaddedConv(4 * c, 2 * c, kernel),
            PaddedConv(2 * c, 2 * c, kernel),
            Upsample(2, "nearest"),
            PaddedConv(2 * c, c, kernel),
            PaddedConv(c, c, kernel),
        ]
    else:
        raise ValueError(f"GMCNN's columns have 7×7, 5×5 and 3×3 kernels, got {kernel}")
    return nn.Sequential(*layers)


class GMCNNGenerator(nn.Module):
    """in_channels: the masked image and the mask (net.py: 4 for RGB); out_channels: 3 (RGB) or 1 (gray);
    cnum: the width, 32 as published (train_options.py g_cnum): 12.56M parameters (RGB)."""

    def __init__(self, in_channels: int = 4, out_channels: int = 3, cnum: int = 32) -> None:
        super().__init__()
        self.columns = nn.ModuleList(column(in_channels, cnum, kernel) for kernel in (7, 5, 3))
        self.fuse = nn.Sequential(
            PaddedConv(7 * cnum, cnum // 2, 3), PaddedConv(cnum // 2, out_channels, 3, act=False)
        )
        # layer.py init_weights (applied in net.py): N(0, 0.02) weights, zero biases.
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.normal_(module.weight, 0.0, 0.02)
                nn.init.zeros_(module.bias)

    def forward(self, x: Tensor) -> Tensor:
        """x: B×in_channels×H×W, H and W multiples of 4; returns B×out_channels×H×W in [-1, 1]."""
        features = torch.cat([branch(x) for branch in self.columns], dim=1)
        return self.fuse(features).clamp(-1, 1)
