"""Zhang et al. 2017, "Real-time user-guided image colorization with learned deep priors" (EII Table 3).

The released `siggraph17` network predicts ab from L plus sparse ab hints; here every known pixel is a
hint. Inputs as the released model expects them: (L − 50) / 100, ab / 110 at the hints (0 elsewhere) and
the hint mask as 1/0 (its demo passes zeros when there are no hints, the convention of the converted Caffe
weights, mask_cent 0 in colorization-pytorch). L is the Lab lightness of the given gray (as an achromatic
sRGB color). The network runs at the image's own size, padded to a multiple of 8: dense hints lose detail
when resized to the demo's 256². The predicted chroma is put back on the given gray in YIQ, so the result
decolorizes to exactly the bottleneck, like the other guided baselines (chroma_propagation.py).

Weights come only from the pretrained loader (siggraph17-df00044c.pth in $TORCH_HOME/hub/checkpoints);
when the file is absent the constructor raises MissingWeightsError, so callers can mark the method
unavailable. weights="random" is for tests only.
"""

from __future__ import annotations

import logging
from typing import Literal

import torch
import torch.nn.functional as F
from kornia.color import lab_to_rgb, rgb_to_lab
from torch import Tensor

from lightning_modules.colorization.color_conversions import rgb_to_yiq
from lightning_modules.colorization.guided_colorization.chroma_propagation import GuidedColorization
from lightning_modules.colorization.guided_colorization.zhang_network import SIGGRAPH17Generator
from utils.pretrained import require_weights

log = logging.getLogger(__name__)

L_CENTER, L_NORM, AB_NORM = 50.0, 100.0, 110.0
SIZE_MULTIPLE = 8  # three 2× subsamplings, undone by three 2× transposed convolutions


class ZhangColorization(GuidedColorization):
    name = "zhang"

    def __init__(self, weights: Literal["siggraph17", "random"] = "siggraph17"):
        if weights not in ("siggraph17", "random"):
            raise ValueError(f"weights must be 'siggraph17' or 'random', got {weights!r}")
        path = require_weights("siggraph17") if weights == "siggraph17" else None  # fail before building
        self.network = SIGGRAPH17Generator().eval().requires_grad_(False)
        if path is None:
            log.warning(
                "Zhang et al. colorization with RANDOM weights (asked for by name): not the baseline."
            )
        else:
            self.network.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))

    def chroma(self, gray: Tensor, image: Tensor, known: Tensor) -> Tensor:
        self.network.to(gray.device)
        gray, image, known = gray.float(), image.float(), known.float()
        lightness = rgb_to_lab(gray.expand(-1, 3, -1, -1))[:, :1]
        hints = rgb_to_lab(image)[:, 1:] * known
        height, width = gray.shape[-2:]
        pad = (0, -width % SIZE_MULTIPLE, 0, -height % SIZE_MULTIPLE)
        inputs = torch.cat(
            [
                F.pad((lightness - L_CENTER) / L_NORM, pad, mode="replicate"),
                F.pad(torch.cat([hints / AB_NORM, known], 1), pad),  # no hints in the padding
            ],
            1,
        )
        ab = self.network(inputs)[..., :height, :width] * AB_NORM
        rgb = lab_to_rgb(torch.cat([lightness, ab], 1), clip=False)
        return rgb_to_yiq(rgb)[:, 1:]
