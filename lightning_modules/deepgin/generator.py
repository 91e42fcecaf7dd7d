"""DeepGIN generator (Li et al., "DeepGIN: Deep Generative Inpainting Network for Extreme Image
Inpainting", ECCV-W 2020): coarse G1 and refinement G2 with SPD blocks, multi-scale self-attention (MSSA)
and back projection (BP), §4.1 and Fig. 2.

Layer details are those of the authors' code (rlct1/gin, models/networks.py, class ImageTinker2, built
with ngf=64, i.e. width=32 here): replicate padding, LeakyReLU(0.2) outside the SPD blocks, 4x4 stride-2
downsampling convs, bilinear (align_corners=True) x2 upsampling each followed by a 3x3 conv, 7x7 convs in
and out, no normalization. Widths at a 256^2 input (width=32):

    G1: 32@256, 64@128, 128@64, 256@32, 6 SPD blocks (8 dilations), decoder back to 32@256 -> image
    G2: 32@256, 64@128, 128@64, 256@32, 512@16, 3 SPD (4 dilations) - SA - 3 SPD, decoder; with MSSA the
        encoder features at 32^2 and 64^2 are halved by a 3x3 conv, self-attended and concatenated into
        the decoder (then a 3x3 conv back to the decoder width); with BP a low-resolution head at 64^2.

Table 1 counts the generators G1 + G2 only (the authors' print_network(netG); no discriminator): with
width=32 the seven rows give 8,167,843 / 40,849,990 / 41,375,558 / 42,892,134 (x3) / 42,930,186.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from lightning_modules.deepgin.self_attention import SelfAttention
from lightning_modules.deepgin.spd_block import DILATED, SPD4, SPD8, STANDARD, SPDResBlock

Block = Literal["spd", "dilated", "standard"]

# (coarse, refinement) dilations per block type; Table 1's StdResBlk / DilatedResBlk / SPDResBlk.
DILATIONS: dict[str, tuple[tuple[int, ...], tuple[int, ...]]] = {
    "spd": (SPD8, SPD4),
    "dilated": (DILATED, DILATED),
    "standard": (STANDARD, STANDARD),
}

# Table 1 rows: constructor arguments and the published parameter counts of G1 + G2.
TABLE1_VARIANTS: dict[str, tuple[dict[str, Any], float]] = {
    "StdResBlk (Coarse only)": (
        {"block": "standard", "refine": False, "attention_scales": (), "back_projection": False},
        8.168e6,
    ),
    "StdResBlk": ({"block": "standard", "attention_scales": (), "back_projection": False}, 40.850e6),
    "StdResBlk-SA": ({"block": "standard", "attention_scales": (16,), "back_projection": False}, 41.376e6),
    "StdResBlk-MSSA": ({"block": "standard", "back_projection": False}, 42.892e6),
    "DilatedResBlk-MSSA": ({"block": "dilated", "back_projection": False}, 42.892e6),
    "SPDResBlk-MSSA": ({"block": "spd", "back_projection": False}, 42.892e6),
    "SPDResBlk-MSSA-BP": ({"block": "spd"}, 42.930e6),
}


def _conv(in_ch: int, out_ch: int, kernel: int, stride: int = 1) -> nn.Conv2d:
    """Replicate-padded conv: "same" for odd kernels, halving for the 4x4 stride-2 ones (pad 1)."""
    return nn.Conv2d(in_ch, out_ch, kernel, stride, padding=(kernel - 1) // 2, padding_mode="replicate")


def _act() -> nn.Module:
    """In place: it always follows a conv, whose output no backward needs (LeakyReLU's own backward works
    from its output, as its slope is positive)."""
    return nn.LeakyReLU(0.2, inplace=True)


def _down(in_ch: int, out_ch: int) -> nn.Sequential:
    return nn.Sequential(_conv(in_ch, out_ch, 4, stride=2), _act())


def _up(in_ch: int, out_ch: int) -> nn.Sequential:
    """nn.UpsamplingBilinear2d in the authors' code, i.e. align_corners=True."""
    return nn.Sequential(
        nn.Upsample(scale_factor=2, mode="bilinear", align_corners=True), _conv(in_ch, out_ch, 3), _act()
    )


def resize4(image: Tensor, down: bool = True) -> Tensor:
    """The x4 bilinear resampling of back projection (align_corners=True, as the authors'
    UpsamplingBilinear2d(scale_factor=0.25 / 4)). Use down4 also for the low-resolution L1 target
    I_gt^lr (§4.2), so the LR head is trained on the same grid that back projection compares against."""
    return F.interpolate(image, scale_factor=0.25 if down else 4.0, mode="bilinear", align_corners=True)


def _straight_through_clamp(x: Tensor) -> Tensor:
    """Values in [0, 1], gradients as for the unclamped output (t - t.detach() is exactly 0)."""
    return x.clamp(0, 1).detach() + (x - x.detach())


class CoarseNetwork(nn.Module):
    """G1: three 4x4 stride-2 downsamplings, 6 residual blocks at 1/8 resolution, bilinear decoder."""

    def __init__(self, in_channels: int, out_channels: int, width: int, dilations: Sequence[int]) -> None:
        super().__init__()
        w = width
        self.layers = nn.Sequential(
            _conv(in_channels, w, 7),
            _act(),
            _down(w, 2 * w),
            _down(2 * w, 4 * w),
            _down(4 * w, 8 * w),
            *(SPDResBlock(8 * w, dilations) for _ in range(6)),
            _up(8 * w, 4 * w),
            _up(4 * w, 2 * w),
            _up(2 * w, w),
            _conv(w, out_channels, 7),  # linear output, as the authors' code
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.layers(x)


class _AttendedSkip(nn.Module):
    """MSSA skip branch: a 3x3 conv halves the encoder width "to avoid an excessive increase in
    parameters" (§4.1), self-attention, then concatenation with the decoder and a 3x3 conv back."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.reduce = nn.Sequential(_conv(channels, channels // 2, 3), _act(), SelfAttention(channels // 2))
        self.mix = nn.Sequential(_conv(channels + channels // 2, channels, 3), _act())

    def forward(self, decoder: Tensor, encoder: Tensor) -> Tensor:
        return self.mix(torch.cat([decoder, self.reduce(encoder)], dim=1))


class RefineNetwork(nn.Module):
    """G2: four downsamplings to 1/16, 6 residual blocks (SA after the third), decoder with attended
    skips at 1/8 and 1/4 (MSSA) and the back-projection head at 1/4 (BP). Scales are named by their size
    at the paper's 256^2 input: 16 (bottleneck), 32 and 64 (skips)."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        width: int,
        dilations: Sequence[int],
        attention_scales: Sequence[int],
        back_projection: bool,
    ) -> None:
        super().__init__()
        w = width
        self.enc256 = nn.Sequential(_conv(in_channels, w, 7), _act())
        self.enc128 = _down(w, 2 * w)
        self.enc64 = _down(2 * w, 4 * w)
        self.enc32 = _down(4 * w, 8 * w)
        self.enc16 = _down(8 * w, 16 * w)
        blocks = [SPDResBlock(16 * w, dilations) for _ in range(6)]
        attention = [SelfAttention(16 * w)] if 16 in attention_scales else []
        self.bottleneck = nn.Sequential(*blocks[:3], *attention, *blocks[3:])
        self.dec32 = _up(16 * w, 8 * w)
        self.skip32 = _AttendedSkip(8 * w) if 32 in attention_scales else None
        self.dec64 = _up(8 * w, 4 * w)
        self.skip64 = _AttendedSkip(4 * w) if 64 in attention_scales else None
        self.dec128 = _up(4 * w, 2 * w)
        self.dec256 = _up(2 * w, w)
        self.to_image = _conv(w, out_channels, 7)
        self.low_res_head: nn.Module | None = None
        self.alpha: nn.Module | None = None
        if back_projection:
            # The LR image I_lr at 1/4 (§4.1) and the per-pixel weight of the back-projected residual.
            self.low_res_head = nn.Sequential(_conv(4 * w, w, 3), _act(), _conv(w, out_channels, 3))
            self.alpha = nn.Sequential(_conv(w, 1, 3), nn.Sigmoid())

    def forward(self, x: Tensor, mask: Tensor, known: Tensor) -> tuple[Tensor, Tensor | None]:
        """Return I_out and I_lr (None without BP), both unbounded."""
        e64 = self.enc64(self.enc128(self.enc256(x)))
        e32 = self.enc32(e64)
        d = self.dec32(self.bottleneck(self.enc16(e32)))
        if self.skip32 is not None:
            d = self.skip32(d, e32)
        d = self.dec64(d)
        if self.skip64 is not None:
            d = self.skip64(d, e64)
        d256 = self.dec256(self.dec128(d))
        out = self.to_image(d256)
        if self.low_res_head is None or self.alpha is None:
            return out, None
        # Back projection (§4.1, the authors' forward): the known pixels are pasted in first, the LR
        # image's disagreement with the downsampled output is upsampled and added back, weighted by alpha.
        low_res = self.low_res_head(d)
        out = out * mask + known * (1 - mask)
        residual = low_res - resize4(out)
        return out + resize4(residual, down=False) * self.alpha(d256), low_res


class DeepGINGenerator(nn.Module):
    """Coarse-to-fine DeepGIN generator; H and W must be multiples of `size_multiple`.

    Input (§3, and the authors' data pipeline): the image in [0, 1] with the holes filled with 1,
    concatenated with the mask (1 = missing), i.e. 3 + 1 = 4 channels; no mean/std normalization. G2
    sees the coarse result pasted into the known pixels plus the mask (out_channels + 1 channels). The
    monochromic bottleneck passes RGB + gray + mask (5 -> 1) and its gray image as `known`.

    Args:
        in_channels: channels of G1's input `x`.
        out_channels: channels of the predicted image.
        block: residual blocks of both stages: "spd" (8 dilations in G1, 4 in G2), "dilated" (dilation 2
            in the first conv, Fig. 3(b)) or "standard" (Fig. 3(a)); all have the same parameters.
        refine: add G2; without it the generator is Table 1's coarse-only baseline.
        attention_scales: where G2 uses self-attention, named by the feature-map size at a 256^2 input:
            (16,) is the single SA of Table 1, (16, 32, 64) is MSSA, () none.
        back_projection: G2's low-resolution head and weighted back projection (BP).
        width: channels of the first conv (32 as published); every width scales with it.
        clamp_output: clamp the outputs to [0, 1] with straight-through gradients. The authors' outputs
            are linear and unbounded (False); their losses see raw values and images are clipped on save.
    """

    size_multiple = 16  # four stride-2 convs in G2

    def __init__(
        self,
        in_channels: int = 4,
        out_channels: int = 3,
        block: Block = "spd",
        refine: bool = True,
        attention_scales: Sequence[int] = (16, 32, 64),
        back_projection: bool = True,
        width: int = 32,
        clamp_output: bool = True,
    ) -> None:
        super().__init__()
        if block not in DILATIONS:
            raise ValueError(f"block must be one of {sorted(DILATIONS)}, got {block!r}")
        if not set(attention_scales) <= {16, 32, 64}:
            raise ValueError(f"attention_scales must be a subset of (16, 32, 64), got {attention_scales}")
        if not refine and (attention_scales or back_projection):
            raise ValueError("attention and back projection belong to the refinement stage: set refine=True")
        self.out_channels = out_channels
        self.clamp_output = clamp_output
        coarse_dilations, refine_dilations = DILATIONS[block]
        self.coarse = CoarseNetwork(in_channels, out_channels, width, coarse_dilations)
        self.refine = (
            RefineNetwork(
                out_channels + 1, out_channels, width, refine_dilations, attention_scales, back_projection
            )
            if refine
            else None
        )
        init_weights(self)

    def _bound(self, x: Tensor) -> Tensor:
        return _straight_through_clamp(x) if self.clamp_output else x

    def forward(
        self, x: Tensor, mask: Tensor, known: Tensor | None = None
    ) -> tuple[Tensor, Tensor | None, Tensor | None]:
        """Return I_coarse, I_out and I_lr (H/4 x W/4); I_out is None without G2, I_lr None without BP.

        Args:
            x: B x in_channels x H x W: image(s) with holes filled with 1, then the mask.
            mask: B x 1 x H x W, 1 = missing.
            known: B x out_channels x H x W image whose known pixels G2 and BP keep; defaults to the first
                `out_channels` channels of `x` (the image in the standard layout).
        """
        if x.shape[-2] % self.size_multiple or x.shape[-1] % self.size_multiple:
            raise ValueError(
                f"height and width must be multiples of {self.size_multiple}, got {tuple(x.shape[-2:])}"
            )
        known = x[:, : self.out_channels] if known is None else known
        if known.shape[1] != self.out_channels:
            raise ValueError(
                f"known must have out_channels={self.out_channels} channels, got {known.shape[1]}"
            )
        coarse = self._bound(self.coarse(x))
        if self.refine is None:
            return coarse, None, None
        composite = coarse * mask + known * (1 - mask)
        out, low_res = self.refine(torch.cat([composite, mask], dim=1), mask, known)
        return coarse, self._bound(out), None if low_res is None else self._bound(low_res)


def init_weights(module: nn.Module, scale: float = 0.1) -> None:
    """The generator init of §5.1 ("the initialization method mentioned in [30]", ESRGAN): Kaiming
    normal (fan_in, gain sqrt 2) scaled by 0.1, zero biases; the authors' weights_init.

    Self-attention outputs are then zeroed again: the authors apply weights_init after building the
    network, which overwrites their NonLocalBlock's zero init (an accident, we keep [29]'s zero init).
    Meant for the generator only: the authors' discriminator keeps PyTorch's default init.
    """
    for m in module.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, a=0, mode="fan_in")
            with torch.no_grad():
                m.weight.mul_(scale)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
    for m in module.modules():
        if isinstance(m, SelfAttention):
            m.zero_output()
