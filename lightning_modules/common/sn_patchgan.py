"""SN-PatchGAN discriminator (Yu et al., "Free-Form Image Inpainting with Gated Convolution", ICCV 2019).

Spectrally normalized strided convolutions whose last feature map is a dense grid of GAN outputs, each
judging one large overlapping patch; free-form holes can lie anywhere, so every patch gets a verdict.
"""

from __future__ import annotations

from torch import Tensor, nn

from lightning_modules.common.gated_conv import Padding, same_conv2d
from lightning_modules.common.spectral_norm import spectral_norm


class SNPatchGANDiscriminator(nn.Module):
    """Six 5x5 stride-2 SN convolutions (cnum, 2, 4, 4, 4, 4 x cnum), LeakyReLU 0.2; output B x N logits.
    padding: "centered", or "tf_same" as the official TF code's `dis_conv` pads (one pixel less on the
    top / left of an even size: gated_conv.TFSameConv2d)."""

    def __init__(
        self, in_channels: int = 4, cnum: int = 64, num_layers: int = 6, padding: Padding = "centered"
    ) -> None:
        super().__init__()
        widths = [min(cnum * 2**i, 4 * cnum) for i in range(num_layers)]
        layers: list[nn.Module] = []
        for c_in, c_out in zip([in_channels, *widths[:-1]], widths):
            conv = same_conv2d(c_in, c_out, 5, stride=2, padding=padding)
            # TF's defaults in the official code, as for the generator: Glorot-uniform kernel, zero bias.
            nn.init.xavier_uniform_(conv.weight)
            nn.init.zeros_(conv.bias)
            layers += [spectral_norm(conv), nn.LeakyReLU(0.2)]
        self.layers = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        """x: B x in_channels x H x W (image in [-1, 1] and the mask); returns B x N patch logits."""
        return self.layers(x).flatten(1)
