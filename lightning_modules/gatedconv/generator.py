"""DeepFill v2 generator (Yu et al., ICCV 2019): a coarse gated-conv network, then a two-branch refinement.

Layer list and widths follow the official TF code (v2.0.0) and its PyTorch port: with cnum = 48 the gated
convs emit 24, 48 or 96 channels, 12 before the output conv (the TF code counts the gate half too, hence
its 48/96/192).

Two options compute what the official TF code computes, for its released weights
(conf/release/gatedconv.yaml): padding="tf_same" pads the stride-2 convs as TF's "SAME" does (`gen_conv`),
attention="official_code" is `contextual_attention` as the TF code has it (common/contextual_attention.py).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from lightning_modules.common.contextual_attention import AttentionMode, ContextualAttention
from lightning_modules.common.gated_conv import GatedConv2d, GatedUpConv, Padding


def _down(in_ch: int, out_ch: int, padding: Padding) -> GatedConv2d:
    """A stride-2 3x3 gated conv: the only layers whose padding TF's "SAME" places differently."""
    return GatedConv2d(in_ch, out_ch, 3, stride=2, padding=padding)


def _dilated(width: int) -> list[nn.Module]:
    """Dilations 2, 4, 8, 16 at 1/4 resolution: a receptive field spanning the whole 256 image."""
    return [GatedConv2d(width, width, 3, dilation=d) for d in (2, 4, 8, 16)]


def _decoder(cnum: int, out_channels: int) -> nn.Sequential:
    """From 2*cnum channels at 1/4 resolution back to a tanh image (the output conv is not gated)."""
    return nn.Sequential(
        GatedUpConv(2 * cnum, cnum),
        GatedConv2d(cnum, cnum, 3),
        GatedUpConv(cnum, cnum // 2),
        GatedConv2d(cnum // 2, cnum // 4, 3),
        GatedConv2d(cnum // 4, out_channels, 3, activation=None, gated=False),
        nn.Tanh(),
    )


class CoarseNetwork(nn.Module):
    """Stage 1: an encoder-decoder with a dilated bottleneck that fills the hole roughly."""

    def __init__(
        self, in_channels: int = 5, out_channels: int = 3, cnum: int = 48, padding: Padding = "centered"
    ) -> None:
        super().__init__()
        self.layers = nn.Sequential(
            GatedConv2d(in_channels, cnum // 2, 5),
            _down(cnum // 2, cnum, padding),
            GatedConv2d(cnum, cnum, 3),
            _down(cnum, 2 * cnum, padding),
            GatedConv2d(2 * cnum, 2 * cnum, 3),
            GatedConv2d(2 * cnum, 2 * cnum, 3),
            *_dilated(2 * cnum),
            GatedConv2d(2 * cnum, 2 * cnum, 3),
            GatedConv2d(2 * cnum, 2 * cnum, 3),
            _decoder(cnum, out_channels),
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.layers(x)


class RefineNetwork(nn.Module):
    """Stage 2: a dilated "hallucination" branch and a contextual-attention branch, merged and decoded.

    Its input is the coarse result pasted into the known pixels, in the output's own channels (as the
    official code, no mask channels); the mask only tells contextual attention which patches are known.
    """

    def __init__(
        self,
        channels: int = 3,
        cnum: int = 48,
        padding: Padding = "centered",
        attention: AttentionMode = "suite",
    ) -> None:
        super().__init__()
        self.hallucination = nn.Sequential(
            GatedConv2d(channels, cnum // 2, 5),
            _down(cnum // 2, cnum // 2, padding),
            GatedConv2d(cnum // 2, cnum, 3),
            _down(cnum, cnum, padding),
            GatedConv2d(cnum, 2 * cnum, 3),
            GatedConv2d(2 * cnum, 2 * cnum, 3),
            *_dilated(2 * cnum),
        )
        self.attention_encoder = nn.Sequential(
            GatedConv2d(channels, cnum // 2, 5),
            _down(cnum // 2, cnum // 2, padding),
            GatedConv2d(cnum // 2, cnum, 3),
            _down(cnum, 2 * cnum, padding),
            GatedConv2d(2 * cnum, 2 * cnum, 3),
            # The official code switches to ReLU for the features that contextual attention matches.
            GatedConv2d(2 * cnum, 2 * cnum, 3, activation="relu"),
        )
        self.contextual_attention = ContextualAttention(
            patch_size=3, rate=2, fuse_size=3, softmax_scale=10.0, mode=attention
        )
        self.attention_decoder = nn.Sequential(
            GatedConv2d(2 * cnum, 2 * cnum, 3), GatedConv2d(2 * cnum, 2 * cnum, 3)
        )
        self.merge = nn.Sequential(GatedConv2d(4 * cnum, 2 * cnum, 3), GatedConv2d(2 * cnum, 2 * cnum, 3))
        self.decoder = _decoder(cnum, channels)

    def forward(self, image: Tensor, mask: Tensor) -> Tensor:
        """image: B x channels x H x W composite in [-1, 1]; mask: B x 1 x H x W, 1 = missing."""
        hallucinated = self.hallucination(image)
        features = self.attention_encoder(image)
        attended, _ = self.contextual_attention(features, features, mask)
        attended = self.attention_decoder(attended)
        return self.decoder(self.merge(torch.cat([hallucinated, attended], dim=1)))


class DeepFillV2Generator(nn.Module):
    """Coarse-to-fine inpainting generator; H and W must be multiples of 8.

    `in_channels` is the coarse network's input and `out_channels` the predicted image. DeepFill's input is
    [masked image in [-1, 1], ones, mask] (5 -> 3); the monochromic bottleneck feeds RGB, gray, ones and
    mask and predicts gray (6 -> 1), so the known pixels that stage 2 starts from can be passed as `known`.
    padding ("centered" | "tf_same") and attention ("suite" | "official_code"): see the module docstring.
    """

    def __init__(
        self,
        in_channels: int = 5,
        out_channels: int = 3,
        cnum: int = 48,
        padding: Padding = "centered",
        attention: AttentionMode = "suite",
    ) -> None:
        super().__init__()
        self.out_channels = out_channels
        self.coarse = CoarseNetwork(in_channels, out_channels, cnum, padding)
        self.refine = RefineNetwork(out_channels, cnum, padding, attention)

    def forward(self, x: Tensor, mask: Tensor, known: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """Return the coarse and refined predictions, B x out_channels x H x W in [-1, 1].

        Args:
            x: B x in_channels x H x W network input.
            mask: B x 1 x H x W, 1 = missing.
            known: B x out_channels x H x W image whose known pixels stage 2 keeps; defaults to the first
                `out_channels` channels of `x`, which is where DeepFill's input layout puts the image.
        """
        if x.shape[-2] % 8 or x.shape[-1] % 8:
            raise ValueError(f"height and width must be multiples of 8, got {tuple(x.shape[-2:])}")
        known = x[:, : self.out_channels] if known is None else known
        if known.shape[1] != self.out_channels:
            raise ValueError(
                f"known must have out_channels={self.out_channels} channels, got {known.shape[1]}"
            )
        coarse = self.coarse(x)
        refined = self.refine(coarse * mask + known * (1 - mask), mask)
        return coarse, refined
