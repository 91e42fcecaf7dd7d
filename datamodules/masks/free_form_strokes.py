"""DeepFill v2's free-form masks (Yu et al., "Free-Form Image Inpainting with Gated Convolution", ICCV 2019,
§3.4 "Free-Form Mask Generation"): random brush strokes, plus the box that its official training code ORs onto
them (github.com/JiahuiYu/generative_inpainting, branch v2.0.0: inpaint_ops.py brush_stroke_mask, random_bbox
and bbox2mask, combined in inpaint_model.py; conf/mask_generators/deepfill_v2.yaml)."""

from __future__ import annotations

import math

import numpy as np
from PIL import Image, ImageDraw

from datamodules.masks.base import MaskGenerator

# Stroke widths and lengths are given in pixels of 256×256 training images (DeepFill v2, DeepGIN).
REFERENCE_SIZE = 256
# PIL fills every pixel a shape's outline touches, which widens it by about 0.4 px; pulling the outline in
# by that much makes a stroke the set of pixel centres within its radius, to 1.5 % of its area for radii
# ≥ 3 px (tests/test_masks.py compares it with a distance-to-segment rasterization).
_PIL_OUTLINE = 0.4


def pixel_scale(height: int, width: int) -> float:
    """Pixels of an H×W image per pixel of a 256×256 one, measured along the diagonal like DeepFill's
    R = √(H²+W²)/8, so that a stroke covers the same fraction of the image at any size."""
    return math.hypot(height, width) / math.hypot(REFERENCE_SIZE, REFERENCE_SIZE)


def draw_capsules(
    canvas: ImageDraw.ImageDraw, starts: np.ndarray, ends: np.ndarray, radii: np.ndarray
) -> None:
    """Paint segments (K×2 arrays of x, y) of thickness 2·radius with round ends: the union of capsules that
    both DeepFill v2 (a PIL line plus a disc at every vertex) and the AIM code (cv2.line, round caps) draw."""
    radii = np.maximum(np.broadcast_to(radii, len(starts)) - _PIL_OUTLINE, 0.0)
    delta = ends - starts
    length = np.hypot(delta[:, 0], delta[:, 1])
    normal = np.stack([-delta[:, 1], delta[:, 0]], axis=1) * (radii / np.maximum(length, 1e-9))[:, None]
    quads = np.concatenate([starts + normal, ends + normal, ends - normal, starts - normal], axis=1)
    # Python floats: PIL's per-call overhead is several times larger with numpy scalars.
    for quad in quads[length > 0].tolist():
        canvas.polygon(quad, fill=1)
    centres, disc_radii = np.concatenate([starts, ends]), np.concatenate([radii, radii])[:, None]
    for box in np.concatenate([centres - disc_radii, centres + disc_radii], axis=1).tolist():
        canvas.ellipse(box, fill=1)


class FreeFormStrokes(MaskGenerator):
    """DeepFill v2 brush strokes (Yu et al. 2019 §3.4, whose supplementary material gives the sampling
    algorithm; values from the official inpaint_ops.py brush_stroke_mask, branch v2.0.0).

    Each stroke starts at a uniform random point and makes `min_vertices`…`max_vertices` moves (the official
    code's `num_vertex`, randint(4, 12)); move angles are U(mean − U(0, range), mean + U(0, range)) and every
    other one is mirrored (2π − angle) so the stroke zig-zags; move lengths are N(R, R/2) clipped to [0, 2R]
    with R = √(H²+W²)/8; vertices are clipped to the image. Widths are pixels at 256² scaled by
    `pixel_scale` so that hole ratios do not depend on the image size. With `flip`, the mask is then flipped
    left-right and top-bottom, each with probability 1/2, as the official code asks for (its PIL transposes
    return new images that it drops, so there they have no effect; flips change no hole ratio).
    """

    def __init__(
        self,
        min_strokes: int = 1,
        max_strokes: int = 3,
        min_vertices: int = 4,
        max_vertices: int = 11,
        mean_angle_deg: float = 72.0,
        angle_range_deg: float = 24.0,
        min_width: float = 12.0,
        max_width: float = 40.0,
        flip: bool = True,
    ):
        self.min_strokes, self.max_strokes = min_strokes, max_strokes
        self.min_vertices, self.max_vertices = min_vertices, max_vertices
        self.mean_angle, self.angle_range = math.radians(mean_angle_deg), math.radians(angle_range_deg)
        self.min_width, self.max_width = min_width, max_width
        self.flip = flip

    def __call__(
        self, height: int, width: int, rng: np.random.Generator, index: int | None = None
    ) -> np.ndarray:
        image = Image.new("L", (width, height), 0)
        canvas = ImageDraw.Draw(image)
        step = math.hypot(height, width) / 8
        for _ in range(rng.integers(self.min_strokes, self.max_strokes + 1)):
            moves = rng.integers(self.min_vertices, self.max_vertices + 1)
            low = self.mean_angle - rng.uniform(0, self.angle_range)
            high = self.mean_angle + rng.uniform(0, self.angle_range)
            angles = rng.uniform(low, high, moves)
            angles[::2] = 2 * math.pi - angles[::2]
            lengths = np.clip(rng.normal(step, step / 2, moves), 0, 2 * step)
            x, y = rng.uniform(0, width - 1), rng.uniform(0, height - 1)
            points = [(x, y)]
            # Sequential because each vertex is clipped to the image before the next move starts from it.
            for angle, length in zip(angles.tolist(), lengths.tolist()):
                x = min(max(x + length * math.cos(angle), 0.0), width - 1.0)
                y = min(max(y + length * math.sin(angle), 0.0), height - 1.0)
                points.append((x, y))
            points = np.array(points)
            radius = rng.uniform(self.min_width, self.max_width) * pixel_scale(height, width) / 2
            draw_capsules(canvas, points[:-1], points[1:], radius)
        mask = np.asarray(image)
        if self.flip and rng.random() < 0.5:
            mask = mask[:, ::-1]
        if self.flip and rng.random() < 0.5:
            mask = mask[::-1]
        return mask.astype(np.float32)  # a contiguous copy, whatever the flips


class DeepFillBox(MaskGenerator):
    """The box of DeepFill v2's official training code (inpaint_ops.py random_bbox + bbox2mask with
    inpaint.yml's img_shapes 256, height/width 128, max_delta_height/max_delta_width 32; branch v2.0.0).

    A `size`-fraction box at a uniform random position, shrunk on each side by U{0 … max_delta·dim / 2}
    pixels (the same amount on opposite sides, as the code's bbox2mask does).
    """

    def __init__(self, size: float = 0.5, max_delta: float = 0.125):
        self.size, self.max_delta = size, max_delta

    def __call__(
        self, height: int, width: int, rng: np.random.Generator, index: int | None = None
    ) -> np.ndarray:
        box_h, box_w = max(1, round(self.size * height)), max(1, round(self.size * width))
        top = rng.integers(0, height - box_h + 1)
        left = rng.integers(0, width - box_w + 1)
        dh = rng.integers(0, round(self.max_delta * height) // 2 + 1)
        dw = rng.integers(0, round(self.max_delta * width) // 2 + 1)
        mask = np.zeros((height, width), dtype=np.float32)
        mask[top + dh : top + box_h - dh, left + dw : left + box_w - dw] = 1
        return mask
