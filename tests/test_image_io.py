"""read_image on every PIL mode datasets ship in, read_mask polarity and sizes, and readable errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from datamodules.image_io import ImageReadError, is_image_file, read_image, read_mask, save_png


def test_gray_and_alpha_modes(tmp_path):
    Image.fromarray(np.array([[0, 128, 255]], dtype=np.uint8)).save(tmp_path / "l.png")
    gray = read_image(tmp_path / "l.png")
    assert gray.shape == (3, 1, 3) and gray.dtype == torch.float32
    assert torch.allclose(gray[:, 0, 1], torch.full((3,), 128 / 255))

    la = np.array([[[100, 255], [100, 0]]], dtype=np.uint8)  # opaque gray, then fully transparent
    Image.fromarray(la).save(tmp_path / "la.png")
    assert torch.allclose(read_image(tmp_path / "la.png")[:, 0], torch.tensor([[100 / 255, 1.0]] * 3))

    rgba = np.array([[[255, 0, 0, 255], [0, 0, 255, 0], [0, 0, 0, 128]]], dtype=np.uint8)
    Image.fromarray(rgba).save(tmp_path / "rgba.png")
    out = read_image(tmp_path / "rgba.png")[:, 0]
    assert torch.allclose(out[:, 0], torch.tensor([1.0, 0.0, 0.0]))
    assert torch.allclose(out[:, 1], torch.ones(3))  # transparent pixels are composited on white
    assert torch.allclose(out[:, 2], torch.full((3,), 127 / 255), atol=1 / 255)


def test_palette_with_transparency(tmp_path):
    image = Image.new("P", (2, 1))
    image.putpalette([255, 0, 0, 0, 255, 0] + [0] * 762)
    image.putpixel((1, 0), 1)
    image.save(tmp_path / "p.png", transparency=1)
    out = read_image(tmp_path / "p.png")[:, 0]
    assert torch.equal(out, torch.tensor([[1.0, 1.0], [0.0, 1.0], [0.0, 1.0]]))  # red, then white


def test_cmyk_jpeg(tmp_path):
    Image.new("CMYK", (8, 8), (255, 0, 0, 0)).save(tmp_path / "cmyk.jpg")  # pure cyan
    out = read_image(tmp_path / "cmyk.jpg")
    assert out.shape == (3, 8, 8)
    assert torch.allclose(out.mean((1, 2)), torch.tensor([0.0, 1.0, 1.0]), atol=0.02)


def test_16_bit_and_1_bit_png(tmp_path):
    Image.fromarray(np.array([[0, 32768, 65535]], dtype=np.uint16)).save(tmp_path / "deep.png")
    assert Image.open(tmp_path / "deep.png").mode == "I;16"
    out = read_image(tmp_path / "deep.png")
    assert torch.allclose(out[0, 0], torch.tensor([0.0, 32768 / 65535, 1.0]))
    assert torch.equal(out[0], out[2])

    bits = Image.new("1", (3, 2))
    bits.putpixel((1, 0), 1)
    bits.save(tmp_path / "bits.png")
    out = read_image(tmp_path / "bits.png")
    assert out.shape == (3, 2, 3) and set(out.unique().tolist()) == {0.0, 1.0} and out[:, 0, 1].eq(1).all()


def test_exif_orientation_is_applied(tmp_path):
    pixels = np.zeros((10, 20, 3), dtype=np.uint8)  # 20 wide, 10 high, red top-left corner
    pixels[:2, :2] = (255, 0, 0)
    image = Image.fromarray(pixels)
    exif = image.getexif()
    exif[0x0112] = 6  # "rotate 90° clockwise to display"
    image.save(tmp_path / "rotated.jpg", exif=exif, quality=95)
    out = read_image(tmp_path / "rotated.jpg")
    assert out.shape == (3, 20, 10)  # the displayed (rotated) size
    assert out[0, 0, -1] > 0.8 and out[0, -1, 0] < 0.2  # the corner moved to the top right


@pytest.mark.parametrize("suffix", [".jpg", ".png"])
def test_truncated_file_names_the_path(tmp_path, suffix):
    path = tmp_path / f"photo{suffix}"
    noise = np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    Image.fromarray(noise).save(path)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(ImageReadError, match="photo") as err:
        read_image(path)
    assert err.value.path == str(path) and "truncated" in str(err.value)


def test_unreadable_and_missing_files(tmp_path):
    (tmp_path / "fake.png").write_bytes(b"this is not a png")
    with pytest.raises(ImageReadError, match=r"fake\.png: not a readable image"):
        read_image(tmp_path / "fake.png")
    with pytest.raises(ImageReadError, match=r"missing\.jpg: file not found"):
        read_image(tmp_path / "missing.jpg")


def test_save_png_round_trip(tmp_path):
    x = torch.rand(3, 5, 7)
    save_png(x, tmp_path / "sub" / "x.png")
    assert torch.allclose(read_image(tmp_path / "sub" / "x.png"), x, atol=0.5 / 255 + 1e-6)


def test_is_image_file_ignores_case():
    assert is_image_file("a/B.JPG") and is_image_file("c.Png") and is_image_file("d.tiff")
    assert not is_image_file("e.txt") and not is_image_file("jpg")


def write_mask(path, array: np.ndarray):
    Image.fromarray(array).save(path)  # the mode follows the array: L, or RGBA for 4 channels
    return path


def test_read_mask_polarity(tmp_path):
    strokes = np.zeros((6, 8), dtype=np.uint8)
    strokes[1:3, 2:5] = 255  # a few white pixels on black
    white_strokes = write_mask(tmp_path / "white.png", strokes)
    black_strokes = write_mask(tmp_path / "black.png", 255 - strokes)
    hole = torch.from_numpy(strokes > 0).float()[None]
    for path in (white_strokes, black_strokes):  # auto: the minority is the hole
        mask = read_mask(path, polarity="auto")
        assert mask.shape == (1, 6, 8) and mask.dtype == torch.float32 and torch.equal(mask, hole)
    assert torch.equal(read_mask(white_strokes, polarity="white_is_hole"), hole)
    assert torch.equal(read_mask(white_strokes, polarity="black_is_hole"), 1 - hole)
    assert torch.equal(read_mask(black_strokes, polarity="black_is_hole"), hole)
    with pytest.raises(ValueError, match="polarity"):
        read_mask(white_strokes, polarity="white")


def test_read_mask_alpha_and_16_bit(tmp_path):
    rgba = np.zeros((4, 4, 4), dtype=np.uint8)
    rgba[0, :, 3] = 255  # strokes painted on a transparent layer
    alpha_strokes = write_mask(tmp_path / "a.png", rgba)
    assert torch.equal(read_mask(alpha_strokes)[0, :, 0], torch.tensor([1.0, 0, 0, 0]))
    deep = np.zeros((4, 4), dtype=np.uint16)
    deep[:, 0] = 65535
    Image.fromarray(deep).save(tmp_path / "deep.png")
    assert torch.equal(read_mask(tmp_path / "deep.png")[0, 0], torch.tensor([1.0, 0, 0, 0]))


def test_read_mask_wrong_size(tmp_path):
    path = write_mask(tmp_path / "m.png", np.zeros((6, 8), dtype=np.uint8))
    assert read_mask(path, size=(6, 8)).shape == (1, 6, 8)
    with pytest.raises(ImageReadError, match=r"m\.png: mask is 8×6 but the image is 10×6"):
        read_mask(path, size=(6, 10))
