"""An axis-aligned box of pixels, shared by the hole crops of large photos and the guided-inpainting
composites."""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor


@dataclass(frozen=True)
class Box:
    """Rows top:bottom, columns left:right (end exclusive)."""

    top: int
    left: int
    bottom: int
    right: int

    @staticmethod
    def bounding(mask: Tensor) -> Box:
        """The bounding box of an H×W mask's nonzero pixels (it must have one)."""
        rows, cols = mask.amax(dim=1).nonzero(), mask.amax(dim=0).nonzero()
        return Box(int(rows[0]), int(cols[0]), int(rows[-1]) + 1, int(cols[-1]) + 1)

    @property
    def size(self) -> tuple[int, int]:
        return self.bottom - self.top, self.right - self.left

    def slices(self) -> tuple[slice, slice]:
        return slice(self.top, self.bottom), slice(self.left, self.right)

    def grown(self, margin: int, minimum: int, height: int, width: int) -> Box:
        """Grown by `margin` on every side, then to at least `minimum` per axis, inside the image."""

        def axis(start: int, end: int, limit: int) -> tuple[int, int]:
            start, end = max(0, start - margin), min(limit, end + margin)
            want = min(max(minimum, end - start), limit)
            start = min(max(0, start - (want - (end - start)) // 2), limit - want)
            return start, start + want

        top, bottom = axis(self.top, self.bottom, height)
        left, right = axis(self.left, self.right, width)
        return Box(top, left, bottom, right)
