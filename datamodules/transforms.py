"""Image transforms: picklable callables `t(image, rng) -> image` on 3×H×W float tensors in [0, 1].

All randomness comes from the `rng` argument, which the DataModule seeds per sample (seeding.py), so an
augmented sample depends only on (seed, epoch, index), never on the worker or rank that loads it.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F

Transform = Callable[[torch.Tensor, np.random.Generator], torch.Tensor]
INTERPOLATIONS = ("bilinear", "bicubic")
RESIZE_MODES = ("exact", "shorter_side")


def _pair(size: int | Sequence[int]) -> tuple[int, int]:
    """An int is a square side; a pair is (height, width) (Hydra passes lists)."""
    if isinstance(size, int):
        return size, size
    height, width = (int(s) for s in size)
    return height, width


def resize(image: torch.Tensor, size: tuple[int, int], interpolation: str = "bilinear") -> torch.Tensor:
    """Antialiased resize of C×H×W to (height, width); bicubic overshoot is clamped back to [0, 1]."""
    if tuple(image.shape[-2:]) == tuple(size):
        return image
    out = F.interpolate(image[None], size=size, mode=interpolation, align_corners=False, antialias=True)[0]
    return out.clamp_(0.0, 1.0) if interpolation == "bicubic" else out


class Compose:
    """Apply transforms in order, all drawing from the same rng."""

    def __init__(self, transforms: Sequence[Transform]):
        self.transforms = list(transforms)

    def __call__(self, image: torch.Tensor, rng: np.random.Generator) -> torch.Tensor:
        for transform in self.transforms:
            image = transform(image, rng)
        return image

    def __repr__(self) -> str:
        return f"Compose({self.transforms})"


class Resize:
    """Resize to `size`.

    mode "exact": to (height, width) (an int gives a square), ignoring the aspect ratio, as the papers'
    "all images are resized to H × W when testing" does. mode "shorter_side": `size` (an int) becomes
    the shorter side and the aspect ratio is kept.
    """

    def __init__(self, size: int | Sequence[int], mode: str = "exact", interpolation: str = "bilinear"):
        if mode not in RESIZE_MODES:
            raise ValueError(f"Resize mode must be one of {RESIZE_MODES}, got {mode!r}")
        if interpolation not in INTERPOLATIONS:
            raise ValueError(f"Resize interpolation must be one of {INTERPOLATIONS}, got {interpolation!r}")
        if mode == "shorter_side" and not isinstance(size, int):
            raise ValueError(f"Resize mode 'shorter_side' takes one int size, got {size!r}")
        self.size = size if isinstance(size, int) else _pair(size)
        self.mode, self.interpolation = mode, interpolation

    def output_size(self, height: int, width: int) -> tuple[int, int]:
        if self.mode == "exact":
            return _pair(self.size)
        scale = self.size / min(height, width)
        return max(self.size, round(height * scale)), max(self.size, round(width * scale))

    def __call__(self, image: torch.Tensor, rng: np.random.Generator | None = None) -> torch.Tensor:
        return resize(image, self.output_size(*image.shape[-2:]), self.interpolation)

    def __repr__(self) -> str:
        return f"Resize({self.size}, mode={self.mode!r}, interpolation={self.interpolation!r})"


def _fit_for_crop(image: torch.Tensor, crop: tuple[int, int], who: str) -> torch.Tensor:
    """Upscale (keeping the aspect ratio) an image smaller than the crop, instead of padding it:
    padding would put borders into training images that the masks then ask the model to reproduce."""
    height, width = image.shape[-2:]
    if height >= crop[0] and width >= crop[1]:
        return image
    scale = max(crop[0] / height, crop[1] / width)
    size = max(crop[0], math.ceil(height * scale)), max(crop[1], math.ceil(width * scale))
    warnings.warn(
        f"{who}: image {width}×{height} is smaller than the {crop[1]}×{crop[0]} crop; "
        f"resizing it to {size[1]}×{size[0]} first",
        stacklevel=3,
    )
    return resize(image, size)


class RandomCrop:
    """A crop of `size` (int or (height, width)) at a uniformly random position.

    An image smaller than the crop is first resized up, aspect ratio kept (with a warning), not padded.
    """

    def __init__(self, size: int | Sequence[int]):
        self.size = _pair(size)

    def __call__(self, image: torch.Tensor, rng: np.random.Generator) -> torch.Tensor:
        image = _fit_for_crop(image, self.size, "RandomCrop")
        height, width = image.shape[-2:]
        top = int(rng.integers(0, height - self.size[0] + 1))
        left = int(rng.integers(0, width - self.size[1] + 1))
        return image[:, top : top + self.size[0], left : left + self.size[1]]

    def __repr__(self) -> str:
        return f"RandomCrop({self.size})"


class CenterCrop:
    """The central crop of `size`; an image smaller than the crop is resized up first, as in RandomCrop."""

    def __init__(self, size: int | Sequence[int]):
        self.size = _pair(size)

    def __call__(self, image: torch.Tensor, rng: np.random.Generator | None = None) -> torch.Tensor:
        image = _fit_for_crop(image, self.size, "CenterCrop")
        height, width = image.shape[-2:]
        top, left = (height - self.size[0]) // 2, (width - self.size[1]) // 2
        return image[:, top : top + self.size[0], left : left + self.size[1]]

    def __repr__(self) -> str:
        return f"CenterCrop({self.size})"


class RandomHorizontalFlip:
    def __init__(self, p: float = 0.5):
        self.p = p

    def __call__(self, image: torch.Tensor, rng: np.random.Generator) -> torch.Tensor:
        return image.flip(-1) if rng.random() < self.p else image

    def __repr__(self) -> str:
        return f"RandomHorizontalFlip(p={self.p})"


class RandomRot90:
    """With probability p, rotate by k·90° with k uniform in {0, 1, 2, 3} (so p = 1 draws each of
    0/90/180/270° with probability 1/4). DeepGIN's training augmentation (its public code; §5.1
    trains on 512² resizes, so the swap of height and width for non-square images never arises there).
    """

    def __init__(self, p: float = 1.0):
        self.p = p

    def __call__(self, image: torch.Tensor, rng: np.random.Generator) -> torch.Tensor:
        if rng.random() >= self.p:
            return image
        return torch.rot90(image, int(rng.integers(0, 4)), dims=(-2, -1))

    def __repr__(self) -> str:
        return f"RandomRot90(p={self.p})"


class PolyphaseSubsample:
    """Keep one of the factor² polyphase components `x[:, i::f, j::f]` (DeepGIN §5.1: resize to 512²,
    then "a subsampling method to randomly select a sub-image with size of 256×256").

    Unlike a resize it keeps the pixels' full-resolution sharpness. random_phase=False takes phase (0, 0),
    for evaluation. Rows/columns beyond a multiple of the factor are dropped first so that every phase has
    the same size.
    """

    def __init__(self, factor: int = 2, random_phase: bool = True):
        if factor < 1:
            raise ValueError(f"PolyphaseSubsample factor must be >= 1, got {factor}")
        self.factor, self.random_phase = factor, random_phase

    def __call__(self, image: torch.Tensor, rng: np.random.Generator) -> torch.Tensor:
        f = self.factor
        height, width = image.shape[-2:]
        image = image[..., : height - height % f, : width - width % f]
        row, col = (int(v) for v in rng.integers(0, f, size=2)) if self.random_phase else (0, 0)
        return image[..., row::f, col::f]

    def __repr__(self) -> str:
        return f"PolyphaseSubsample(factor={self.factor}, random_phase={self.random_phase})"


def polyphase_split(x: torch.Tensor, factor: int | Sequence[int]) -> torch.Tensor:
    """B×C×H×W -> (B·fh·fw)×C×⌈H/fh⌉×⌈W/fw⌉: every image's fh·fw phases, phase (i, j) at b·fh·fw + i·fw + j.

    DeepGIN §6.1 runs large test images as 256² sub-images this way and interleaves the results back with
    `polyphase_merge`. `factor` is one int for both axes or (fh, fw): a 1024×1536 image splits into 4×6
    sub-images of 256². H and W that are not multiples of the factors are padded at the bottom/right by
    repeating the last row/column (at most f − 1 pixels); pass the original size to `polyphase_merge` to
    crop them away again.
    """
    fh, fw = _pair(factor)
    b, c, h, w = x.shape
    pad_h, pad_w = -h % fh, -w % fw
    if pad_h or pad_w:
        x = F.pad(x, (0, pad_w, 0, pad_h), mode="replicate")
    hs, ws = (h + pad_h) // fh, (w + pad_w) // fw
    # x[b, c, hs_i * fh + i, ws_j * fw + j] -> out[b * fh * fw + i * fw + j, c, hs_i, ws_j]
    return x.reshape(b, c, hs, fh, ws, fw).permute(0, 3, 5, 1, 2, 4).reshape(b * fh * fw, c, hs, ws)


def polyphase_merge(
    x: torch.Tensor, factor: int | Sequence[int], size: tuple[int, int] | None = None
) -> torch.Tensor:
    """The exact inverse of `polyphase_split`: (B·fh·fw)×C×h×w -> B×C×(h·fh)×(w·fw), cropped to `size`
    (the (H, W) before splitting) when given."""
    fh, fw = _pair(factor)
    n, c, hs, ws = x.shape
    if n % (fh * fw):
        raise ValueError(f"polyphase_merge: batch {n} is not a multiple of the {fh}×{fw} phases")
    out = x.reshape(n // (fh * fw), fh, fw, c, hs, ws).permute(0, 3, 4, 1, 5, 2)
    out = out.reshape(-1, c, hs * fh, ws * fw)
    return out if size is None else out[..., : size[0], : size[1]]
