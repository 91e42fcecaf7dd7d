"""Self-attention block of DeepGIN (§4.1): "exactly" the non-local block of Wang et al. [29].

Embedded Gaussian version without sub-sampling or batch norm (the authors' NonLocalBlock with
sub_sample=False, bn_layer=False): theta, phi, g are 1x1 convs C -> C/2, y = softmax(theta^T phi) g,
z = x + W y with a 1x1 conv W: C/2 -> C. W starts at zero so the block starts as the identity and a
pretrained or warmed-up network is not disturbed when attention is switched on ([29] §4.1).
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn


class SelfAttention(nn.Module):
    """Non-local block over all H*W positions of a feature map (no scaling of the logits)."""

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

        def tokens(conv: nn.Conv2d) -> Tensor:  # B x 1 x HW x C': one head over all positions
            return conv(x).flatten(2).transpose(1, 2).unsqueeze(1)

        # softmax(theta phi^T) g; scale=1 keeps the embedded Gaussian of [29] (no 1/sqrt(d) as in
        # transformers). The fused kernel avoids materializing the HW x HW matrix on GPU (4096^2 at 64^2).
        y = F.scaled_dot_product_attention(tokens(self.theta), tokens(self.phi), tokens(self.g), scale=1.0)
        return x + self.out(y.squeeze(1).transpose(1, 2).reshape(b, -1, h, w))
