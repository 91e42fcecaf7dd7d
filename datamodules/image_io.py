"""Read images of any mode as the suite's RGB float tensors, masks as 1 = missing, and write PNGs.

Every failure names the file and what to do about it: a dataset of millions of files must not stop
on a traceback from deep inside PIL.
"""

from __future__ import annotations

import os

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError

from utils.atomic import atomic_path

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".ppm", ".pgm")
MASK_POLARITIES = ("auto", "white_is_hole", "black_is_hole")


class ImageReadError(RuntimeError):
    """A file that cannot be used as an image or mask; the message names the file and the fix."""

    def __init__(self, path: str | os.PathLike, reason: str, fix: str):
        self.path, self.reason, self.fix = str(path), reason, fix
        super().__init__(f"{self.path}: {reason}. {fix}")


def is_image_file(path: str | os.PathLike) -> bool:
    return str(path).lower().endswith(IMAGE_EXTENSIONS)


def open_image(path: str | os.PathLike) -> Image.Image:
    """Decode a file fully, with its EXIF orientation applied."""
    try:
        with Image.open(path) as im:
            im.load()
            return ImageOps.exif_transpose(im)
    except FileNotFoundError:
        raise ImageReadError(path, "file not found", "Check the data root / input path.") from None
    except Image.DecompressionBombError as err:
        raise ImageReadError(
            path,
            f"too large to decode safely ({err})",
            "Raise PIL.Image.MAX_IMAGE_PIXELS if the file is trusted.",
        ) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as err:
        raise ImageReadError(
            path, f"not a readable image ({err})", "Re-download or remove the file (it may be truncated)."
        ) from None


def _high_bit_depth_gray(im: Image.Image) -> np.ndarray | None:
    """16/32-bit integer and float gray modes, scaled to [0, 1]; None for 8-bit modes."""
    if im.mode.startswith("I;16") or im.mode == "I":
        # "I" is how PIL decodes 16-bit PNG / TIFF files that it does not keep as "I;16"
        return np.clip(np.asarray(im, dtype=np.float64) / 65535.0, 0.0, 1.0).astype(np.float32)
    if im.mode == "F":
        arr = np.asarray(im, dtype=np.float32)
        return np.clip(arr / 255.0 if arr.max(initial=0) > 1.0 else arr, 0.0, 1.0)
    return None


def to_rgb_array(im: Image.Image) -> np.ndarray:
    """Any PIL mode -> H×W×3 float32 in [0, 1]. Transparent pixels are composited on white."""
    gray = _high_bit_depth_gray(im)
    if gray is not None:
        return np.repeat(gray[..., None], 3, axis=2)
    if im.mode == "P" and "transparency" in im.info:
        im = im.convert("RGBA")
    if im.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = im.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        im = Image.alpha_composite(white, rgba)
    return np.asarray(im.convert("RGB"), dtype=np.float32) / 255.0


def read_image(path: str | os.PathLike) -> torch.Tensor:
    """3×H×W float32 RGB in [0, 1] from any file PIL can decode (L, LA, P, RGBA, CMYK, 16-bit, ...)."""
    arr = to_rgb_array(open_image(path))
    return torch.from_numpy(np.ascontiguousarray(arr.transpose(2, 0, 1)))


# A mask pixel is white (and a hole with the default polarity) when its value is above half the range:
# soft or anti-aliased masks are thresholded there.
MASK_THRESHOLD = 0.5
# polarity="auto": the value covering at least this share of the image border is the known one (a hole
# rarely surrounds the whole image, however large it is) ...
AUTO_BORDER_SHARE = 0.75
# ... else the value covering at least this share of the image (the hole is the minority); else undecided.
AUTO_AREA_SHARE = 0.6


def auto_hole(white: np.ndarray) -> np.ndarray | None:
    """The hole of a binary mask whose polarity is not given, or None when it cannot be told."""
    border = np.concatenate([white[0], white[-1], white[1:-1, 0], white[1:-1, -1]])
    for values, decisive in ((border, AUTO_BORDER_SHARE), (white, AUTO_AREA_SHARE)):
        share = float(values.mean())
        if share <= 1 - decisive:  # black is known
            return white
        if share >= decisive:  # white is known
            return ~white
    return None


def read_mask(
    path: str | os.PathLike, size: tuple[int, int] | None = None, polarity: str = "white_is_hole"
) -> torch.Tensor:
    """1×H×W float32 mask, 1 = missing.

    polarity: "white_is_hole" (the default, as the NVIDIA irregular masks and the suite's exported sets),
    "black_is_hole", or "auto": the value that covers at least 3/4 of the image border is known, else the
    value that covers at least 60 % of the image; a mask where neither holds is refused. Pixels above half
    the range are white (MASK_THRESHOLD); an RGBA mask painted on a transparent layer is read from its alpha.
    size: the (height, width) the mask must have; a mismatch raises ImageReadError naming both sizes.
    """
    if polarity not in MASK_POLARITIES:
        raise ValueError(f"mask polarity must be one of {MASK_POLARITIES}, got {polarity!r}")
    im = open_image(path)
    if im.mode in ("RGBA", "LA", "PA") and im.getextrema()[-1][0] < 255:
        im = im.getchannel("A")  # strokes painted on a transparent layer: the alpha is the mask
    gray = _high_bit_depth_gray(im)
    value = gray if gray is not None else np.asarray(im.convert("L"), dtype=np.float32) / 255.0
    white = value > MASK_THRESHOLD
    if size is not None and tuple(white.shape) != tuple(size):
        raise ImageReadError(
            path,
            f"mask is {white.shape[1]}×{white.shape[0]} but the image is {size[1]}×{size[0]}",
            "Give a mask of the image's size (or set resize_masks=true to resize it, nearest-neighbour).",
        )
    if polarity == "auto":
        hole = auto_hole(white)
        if hole is None:
            raise ImageReadError(
                path,
                f"mask polarity undecidable ({100 * white.mean():.0f} % white, neither value dominates the "
                "border or the area)",
                "Say which value is the hole: mask_polarity=white_is_hole or black_is_hole.",
            )
    else:
        hole = white if polarity == "white_is_hole" else ~white
    return torch.from_numpy(hole.astype(np.float32))[None]


def read_hint(path: str | os.PathLike, size: tuple[int, int]) -> tuple[torch.Tensor, torch.Tensor]:
    """User color hints (EII §4.5): an RGBA image whose opaque pixels (alpha > 0.5) give their colors.

    Returns (colors 3×H×W in [0, 1], hint mask 1×H×W with 1 where a hint is given)."""
    im = open_image(path)
    if "A" not in im.getbands() and not (im.mode == "P" and "transparency" in im.info):
        raise ImageReadError(
            path,
            f"hint image has no alpha channel (mode {im.mode})",
            "Paint hints on a transparent RGBA PNG.",
        )
    rgba = np.asarray(im.convert("RGBA"), dtype=np.float32) / 255.0
    if rgba.shape[:2] != tuple(size):
        raise ImageReadError(
            path,
            f"hint image is {rgba.shape[1]}×{rgba.shape[0]} but the image is {size[1]}×{size[0]}",
            "Give a hint image of the image's size.",
        )
    colors = torch.from_numpy(np.ascontiguousarray(rgba[..., :3].transpose(2, 0, 1)))
    return colors, torch.from_numpy((rgba[..., 3] > 0.5).astype(np.float32))[None]


def read_guide(path: str | os.PathLike) -> tuple[torch.Tensor, torch.Tensor]:
    """A guide for guided inpainting (block-wise §4.4): (colors 3×h×w in [0, 1], object 1×h×w). On an RGBA
    image the opaque pixels (alpha > 0.5) are the object and the rest is left to inpaint; without alpha the
    whole guide is the object."""
    im = open_image(path)
    rgba = np.asarray(im.convert("RGBA"), dtype=np.float32) / 255.0
    colors = torch.from_numpy(np.ascontiguousarray(rgba[..., :3].transpose(2, 0, 1)))
    obj = torch.from_numpy((rgba[..., 3] > 0.5).astype(np.float32))[None]
    if not bool(obj.any()):
        raise ImageReadError(
            path, "the guide is fully transparent: it has no object", "Give the object opaque pixels."
        )
    return colors, obj


def tensor_to_uint8(image: torch.Tensor) -> np.ndarray:
    """C×H×W float in [0, 1] -> H×W×C uint8 (C = 1 or 3)."""
    arr = image.detach().float().clamp(0, 1).mul(255).round().byte().cpu().numpy()
    return arr.transpose(1, 2, 0)


def save_png(image: torch.Tensor, path: str | os.PathLike) -> None:
    """Write C×H×W [0, 1] as PNG atomically (a killed run never leaves half a file)."""
    arr = tensor_to_uint8(image)
    with atomic_path(path) as tmp:
        Image.fromarray(arr[..., 0] if arr.shape[2] == 1 else arr).save(tmp, format="PNG")
