"""The three mask types of the AIM 2020 Extreme Image Inpainting challenge that DeepGIN trains on (Li et al.,
"DeepGIN: Deep Generative Inpainting Network for Extreme Image Inpainting", ECCV Workshops 2020, §5.1): a box,
cellular automata and free-form strokes. Parameters and steps follow the challenge's mask code
(github.com/vglsd/AIM2020-Image-Inpainting-Challenge, masks.py: Masks.get_box_mask, get_ca_mask and
get_ff_mask; Ntavelis et al., "AIM 2020 Challenge on Image Extreme Inpainting", ECCV Workshops 2020), which
DeepGIN's code uses unchanged (github.com/rlct1/gin, data/masks.py)."""

from __future__ import annotations

import math

import numpy as np
from PIL import Image, ImageDraw

from datamodules.masks.base import MaskGenerator
from datamodules.masks.free_form_strokes import draw_capsules, pixel_scale
from datamodules.masks.rectangles import RandomRectangles


def resize_nearest(array: np.ndarray, height: int, width: int) -> np.ndarray:
    rows = np.arange(height) * array.shape[0] // height
    cols = np.arange(width) * array.shape[1] // width
    return array[np.ix_(rows, cols)]


def median3x3(grid: np.ndarray) -> np.ndarray:
    """scipy.ndimage.median_filter(grid, size=3, mode="constant") of a 0/1 grid, 100× faster: the median of
    nine binary values is their majority."""
    padded = np.pad(grid, 1)
    rows = padded[:, :-2] + padded[:, 1:-1] + padded[:, 2:]
    return (rows[:-2] + rows[1:-1] + rows[2:] >= 5).astype(np.uint8)


def dilate_cross(mask: np.ndarray) -> np.ndarray:
    """One binary dilation with the 3×3 cross (ndimage.generate_binary_structure(2, 1))."""
    grown = mask.copy()
    grown[1:] |= mask[:-1]
    grown[:-1] |= mask[1:]
    grown[:, 1:] |= mask[:, :-1]
    grown[:, :-1] |= mask[:, 1:]
    return grown


class AIMBox(RandomRectangles):
    """One rectangle "with the height and width between 30-70% of each dimension" (DeepGIN §5.1)."""

    def __init__(self, min_fraction: float = 0.3, max_fraction: float = 0.7):
        super().__init__(min_fraction, max_fraction, min_count=1, max_count=1)


class CellularAutomata(MaskGenerator):
    """AIM 2020 cellular-automata masks: a uniform random binary grid of cells `scale` pixels wide, smoothed
    by a 3×3 median filter (zero border) `min_iterations`…`max_iterations` times, upsampled with nearest
    neighbour and, for cells wider than a pixel, dilated once with a 3×3 cross.

    Cell sizes are pixels at 256², where DeepGIN draws its masks: the mask is built at the image's size
    divided by `pixel_scale` and resized to H×W, so its structure and hole ratio do not depend on the size.
    """

    def __init__(
        self, scales: tuple[int, ...] = (1, 2, 4, 8), min_iterations: int = 2, max_iterations: int = 6
    ):
        self.scales = tuple(int(s) for s in scales)
        self.min_iterations, self.max_iterations = min_iterations, max_iterations

    def __call__(
        self, height: int, width: int, rng: np.random.Generator, index: int | None = None
    ) -> np.ndarray:
        factor = pixel_scale(height, width)
        ref_h, ref_w = max(1, round(height / factor)), max(1, round(width / factor))
        scale = self.scales[rng.integers(len(self.scales))]
        grid = rng.integers(0, 2, size=(max(1, ref_h // scale), max(1, ref_w // scale)), dtype=np.uint8)
        for _ in range(rng.integers(self.min_iterations, self.max_iterations + 1)):
            grid = median3x3(grid)
        mask = resize_nearest(grid, ref_h, ref_w)
        if scale > 1:
            mask = dilate_cross(mask)
        return resize_nearest(mask, height, width).astype(np.float32)


class AIMFreeForm(MaskGenerator):
    """AIM 2020 free-form masks: `min_strokes`…`max_strokes` strokes (15 + randint(9)), each a chain of
    1…`max_segments` segments (1 + randint(5)) from a uniform random start. Every segment has its own
    angle 0.01 + randint(4) rad (mirrored to 2π − angle in even-numbered strokes), length
    `min_length`…`max_length` (10 + randint(60)) and width `min_width`…`max_width` (10 + randint(15)), in
    pixels at 256² scaled by `pixel_scale`. As in the challenge code, strokes may leave the image.
    """

    def __init__(
        self,
        min_strokes: int = 15,
        max_strokes: int = 23,
        max_segments: int = 5,
        min_length: int = 10,
        max_length: int = 69,
        min_width: int = 10,
        max_width: int = 24,
    ):
        self.min_strokes, self.max_strokes, self.max_segments = min_strokes, max_strokes, max_segments
        self.min_length, self.max_length = min_length, max_length
        self.min_width, self.max_width = min_width, max_width

    def __call__(
        self, height: int, width: int, rng: np.random.Generator, index: int | None = None
    ) -> np.ndarray:
        factor = pixel_scale(height, width)
        strokes = rng.integers(self.min_strokes, self.max_strokes + 1)
        segments = rng.integers(1, self.max_segments + 1, strokes)
        stroke_of = np.repeat(np.arange(strokes), segments)  # the stroke each segment belongs to
        angles = 0.01 + rng.integers(0, 4, len(stroke_of))
        angles = np.where(stroke_of % 2 == 0, 2 * math.pi - angles, angles)
        lengths = rng.integers(self.min_length, self.max_length + 1, len(stroke_of)) * factor
        radii = rng.integers(self.min_width, self.max_width + 1, len(stroke_of)) * factor / 2
        origins = rng.uniform(0, 1, (strokes, 2)) * (width, height)
        moves = lengths[:, None] * np.stack([np.cos(angles), np.sin(angles)], axis=1)
        # Each segment ends where its stroke's origin plus the stroke's moves so far lead.
        travelled = np.cumsum(moves, axis=0)
        first = np.cumsum(segments) - segments
        ends = origins[stroke_of] + travelled - (travelled[first] - moves[first])[stroke_of]
        image = Image.new("L", (width, height), 0)
        draw_capsules(ImageDraw.Draw(image), ends - moves, ends, radii)
        return np.asarray(image, dtype=np.float32)
