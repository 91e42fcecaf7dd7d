"""Hole-aware PatchGAN labels (Block-wise paper §3.2, eq. 4): on a restored image only the patches whose
receptive field overlaps the hole are fake; the others show known pixels and are real.

A discriminator output sees the input pixels its chain of convolutions reaches. Max-pooling the mask with
each convolution's own kernel, stride, padding and dilation, in the same order, reaches exactly the same
pixels (padding adds no hole), so the pooled mask is 1 where an output's receptive field holds a hole
pixel, at any depth and input size.
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn


def conv_geometry(discriminator: nn.Module) -> list[tuple[int, int, int, int]]:
    """(kernel, stride, padding, dilation) of each convolution, in forward order (a sequential PatchGAN)."""
    geometry = []
    for module in discriminator.modules():
        if isinstance(module, (nn.Conv2d, nn.AvgPool2d, nn.MaxPool2d)):
            if isinstance(module, nn.Conv2d):
                if module.kernel_size[0] != module.kernel_size[1] or module.padding_mode != "zeros":
                    raise ValueError("hole-aware labels take square, zero-padded convolutions")
                kernel, stride = module.kernel_size[0], module.stride[0]
                padding, dilation = module.padding[0], module.dilation[0]
            else:
                kernel, stride, padding, dilation = module.kernel_size, module.stride, module.padding, 1
            geometry.append((int(kernel), int(stride), int(padding), int(dilation)))
    return geometry


def fake_patches(mask: Tensor, geometry: list[tuple[int, int, int, int]]) -> Tensor:
    """B×1×h×w: 1 where a discriminator output's receptive field overlaps the hole (mask B×1×H×W, 1 =
    missing), for the discriminator whose convolutions have this geometry."""
    hits = mask.float()
    for kernel, stride, padding, dilation in geometry:
        hits = F.max_pool2d(hits, kernel, stride, padding, dilation)
    return hits
