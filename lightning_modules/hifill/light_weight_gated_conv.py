"""Light-weight gated convolutions (LWGC, HiFill §3.3) and the TF layout details they depend on.

A gated convolution multiplies ELU features by a sigmoid gate. LWGC makes the gate cheap: HiFill's code
(duxingren14/Hifill-tensorflow, ops.py) has a single-channel gate (`gen_conv_gated_slice`, the paper's
LWGC_sc: a k×k convolution to one channel shared by all features) and a "depth-separable" gate
(`gen_conv_gated_ds`, the paper's LWGC_ds; in the code its depthwise step is commented out, leaving a 1×1
pointwise convolution to all channels at the layer's stride). config.yml uses `slice` in the coarse
network and `ds` in the refine network.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

GATES = ("sc", "ds")


def same_padding(size: int, kernel: int, stride: int, dilation: int = 1) -> tuple[int, int]:
    """TF "SAME" padding (before, after) of one axis: asymmetric (more after) for stride-2 layers."""
    span = dilation * (kernel - 1) + 1
    total = max((-(-size // stride) - 1) * stride + span - size, 0)
    return total // 2, total - total // 2


def tf_resize_bilinear(x: Tensor, size: tuple[int, int]) -> Tensor:
    """TF 1.x `tf.image.resize_bilinear` (align_corners=False, no half-pixel centres): output pixel i
    samples input position i·in/out, so a 2× downsampling keeps the even pixels and a 2× upsampling
    interpolates between neighbours, repeating the last one."""
    for axis, out in ((2, size[0]), (3, size[1])):
        length = x.shape[axis]
        if length == out:
            continue
        position = torch.arange(out, device=x.device, dtype=torch.float32) * (length / out)
        low = position.floor().long().clamp(max=length - 1)
        high = (low + 1).clamp(max=length - 1)
        weight = (position - low).to(x.dtype)
        shape = [1, 1, 1, 1]
        shape[axis] = out
        weight = weight.view(shape)
        x = x.index_select(axis, low) * (1 - weight) + x.index_select(axis, high) * weight
    return x


class LWGC(nn.Module):
    """sigmoid(gate(x)) · ELU(features(x)), both with TF "SAME" padding.

    gate: "sc" (k×k convolution to one channel, same stride and dilation) or "ds" (1×1 convolution to
    `out_channels` at the same stride), as ops.py's `gen_conv_gated_slice` / `gen_conv_gated_ds`.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int = 3,
        stride: int = 1,
        dilation: int = 1,
        gate: str = "sc",
    ):
        super().__init__()
        if gate not in GATES:
            raise ValueError(f"gate must be one of {GATES}, got {gate!r}")
        self.kernel_size, self.stride, self.dilation, self.gate_type = kernel_size, stride, dilation, gate
        self.features = nn.Conv2d(in_channels, out_channels, kernel_size, stride, dilation=dilation)
        if gate == "sc":
            self.gate = nn.Conv2d(in_channels, 1, kernel_size, stride, dilation=dilation)
        else:  # its stride is a subsampling in forward: oneDNN's strided 1×1 NHWC backward crashes on CPU
            self.gate = nn.Conv2d(in_channels, out_channels, 1)
        for conv in (self.features, self.gate):  # conv2d: truncated normal, stddev 0.05, zero bias
            nn.init.trunc_normal_(conv.weight, std=0.05, a=-0.1, b=0.1)
            nn.init.zeros_(conv.bias)

    def forward(self, x: Tensor) -> Tensor:
        height, width = x.shape[-2:]
        pad_h = same_padding(height, self.kernel_size, self.stride, self.dilation)
        pad_w = same_padding(width, self.kernel_size, self.stride, self.dilation)
        padded = F.pad(x, (*pad_w, *pad_h))
        features = self.features(padded)
        # "ds": a 1×1 convolution at stride s reads every s-th pixel from the first (TF pads none)
        gate_input = padded if self.gate_type == "sc" else x[..., :: self.stride, :: self.stride]
        return torch.sigmoid(self.gate(gate_input)) * F.elu(features)


class UpLWGC(nn.Module):
    """ops.py `gen_deconv_gated_*`: 2× bilinear upsampling (TF 1.x resize), then a 3×3 LWGC."""

    def __init__(self, in_channels: int, out_channels: int, gate: str):
        super().__init__()
        self.conv = LWGC(in_channels, out_channels, 3, gate=gate)

    def forward(self, x: Tensor) -> Tensor:
        return self.conv(tf_resize_bilinear(x, (2 * x.shape[-2], 2 * x.shape[-1])))
