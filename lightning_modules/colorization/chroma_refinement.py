"""Chroma refinement at full resolution (this suite's addition to fast_paper, not in EII).

A fit at a quarter of the side cannot see colours that change faster than its pixels: stripes a few
pixels wide in a palette of three colours average out at the fit's size, and the guided filter's local
linear model (chroma = a·gray + b) cannot bring back a palette whose colours are not ordered by their
gray. Per image, a small per-pixel network is fitted on the known pixels at full resolution: from the
gray's window × window neighbourhood and the upsampled chroma it predicts a chroma correction, so the
image's own gray -> colour mapping is learned where the pixels are, as EII's internal colorization
learns it (§3.3.2), and then applied in the hole. Each Adam step sees a random sample of known pixels: a
per-pixel network needs no whole image, which keeps it at about 10 s per 256² image on 2 CPU cores.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from lightning_modules.colorization.color_conversions import yiq_to_rgb

NEGATIVE_SLOPE = 0.2  # as the colorization networks (colorization_network.py)


def _linear(fan_in: int, fan_out: int, batch: int, generator: torch.Generator, device) -> list[Tensor]:
    """nn.Linear's initialization (uniform ±1/√fan_in for weight and bias), the same for every image."""
    bound = 1 / math.sqrt(fan_in)
    weight = (torch.rand(fan_in, fan_out, generator=generator) * 2 - 1) * bound
    bias = (torch.rand(1, fan_out, generator=generator) * 2 - 1) * bound
    return [p.to(device).expand(batch, -1, -1).clone().requires_grad_() for p in (weight, bias)]


def _network(parameters: list[Tensor], features: Tensor) -> Tensor:
    """B×N×F features -> B×N×2 chroma corrections through each image's own three layers."""
    w1, b1, w2, b2, w3, b3 = parameters
    hidden = F.leaky_relu(torch.baddbmm(b1, features, w1), NEGATIVE_SLOPE)
    hidden = F.leaky_relu(torch.baddbmm(b2, hidden, w2), NEGATIVE_SLOPE)
    return torch.baddbmm(b3, hidden, w3)


def refine_chroma(
    chroma: Tensor,
    gray: Tensor,
    image: Tensor,
    hole: Tensor,
    loss,
    iterations: int = 1000,
    channels: int = 32,
    window: int = 5,
    lr: float = 0.02,
    samples: int = 8192,
    seed: int = 0,
) -> Tensor:
    """B×2×H×W chroma (YIQ's I and Q) corrected per image by a per-pixel network fitted to the known
    pixels' colours: `loss` (F.l1_loss or F.mse_loss, the fit's) on RGB with the gray as luminance, Adam
    from `lr` decayed to zero (cosine) over `iterations` steps of `samples` known pixels each. The
    correction starts at zero, so an image without known pixels keeps its chroma as it came."""
    batch, _, height, width = gray.shape
    known = (1 - hole).flatten(1)
    # nothing to learn (no known pixel) or nothing to fill (no hole: with_known_chroma keeps the truth)
    if not ((known > 0).any(1) & (known < 1).any(1)).any():
        return chroma
    pad = window // 2
    neighbourhood = F.unfold(F.pad(gray, (pad, pad, pad, pad), mode="reflect"), window)
    features = torch.cat([neighbourhood, chroma.flatten(2)], 1).transpose(1, 2)  # B × HW × (window² + 2)
    luma, target = gray.flatten(2).transpose(1, 2), image.flatten(2).transpose(1, 2)
    generator = torch.Generator().manual_seed(seed)
    parameters = [
        *_linear(features.shape[-1], channels, batch, generator, gray.device),
        *_linear(channels, channels, batch, generator, gray.device),
        *(
            torch.zeros(batch, *shape, device=gray.device, requires_grad=True)
            for shape in ((channels, 2), (1, 2))
        ),
    ]
    optimizer = torch.optim.Adam(parameters, lr=lr)
    # decayed to zero: at a constant rate the sampled steps keep the correction jittering (a 100 dB image at 66)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, iterations)
    draws = torch.Generator(gray.device).manual_seed(seed)
    # a tiny weight everywhere: an image without known pixels samples anything, weighted zero in the loss
    where = known + 1e-6
    gather = lambda x, index: x.gather(1, index[..., None].expand(-1, -1, x.shape[-1]))  # noqa: E731
    for _ in range(iterations):
        index = torch.multinomial(where, samples, replacement=True, generator=draws)
        sampled = gather(features, index)
        corrected = sampled[..., -2:] + _network(parameters, sampled)  # the upsampled chroma, corrected
        # without the gamut mapping: a correction far out of gamut is desaturated to the same colour whatever
        # its size, its gradient vanishes and the fit stalls (the test's stripes at 0.02: 13.9 dB)
        rgb = yiq_to_rgb(gather(luma, index).mT[..., None], corrected.mT[..., None], gamut=False)
        error = loss(rgb, gather(target, index).mT[..., None], reduction="none").mean(1).flatten(1)
        # per image a mean over its samples, summed: every image's gradient is its own
        step_loss = (error * known.gather(1, index)).mean(1).sum()
        optimizer.zero_grad(set_to_none=True)
        step_loss.backward()
        optimizer.step()
        scheduler.step()
    with torch.no_grad():
        correction = _network(parameters, features)
    return chroma + correction.transpose(1, 2).reshape(batch, 2, height, width)
