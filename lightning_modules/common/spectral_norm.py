"""torch's spectral norm (Miyato et al., "Spectral Normalization for GANs", ICLR 2018) with its power
iteration in float32 under mixed precision.

CUDA autocast runs `torch.mv`, the power iteration's product, in bf16 / fp16: σ would carry about three
significant digits and the unit vectors `u`, `v` (buffers, saved in checkpoints) would drift by the
rounding of every step. Here the parametrization computes W / σ outside autocast, in the weight's own
float32; the layer's convolution or product still runs in the lower precision. State-dict keys are
torch's (`parametrizations.weight.original`, `._u`, `._v`), so checkpoints and converted releases load
unchanged.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.nn.utils import parametrizations


class OutsideAutocast:
    """A parametrization's own forward, run with autocast off. An object rather than a closure, so that a
    deep copy of the network gets one bound to its own copy (and updates its own `u`, `v`)."""

    def __init__(self, parametrization: nn.Module) -> None:
        self.parametrization = parametrization

    def __call__(self, weight: Tensor) -> Tensor:
        with torch.autocast(weight.device.type, enabled=False):
            return type(self.parametrization).forward(self.parametrization, weight)


def spectral_norm(module: nn.Module, name: str = "weight", **kwargs) -> nn.Module:
    """torch.nn.utils.parametrizations.spectral_norm(module, name, **kwargs), with its power iteration and
    σ in float32 whatever the autocast around the layer."""
    parametrizations.spectral_norm(module, name, **kwargs)
    parametrization = module.parametrizations[name][0]
    parametrization.forward = OutsideAutocast(parametrization)
    return module
