"""Procedural textures: the offline default dataset, standing in for DTD.

EII §4.3.2 picks DTD to show structure reconstruction because it holds "simple texture images such as
line, circle, checkerboard with extremely diverse colors". These textures have the same two traits:
crisp stripes, checkerboards, dot lattices, scattered circles, rings and line grids at any angle and
scale, in 2-4 well separated colors from the whole HSV range, some as gradients. Every image is a pure
function of (seed, split, index), so no files are needed and any number of workers agree.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch

from datamodules.datasets.base import SPLITS, ImageList, ImageSource
from datamodules.datasets.listing import check_split_name
from datamodules.seeding import SOURCE_STREAM, rng_for

SUPERSAMPLE = 2  # 2×2 samples per pixel: anti-aliased but still crisp edges
MIN_COLOR_DISTANCE = 0.3  # per-channel (L∞) distance between the colors of one image
GRADIENT_PROBABILITY = 0.3
# A pattern drawn at a scale larger than the image can leave one color (a single stripe, no circle in
# view): such a draw is redrawn until colors other than the dominant one cover this fraction.
MIN_MINOR_FRACTION = 0.05

Grid = tuple[np.ndarray, np.ndarray]  # sample-point coordinates in pixels: y (S_h×1), x (1×S_w)
Pattern = Callable[[np.random.Generator, Grid, int, float], np.ndarray]


def _log_uniform(rng: np.random.Generator, low: float, high: float) -> np.float32:
    """Scales spread evenly over octaves, so fine and coarse patterns are equally common."""
    return np.float32(np.exp(rng.uniform(np.log(low), np.log(max(low, high)))))


def _uniform(rng: np.random.Generator, low: float = 0.0, high: float = 1.0) -> np.float32:
    """float32 scalars keep the per-sample arithmetic in float32."""
    return np.float32(rng.uniform(low, high))


def _mod(x: np.ndarray, n: int) -> np.ndarray:
    """x mod n for whole-number floats (several times faster than numpy's % on floats or int64)."""
    return x - np.float32(n) * np.floor(x / np.float32(n))


def _rotated(grid: Grid, angle: float) -> tuple[np.ndarray, np.ndarray]:
    y, x = grid
    c, s = np.float32(np.cos(angle)), np.float32(np.sin(angle))
    return x * c + y * s, y * c - x * s


def _band(phase: np.ndarray, rng: np.random.Generator, n: int) -> np.ndarray:
    """Label 0..n-1 of each position's fractional phase, with n bands of random widths per period."""
    widths = rng.uniform(0.5, 1.5, size=n)
    bounds = np.cumsum(widths / widths.sum())[:-1].astype(np.float32)
    frac = phase - np.floor(phase)
    labels = np.zeros(frac.shape, dtype=np.uint8)
    for bound in bounds:
        labels += frac >= bound
    return labels


def stripes(rng: np.random.Generator, grid: Grid, n: int, side: float) -> np.ndarray:
    u, _ = _rotated(grid, rng.uniform(0, np.pi))
    return _band(u / _log_uniform(rng, 6, 0.6 * side) + _uniform(rng), rng, n)


def checkerboard(rng: np.random.Generator, grid: Grid, n: int, side: float) -> np.ndarray:
    """Rotated (possibly rectangular) cells; with n > 2 colors a cell's color shifts per row."""
    u, v = _rotated(grid, rng.uniform(0, np.pi / 2))
    cell = _log_uniform(rng, 5, 0.4 * side)
    aspect = _uniform(rng, 0.5, 2.0) if rng.random() < 0.3 else np.float32(1)
    i = np.floor(u / cell + _uniform(rng))
    j = np.floor(v / (cell * aspect) + _uniform(rng))
    return _mod(i + np.float32(rng.integers(1, n)) * j, n).astype(np.uint8)


def dot_lattice(rng: np.random.Generator, grid: Grid, n: int, side: float) -> np.ndarray:
    """Discs or rings on a rotated square or hexagonal lattice, in colors 1..n-1 on background 0."""
    u, v = _rotated(grid, rng.uniform(0, np.pi / 2))
    spacing = _log_uniform(rng, 8, 0.4 * side)
    v = v / spacing + _uniform(rng)
    j = np.floor(v)
    u = u / spacing + _uniform(rng)
    if rng.random() < 0.5:  # hexagonal: every other row shifted by half a period
        u = u + np.float32(0.5) * _mod(j, 2)
    i = np.floor(u)
    distance = np.sqrt((u - i - np.float32(0.5)) ** 2 + (v - j - np.float32(0.5)) ** 2)
    radius = _uniform(rng, 0.15, 0.45)
    inside = distance < radius
    if rng.random() < 0.3:
        inside &= distance > radius * _uniform(rng, 0.4, 0.8)
    return np.where(inside, 1 + _mod(i + j, n - 1), 0).astype(np.uint8)


def scattered_circles(rng: np.random.Generator, grid: Grid, n: int, side: float) -> np.ndarray:
    """Overlapping discs of random sizes painted in turn; each touches only its bounding box."""
    y, x = grid
    labels = np.zeros((y.shape[0], x.shape[1]), dtype=np.uint8)
    height, width = y.shape[0] / SUPERSAMPLE, x.shape[1] / SUPERSAMPLE
    for _ in range(int(rng.integers(4, 40))):
        radius = _log_uniform(rng, 2, 0.25 * side)
        cy, cx = _uniform(rng, -radius, height + radius), _uniform(rng, -radius, width + radius)
        rows = slice(max(0, int((cy - radius) * SUPERSAMPLE)), max(0, int((cy + radius) * SUPERSAMPLE) + 1))
        cols = slice(max(0, int((cx - radius) * SUPERSAMPLE)), max(0, int((cx + radius) * SUPERSAMPLE) + 1))
        inside = (y[rows] - cy) ** 2 + (x[:, cols] - cx) ** 2 < radius**2
        labels[rows, cols][inside] = rng.integers(1, n)
    return labels


def rings(rng: np.random.Generator, grid: Grid, n: int, side: float) -> np.ndarray:
    """Concentric circles around a center that may lie outside the image (then they look like arcs)."""
    y, x = grid
    cy, cx = (rng.uniform(-0.5, 1.5, size=2) * side).astype(np.float32)
    radius = np.sqrt((y - cy) ** 2 + (x - cx) ** 2)
    return _band(radius / _log_uniform(rng, 5, 0.3 * side) + _uniform(rng), rng, n)


def line_grid(rng: np.random.Generator, grid: Grid, n: int, side: float) -> np.ndarray:
    """1-3 families of thin parallel lines (1-4 px, often crossing at right angles), each in its color;
    a period larger than the image gives single lines."""
    labels = np.zeros((grid[0].shape[0], grid[1].shape[1]), dtype=np.uint8)
    angle = rng.uniform(0, np.pi)
    for family in range(1, n):
        u, _ = _rotated(grid, angle)
        period = _log_uniform(rng, 6, 1.5 * side)
        half_width = min(_uniform(rng, 0.5, 2.0), period / 4)
        phase = u / period + _uniform(rng)
        labels[np.abs(phase - np.round(phase)) * period < half_width] = family
        angle += np.pi / 2 if rng.random() < 0.6 else rng.uniform(0, np.pi)
    return labels


PATTERNS: tuple[Pattern, ...] = (stripes, checkerboard, dot_lattice, scattered_circles, rings, line_grid)


def _hsv_to_rgb(hsv: np.ndarray) -> np.ndarray:
    h, s, v = hsv[..., 0:1] * 6, hsv[..., 1:2], hsv[..., 2:3]
    k = (np.array([5.0, 3.0, 1.0]) + h) % 6
    return v - v * s * np.clip(np.minimum(k, 4 - k), 0, 1)


def distinct_colors(rng: np.random.Generator, n: int) -> np.ndarray:
    """n RGB colors from the whole gamut (any hue, grays included), pairwise ≥ MIN_COLOR_DISTANCE apart."""
    hsv = rng.uniform([0.0, 0.25, 0.15], [1.0, 1.0, 1.0], size=(64, 3))
    hsv[rng.random(64) < 0.15, 1] = 0.0  # some grays, black and white
    candidates = _hsv_to_rgb(hsv)
    chosen = [candidates[0]]
    for color in candidates[1:]:
        if len(chosen) == n:
            break
        if min(np.abs(color - c).max() for c in chosen) >= MIN_COLOR_DISTANCE:
            chosen.append(color)
    while len(chosen) < n:  # 64 candidates nearly always suffice; complements keep the contrast
        chosen.append(1.0 - chosen[-1])
    return np.array(chosen, dtype=np.float32)


def render_texture(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """One H×W×3 float32 texture in [0, 1]."""
    ys = (np.arange(height * SUPERSAMPLE, dtype=np.float32) + 0.5) / SUPERSAMPLE
    xs = (np.arange(width * SUPERSAMPLE, dtype=np.float32) + 0.5) / SUPERSAMPLE
    n = int(rng.integers(2, 5))
    colors = distinct_colors(rng, n)
    while True:
        pattern = PATTERNS[int(rng.integers(len(PATTERNS)))]
        labels = pattern(rng, (ys[:, None], xs[None, :]), n, float(min(height, width)))
        if 1 - np.bincount(labels.ravel(), minlength=n).max() / labels.size >= MIN_MINOR_FRACTION:
            break
    # Anti-aliasing: a pixel's color is the mean of its 2×2 samples' colors. The samples' labels form a
    # code < n⁴, and a table of the n⁴ mean colors turns codes into pixels in one lookup.
    code = np.zeros((height, width), dtype=np.intp)
    for dy in range(SUPERSAMPLE):
        for dx in range(SUPERSAMPLE):
            code *= n
            code += labels[dy::SUPERSAMPLE, dx::SUPERSAMPLE]
    digits = np.stack(np.unravel_index(np.arange(n ** (SUPERSAMPLE**2)), (n,) * SUPERSAMPLE**2), axis=-1)
    image = np.take(colors[digits].mean(axis=1), code, axis=0)
    if rng.random() < GRADIENT_PROBABILITY:
        # All colors drift by about the same tint across the image, so neighbours keep their contrast.
        ends = np.clip(colors + rng.uniform(-0.5, 0.5, 3) + rng.uniform(-0.07, 0.07, (n, 3)), 0, 1)
        angle = rng.uniform(0, 2 * np.pi)
        c, s = np.cos(angle), np.sin(angle)
        along = (np.arange(width) - width / 2) * c + (np.arange(height)[:, None] - height / 2) * s
        t = (0.5 + along / (abs(width * c) + abs(height * s))).astype(np.float32)[..., None]
        image = image * (1 - t) + np.take(ends[digits].mean(axis=1), code, axis=0).astype(np.float32) * t
    return np.clip(image, 0.0, 1.0)


class TextureList(ImageList):
    def __init__(self, size: tuple[int, int], count: int, seed: int, split: str):
        self.size, self.count, self.seed, self.split = size, count, seed, split

    def __len__(self) -> int:
        return self.count

    def load(self, index: int) -> torch.Tensor:
        if not 0 <= index < self.count:
            raise IndexError(f"synthetic {self.split} texture {index} out of range 0..{self.count - 1}")
        # The split is a seed key, so val/test textures are independent draws, never training images.
        rng = rng_for(self.seed, SOURCE_STREAM, SPLITS.index(self.split), index)
        image = render_texture(rng, *self.size)
        return torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1)))

    def name(self, index: int) -> str:
        return f"synthetic/{self.split}/{index:06d}"


class SyntheticTextures(ImageSource):
    """Procedural textures of `size` (int or (height, width)); `seed` is the dataset's own seed, kept
    fixed across runs so that every run of a sweep is scored on the same textures."""

    def __init__(
        self,
        size: int | Sequence[int] = 128,
        num_train: int = 4096,
        num_val: int = 64,
        num_test: int = 64,
        seed: int = 0,
    ):
        height, width = (size, size) if isinstance(size, int) else (int(s) for s in size)
        self.size, self.seed = (height, width), seed
        self.counts = {"train": num_train, "val": num_val, "test": num_test}

    def split(self, name: str) -> ImageList:
        check_split_name(name)
        return TextureList(self.size, self.counts[name], self.seed, name)
