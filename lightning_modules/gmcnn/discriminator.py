"""GMCNN's global and local discriminators (NeurIPS 2018 §3.2; official code pytorch/model/net.py
`Discriminator`, `GlobalLocalDiscriminator`, and `InpaintingModel_GMCNN` for the local patch).

Each is four 5×5 stride-2 spectrally normalized convolutions (c, 2c, 4c, 4c; ELU) and a spectrally
normalized linear layer to one logit, so each takes one fixed input size: the global one the whole
training image, the local one the patch around the hole. The official code trains on one 128×128 rectangle
per 256² image and crops exactly that rectangle; for any mask this module crops each image's hole bounding
box and resizes it (bilinear) to `local_size`, which is the official crop whenever the hole is a
`local_size` square.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from lightning_modules.common.spectral_norm import spectral_norm


class Discriminator(nn.Module):
    """One logit per image of `size`×`size` pixels (net.py `Discriminator`, spectral_norm=1)."""

    def __init__(self, in_channels: int, cnum: int, size: int) -> None:
        super().__init__()
        if size % 16:
            raise ValueError(
                f"a GMCNN discriminator halves its input 4 times; got {size} px, not a multiple of 16"
            )
        self.size = size
        widths = [cnum, 2 * cnum, 4 * cnum, 4 * cnum]
        # PyTorch's default initialization: the official init_weights skips these layers, whose weight its
        # SpectralNorm wrapper has renamed.
        self.convs = nn.ModuleList(
            spectral_norm(nn.Conv2d(c_in, c_out, 5, stride=2, padding=2))
            for c_in, c_out in zip([in_channels, *widths[:-1]], widths)
        )
        self.linear = spectral_norm(nn.Linear((size // 16) ** 2 * 4 * cnum, 1))

    def forward(self, x: Tensor) -> Tensor:
        if x.shape[-2:] != (self.size, self.size):
            raise ValueError(
                f"this discriminator takes {self.size}×{self.size} inputs (its linear layer fixes the size), "
                f"got {tuple(x.shape[-2:])}: set model.discriminator.image_size / local_size to the "
                "training images' size and the local patch's"
            )
        for conv in self.convs:
            x = F.elu(conv(x))
        return self.linear(x.flatten(1))


def hole_patches(image: Tensor, mask: Tensor, size: int) -> Tensor:
    """Each image's crop to its hole's bounding box, resized to `size`² (bilinear; an exact crop when the
    box is already `size`²). An image without a hole gives its whole area."""
    patches = []
    for one, hole in zip(image, mask):
        rows, cols = hole[0].amax(dim=1).nonzero(), hole[0].amax(dim=0).nonzero()
        if len(rows):
            one = one[:, rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
        if one.shape[-2:] != (size, size):
            one = F.interpolate(one[None], (size, size), mode="bilinear", align_corners=False)[0]
        patches.append(one)
    return torch.stack(patches)


class GlobalLocalDiscriminator(nn.Module):
    """in_channels: the image's channels (3 RGB / 1 gray; no mask, as net.py); cnum: 64 (train_options.py
    d_cnum); image_size: the training images' side, 256 (img_shapes); local_size: the hole patch's side,
    128 (mask_shapes)."""

    def __init__(self, in_channels: int = 3, cnum: int = 64, image_size: int = 256, local_size: int = 128):
        super().__init__()
        self.local_size = local_size
        self.global_discriminator = Discriminator(in_channels, cnum, image_size)
        self.local_discriminator = Discriminator(in_channels, cnum, local_size)

    def forward(self, image: Tensor, local: Tensor) -> tuple[Tensor, Tensor]:
        """(global, local) logits, B×1 each, for whole images B×C×H×W and their hole patches
        (`hole_patches(image, mask, local_size)`)."""
        return self.global_discriminator(image), self.local_discriminator(local)
