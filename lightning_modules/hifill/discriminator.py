"""HiFill's WGAN-GP critic (duxingren14/Hifill-tensorflow, model.py `build_discriminator`): six 5×5
stride-2 convolutions with leaky ReLU (slope 0.2, tf.nn.leaky_relu), widths 64-128-256-256-256-256,
flattened into one linear output. No spectral norm and no mask channel (config.yml GAN_WITH_MASK False).
The linear layer fixes the input size (512² in the code: 8×8×256 features)."""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn

from lightning_modules.hifill.light_weight_gated_conv import same_padding


class WGANCritic(nn.Module):
    def __init__(self, in_channels: int, cnum: int = 64, image_size: int = 512):
        super().__init__()
        widths = [cnum, 2 * cnum, 4 * cnum, 4 * cnum, 4 * cnum, 4 * cnum]
        self.image_size = image_size
        self.convs = nn.ModuleList()
        for width in widths:
            self.convs.append(nn.Conv2d(in_channels, width, 5, 2))
            in_channels = width
        side = image_size // 2 ** len(widths)
        if side < 1 or side * 2 ** len(widths) != image_size:
            raise ValueError(f"image_size must be a multiple of 64, got {image_size}")
        self.linear = nn.Linear(widths[-1] * side * side, 1)
        for conv in self.convs:  # ops.py conv2d: truncated normal, stddev 0.05, zero bias
            nn.init.trunc_normal_(conv.weight, std=0.05, a=-0.1, b=0.1)
            nn.init.zeros_(conv.bias)
        # model.py tf.layers.dense: no initializer given, so TF's defaults, Glorot uniform and a zero bias
        nn.init.xavier_uniform_(self.linear.weight)
        nn.init.zeros_(self.linear.bias)

    def forward(self, x: Tensor) -> Tensor:
        if x.shape[-2:] != (self.image_size, self.image_size):
            raise ValueError(f"the critic takes {self.image_size}² images, got {tuple(x.shape[-2:])}")
        for conv in self.convs:
            pad_h, pad_w = same_padding(x.shape[-2], 5, 2), same_padding(x.shape[-1], 5, 2)
            x = F.leaky_relu(conv(F.pad(x, (*pad_w, *pad_h))), 0.2)
        # TF flattens NHWC; the order only permutes the linear weights.
        return self.linear(x.flatten(1))
