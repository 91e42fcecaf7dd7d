"""HiFill's generator (§3.3, Fig. 3): a coarse network at a fixed 256² and a refine network with attention
computing (ATN) at its bottleneck and attention transfer (ATM) into two decoder skips.

Every layer, width and order follows duxingren14/Hifill-tensorflow (model.py `build_generator`, ops.py
`dilate_block`, `dilate_block2`, `apply_contextual_attention`, `apply_attention`; config.yml: GEN_NC 32,
BOTTLENECK_SIZE 64, COARSE_CONV_TYPE slice, REFINE_CONV_TYPE ds, IMG_SHAPE 512).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from lightning_modules.hifill.attention_transfer import attention_scores, transfer
from lightning_modules.hifill.light_weight_gated_conv import LWGC, UpLWGC, tf_resize_bilinear

# ops.py `dilate_block` as the code runs it: 14 layers at rates 1,1,1,2,2,2,2,2,4,4,4,4,8,8 (the paper's
# 1,2,4,8,16,16,8,4,2,1 chain is the commented-out variant there).
COARSE_DILATIONS = (1, 1, 1, 2, 2, 2, 2, 2, 4, 4, 4, 4, 8, 8)
REFINE_DILATIONS = (1, 2, 4, 8, 16)  # ops.py `dilate_block2`


class CoarseNetwork(nn.Module):
    """Input resized to `size`² (bilinear), two stride-2 LWGC_sc stages to size/4, 3 convs, the dilation
    chain, 3 convs, two upsampling stages; output clipped to [-1, 1] and resized back."""

    def __init__(self, in_channels: int, out_channels: int, cnum: int = 32, size: int = 256):
        super().__init__()
        self.size = size
        c, c2 = cnum, 2 * cnum
        layers = [LWGC(in_channels, c, 5, 2), LWGC(c, c, 3), LWGC(c, c2, 3, 2)]
        layers += [LWGC(c2, c2, 3) for _ in range(3)]
        layers += [LWGC(c2, c2, 3, dilation=d) for d in COARSE_DILATIONS]
        layers += [LWGC(c2, c2, 3) for _ in range(3)]
        layers += [UpLWGC(c2, c, "sc"), LWGC(c, c, 3), UpLWGC(c, out_channels, "sc")]
        self.layers = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        size = x.shape[-2:]
        out = self.layers(tf_resize_bilinear(x, (self.size, self.size)))
        # The code's output layer is the gated ELU itself, then clip_by_value.
        return tf_resize_bilinear(out.clamp(-1, 1), tuple(size))


class AttentionTransferSkip(nn.Module):
    """ops.py `apply_attention`: the skip features recombined by the attention scores (patches 2·rate
    wide), then two LWGC_ds at dilation 1 and 2."""

    def __init__(self, channels: int):
        super().__init__()
        self.convs = nn.Sequential(
            LWGC(channels, channels, 3, gate="ds"), LWGC(channels, channels, 3, dilation=2, gate="ds")
        )

    def forward(self, skip: Tensor, scores: Tensor, grid: tuple[int, int]) -> Tensor:
        return self.convs(transfer(skip, scores, grid))


class RefineNetwork(nn.Module):
    """U-Net of LWGC_ds: `levels` stride-2 stages from cnum//2·2 channels (doubling), the dilation
    chain, ATN + contextual attention at the bottleneck, then `levels`−1 decoder stages, each
    concatenating its ATM skip, and an upsampling output layer."""

    def __init__(self, in_channels: int, out_channels: int, cnum: int = 32, levels: int = 3):
        super().__init__()
        widths = [cnum // 2 * 2**k for k in range(1, levels + 1)]  # 32, 64, 128
        self.encoder = nn.ModuleList()
        previous = in_channels
        for width in widths:
            self.encoder.append(
                nn.Sequential(LWGC(previous, width, 3, 2, gate="ds"), LWGC(width, width, 3, gate="ds"))
            )
            previous = width
        bottom = widths[-1]
        self.dilated = nn.Sequential(
            *[LWGC(bottom, bottom, 3, dilation=d, gate="ds") for d in REFINE_DILATIONS]
        )
        # apply_contextual_attention: a conv of the attended features, then of [hallucinated, attended]
        self.attended_conv = LWGC(bottom, bottom, 3, gate="ds")
        self.merge_conv = LWGC(2 * bottom, bottom, 3, gate="ds")
        self.up, self.up_conv, self.skips = nn.ModuleList(), nn.ModuleList(), nn.ModuleList()
        previous = bottom
        for width in reversed(widths[:-1]):
            self.up.append(UpLWGC(previous, width, "ds"))
            self.up_conv.append(LWGC(width, width, 3, gate="ds"))
            self.skips.append(AttentionTransferSkip(width))
            previous = 2 * width
        self.to_output = UpLWGC(previous, out_channels, "ds")

    def forward(self, x: Tensor, mask: Tensor) -> tuple[Tensor, Tensor]:
        skips = []
        for stage in self.encoder:
            x = stage(x)
            skips.append(x)
        x = self.dilated(x)
        scores = attention_scores(x, mask)
        grid = (x.shape[-2] // 2, x.shape[-1] // 2)
        attended = self.attended_conv(transfer(x, scores, grid, kernel=3))  # raw patches 2·rate − 1 = 3 wide
        x = self.merge_conv(torch.cat([x, attended], dim=1))
        for up, up_conv, skip, features in zip(self.up, self.up_conv, self.skips, reversed(skips[:-1])):
            x = up_conv(up(x))
            x = torch.cat([skip(features, scores, grid), x], dim=1)
        return self.to_output(x).clamp(-1, 1), scores


class HiFillGenerator(nn.Module):
    """Coarse then refine; the refine network sees the coarse result composited with the known pixels,
    and the mask. image_size / bottleneck_size (code: IMG_SHAPE 512, BOTTLENECK_SIZE 64) set the refine
    depth (3 levels) and the attention grid (bottleneck / 2 = 32²)."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        cnum: int = 32,
        coarse_size: int = 256,
        image_size: int = 512,
        bottleneck_size: int = 64,
    ):
        super().__init__()
        levels = int(math.log2(image_size // bottleneck_size))
        if bottleneck_size * 2**levels != image_size or levels < 1:
            raise ValueError(
                f"image_size {image_size} must be bottleneck_size {bottleneck_size} × a power of 2"
            )
        self.size_multiple = 2 ** (levels + 1)  # the encoder's strides, then the attention's rate 2
        self.coarse = CoarseNetwork(in_channels, out_channels, cnum, coarse_size)
        self.refine = RefineNetwork(out_channels + 1, out_channels, cnum, levels)

    def forward(self, x: Tensor, mask: Tensor, known: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """x: the network's input image in [-1, 1] with holes zeroed; mask: 1 = missing; known: the
        target space's image in [-1, 1] (its known pixels are kept). Returns coarse, refined (in [-1, 1])
        and the B×P×L attention scores."""
        coarse = self.coarse(torch.cat([x, mask], dim=1))
        composite = coarse * mask + known * (1 - mask)
        refined, scores = self.refine(torch.cat([composite, mask], dim=1), mask)
        return coarse, refined, scores
