"""Self-attention block of DeepGIN (§4.1): "exactly" the non-local block of Wang et al. [29].

Embedded Gaussian version without sub-sampling or batch norm (the authors' NonLocalBlock with
sub_sample=False, bn_layer=False): theta, phi, g are 1x1 convs C -> C/2, y = softmax(theta^T phi) g,
z = x + W y with a 1x1 conv W: C/2 -> C. W starts at zero so the block starts as the identity and a
pretrained or warmed-up network is not disturbed when attention is switched on ([29] §4.1).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


class SelfAttention(nn.Module):
    """Non-local block over all H*W positions of a feature map (no scaling of the logits, no mask)."""

    def __init__(self, channels: int, inter_channels: int | None = None) -> None:
        super().__init__()
        inter = inter_channels or max(channels // 2, 1)
        self.theta = nn.Conv2d(channels, inter, 1)
        self.phi = nn.Conv2d(channels, inter, 1)
        self.g = nn.Conv2d(channels, inter, 1)
        self.out = nn.Conv2d(inter, channels, 1)
        self.zero_output()

    def zero_output(self) -> None:
        """W = 0: the block is the identity (init_weights calls this after the generator's init)."""
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, x: Tensor) -> Tensor:
        b, _, h, w = x.shape
        theta, phi, g = (conv(x).flatten(2) for conv in (self.theta, self.phi, self.g))  # B x C' x HW
        # softmax(theta^T phi) g with scale 1, the embedded Gaussian of [29] (no 1/sqrt(d)). Written out:
        # scaled_dot_product_attention takes its fused kernels only for tokens with a unit last stride, so
        # on these channel-first maps it ran its math path, whose -inf guard (isneginf, all, where over the
        # HW x HW logits) cost more than the softmax itself. weights @ g^T (not g @ weights^T) keeps the
        # gradient of the HW x HW weights contiguous for the softmax backward: only y (HW x C') is copied.
        # The logits in float32 under mixed precision: unscaled, they reach 1e3, where bf16's step is 4 to 8.
        with torch.autocast(x.device.type, enabled=False):
            logits = theta.float().transpose(1, 2) @ phi.float()
        weights = torch.softmax(logits, dim=-1).to(g.dtype)  # B x HW x HW, rows sum to 1
        y = weights @ g.transpose(1, 2)  # B x HW x C'
        return x + self.out(y.transpose(1, 2).reshape(b, -1, h, w))
