"""Guided inpainting with harmonization (Block-wise paper §4.4): the block-wise model with two outputs,
trained jointly on guided composites (datamodules/guided_composites.py).

The input is the composite (the image with a box pasted from elsewhere) as it is, plus the box's
background and foreground masks (§4.4: "The result, together with the foreground/background segmentation
mask of I_b, is given to the network as input"); the generator predicts two images,
the inpainting (used in the background) and the harmonization (used on the foreground), and the original
image is the ground truth of both (§4.4). The losses are the paper's (eq. 5) on the restored image: PPL
on the box and the multi-scale patch adversarial loss with the box's patches fake. The paper gives no
other loss for the two-output model.

Without a guide (`forward(image, mask)`, what evaluate / predict call for plain inpainting) the
foreground is empty, the hole is zero-filled as in plain inpainting (§4.1: it holds nothing pasted) and
the inpainting output fills it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor

from evaluation.metrics import InpaintingMetrics
from lightning_modules.base import as_rgb
from lightning_modules.base import composite as composite_images
from lightning_modules.blockwise.module import BlockwiseInpainting


class GuidedBlockwiseInpainting(BlockwiseInpainting):
    generator_extra_channels = 2  # the background (hole) and foreground (object) masks
    generator_outputs = 2  # the inpainting and the harmonization

    def discriminator_channels(self, out_channels: int) -> int:
        return self.bottleneck.image_channels + 2 + out_channels

    def guided_input(self, composite: Tensor, hole: Tensor, obj: Tensor) -> Tensor:
        """The composite in [-1, 1] with the box's background (hole) and foreground (object) masks."""
        return torch.cat([self.bottleneck.network_image(composite) * 2 - 1, hole, obj], dim=1)

    def restored(self, output: Tensor, known: Tensor, hole: Tensor, obj: Tensor) -> Tensor:
        """Known pixels, the inpainting in the hole, the harmonization on the object (all in [-1, 1])."""
        inpainting, harmonization = output.chunk(2, dim=1)
        return known * (1 - hole - obj) + inpainting * hole + harmonization * obj

    def guided(self, composite: Tensor, hole: Tensor, obj: Tensor) -> Tensor:
        """The restored image in [0, 1] (the bottleneck's space) from a composite and its box's split."""
        output = self.generator(self.guided_input(composite, hole, obj))
        return (self.restored(output, self.bottleneck.target(composite) * 2 - 1, hole, obj) + 1) / 2

    def guided_inpainting(self) -> Callable[[Tensor, Tensor, Tensor], Tensor]:
        return self.inpaint_guided

    @torch.no_grad()
    def inpaint_guided(self, composite: Tensor, hole: Tensor, obj: Tensor) -> Tensor:
        """The RGB result of any H×W for predict.py's guide: the known pixels, the hole inpainted and the
        object harmonized (mono: then colorized from the known pixels)."""
        height, width = composite.shape[-2:]
        result = self.guided(*self.padded(composite, hole, obj))[..., :height, :width].float().clamp(0, 1)
        box = hole + obj
        return composite_images(self.bottleneck.restore(result, composite, box), composite, box)

    def forward(self, image: Tensor, mask: Tensor) -> Tensor:
        condition = self.guided_input(image, mask, torch.zeros_like(mask))
        condition[:, :-2] *= 1 - mask  # the hole's pixels are unknown here: zero-filled
        output = self.generator(condition)
        return (output.chunk(2, dim=1)[0] + 1) / 2

    def training_inputs(self, batch: dict[str, Any]) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        hole, obj = batch["hole"], batch["object"]
        condition = self.guided_input(batch["composite"], hole, obj)
        target = self.bottleneck.target(batch["image"]) * 2 - 1
        return condition, target, self.restored(self.generator(condition), target, hole, obj), batch["mask"]

    def _evaluation_step(
        self, batch: dict[str, Any], metrics: InpaintingMetrics, restore: bool
    ) -> dict[str, Tensor]:
        """Scores the restored image against the original over the box (restore: colors back for mono)."""
        image, box = batch["image"], batch["mask"]
        result = self.guided(batch["composite"], batch["hole"], batch["object"]).float().clamp(0, 1)
        target = self.bottleneck.target(image)
        if restore:
            result = self.bottleneck.restore(result, image, box)
            target = image
        metrics.update(as_rgb(result), as_rgb(target), box, batch.get("index"))
        return {"output": as_rgb(result), "composite": as_rgb(result)}
