"""EdgeConnect's two generators (official code: knazeri/edge-connect, src/networks.py).

Both are the same encoder / dilated-residual middle / decoder: a 7×7 conv to `cnum` channels, two 4×4
stride-2 convs (2·cnum, 4·cnum), `residual_blocks` residual blocks with dilation 2, two 4×4 stride-2
transposed convs back and a 7×7 output conv; InstanceNorm without affine parameters, ReLU, reflection
padding around the 7×7 and 3×3 convs. The edge generator G1 has spectral norm on every conv but the
output one and a sigmoid edge map; the inpainting generator G2 has no spectral norm and a tanh mapped to
[0, 1].
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from lightning_modules.common.spectral_norm import spectral_norm


def init_conv(conv: nn.Module, std: float = 0.02) -> nn.Module:
    """The official BaseNetwork.init_weights('normal', 0.02): weight N(0, 0.02), zero bias. Applied before
    spectral norm wraps the conv (the official init reaches weight_orig the same way, through shared
    storage, before any forward pass)."""
    nn.init.normal_(conv.weight, 0.0, std)
    if conv.bias is not None:
        nn.init.zeros_(conv.bias)
    return conv


class ResnetBlock(nn.Module):
    """x + [reflect pad, 3×3 dilated conv, IN, ReLU, reflect pad, 3×3 conv, IN]; no ReLU after the sum
    (official comment: torch.ch/blog/2016/02/04/resnets.html). With spectral norm the convs have no bias."""

    def __init__(self, channels: int, dilation: int = 2, use_spectral_norm: bool = False) -> None:
        super().__init__()
        norm = spectral_norm if use_spectral_norm else (lambda conv: conv)
        bias = not use_spectral_norm
        self.body = nn.Sequential(
            nn.ReflectionPad2d(dilation),
            norm(init_conv(nn.Conv2d(channels, channels, 3, dilation=dilation, bias=bias))),
            nn.InstanceNorm2d(channels),
            nn.ReLU(),
            nn.ReflectionPad2d(1),
            norm(init_conv(nn.Conv2d(channels, channels, 3, bias=bias))),
            nn.InstanceNorm2d(channels),
        )

    def forward(self, x: Tensor) -> Tensor:
        return x + self.body(x)


class EdgeConnectGenerator(nn.Module):
    """The shared architecture; `use_spectral_norm` on the encoder, middle and decoder convs (not the
    7×7 output conv, as the official EdgeGenerator)."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        cnum: int = 64,
        residual_blocks: int = 8,
        use_spectral_norm: bool = False,
    ) -> None:
        super().__init__()
        norm = spectral_norm if use_spectral_norm else (lambda conv: conv)

        def down(c_in: int, c_out: int, **conv) -> list[nn.Module]:
            return [norm(init_conv(nn.Conv2d(c_in, c_out, **conv))), nn.InstanceNorm2d(c_out), nn.ReLU()]

        def up(c_in: int, c_out: int) -> list[nn.Module]:
            conv = nn.ConvTranspose2d(c_in, c_out, 4, stride=2, padding=1)
            return [norm(init_conv(conv)), nn.InstanceNorm2d(c_out), nn.ReLU()]

        self.encoder = nn.Sequential(
            nn.ReflectionPad2d(3),
            *down(in_channels, cnum, kernel_size=7),
            *down(cnum, 2 * cnum, kernel_size=4, stride=2, padding=1),
            *down(2 * cnum, 4 * cnum, kernel_size=4, stride=2, padding=1),
        )
        self.middle = nn.Sequential(
            *(ResnetBlock(4 * cnum, 2, use_spectral_norm) for _ in range(residual_blocks))
        )
        self.decoder = nn.Sequential(
            *up(4 * cnum, 2 * cnum),
            *up(2 * cnum, cnum),
            nn.ReflectionPad2d(3),
            init_conv(nn.Conv2d(cnum, out_channels, 7)),
        )

    def features(self, x: Tensor) -> Tensor:
        """The output conv's pre-activation."""
        return self.decoder(self.middle(self.encoder(x)))


class EdgeGenerator(EdgeConnectGenerator):
    """G1: [gray with white holes, known edges, mask] -> edge map in [0, 1] (sigmoid). 10.76M parameters at
    cnum 64 with 8 blocks, as the official EdgeGenerator."""

    def __init__(self, in_channels: int = 3, out_channels: int = 1, cnum: int = 64, residual_blocks: int = 8):
        super().__init__(in_channels, out_channels, cnum, residual_blocks, use_spectral_norm=True)

    def forward(self, x: Tensor) -> Tensor:
        return torch.sigmoid(self.features(x))


class InpaintGenerator(EdgeConnectGenerator):
    """G2: [image with white holes, composite edge map] -> image in [0, 1] ((tanh + 1) / 2, as the official
    InpaintGenerator). 10.77M parameters for RGB at cnum 64 with 8 blocks. The image channels follow the
    suite's bottleneck (rgb: 3 in, 3 out; mono: RGB + gray in, gray out)."""

    def __init__(self, in_channels: int = 4, out_channels: int = 3, cnum: int = 64, residual_blocks: int = 8):
        super().__init__(in_channels, out_channels, cnum, residual_blocks, use_spectral_norm=False)

    def forward(self, x: Tensor) -> Tensor:
        return (torch.tanh(self.features(x)) + 1) / 2
