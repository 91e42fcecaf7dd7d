"""EdgeConnect's discriminators D1 (edges) and D2 (images): the 70×70 PatchGAN of pix2pix with spectral
norm (official code: knazeri/edge-connect, src/networks.py `Discriminator`).

Five 4×4 convs, cnum-2·cnum-4·cnum-8·cnum-1 channels, strides 2, 2, 2, 1, 1, LeakyReLU 0.2 after all but
the last; spectral norm on each, which replaces the biases (bias=False). Every conv's output is returned
for the feature-matching loss of the edge model (Eq. 3 of the paper).
"""

from __future__ import annotations

from torch import Tensor, nn

from lightning_modules.common.spectral_norm import spectral_norm
from lightning_modules.edgeconnect.generators import init_conv


class PatchGANDiscriminator(nn.Module):
    """Returns (patch logits B×1×h×w, [the five conv outputs]). The official Discriminator ends in a sigmoid
    for the nsgan / lsgan losses (use_sigmoid); here the loss applies it (losses.adversarial_loss), so the
    nsgan loss is binary cross-entropy on logits: the same value, and safe under bf16 autocast, which
    refuses BCELoss on probabilities. 2.76M parameters at cnum 64."""

    def __init__(self, in_channels: int = 3, cnum: int = 64) -> None:
        super().__init__()
        widths = [cnum, 2 * cnum, 4 * cnum, 8 * cnum, 1]
        strides = [2, 2, 2, 1, 1]
        self.convs = nn.ModuleList()
        for i, (c_in, c_out, stride) in enumerate(zip([in_channels, *widths[:-1]], widths, strides)):
            conv = spectral_norm(init_conv(nn.Conv2d(c_in, c_out, 4, stride, padding=1, bias=False)))
            last = i == len(widths) - 1
            self.convs.append(conv if last else nn.Sequential(conv, nn.LeakyReLU(0.2)))

    def forward(self, x: Tensor) -> tuple[Tensor, list[Tensor]]:
        features = []
        for conv in self.convs:
            x = conv(x)
            features.append(x)
        return x, features
