"""predict.py on a folder of the user's own files: odd modes and sizes in, bad files listed, exit status."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import numpy as np
import pytest
import torch
from omegaconf import OmegaConf
from PIL import Image

from checkpoints import tiny_gatedconv_checkpoint
from datamodules.image_io import read_image, tensor_to_uint8
from lightning_modules.hole_crops import inpaint_in_crops
from suite.predict import find_inputs, predict_folder
from suite_cli import TINY, predict, run


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory) -> Path:
    return tiny_gatedconv_checkpoint(tmp_path_factory)


def save(array: np.ndarray, path: Path) -> np.ndarray:
    Image.fromarray(array).save(path)
    return array


def save_mask(path: Path, width: int, height: int, seed: int) -> np.ndarray:
    """A white rectangle (the hole) covering about a quarter of the image; returns it as H×W bool."""
    rng = np.random.default_rng(seed)
    top, left = rng.integers(0, height // 2), rng.integers(0, width // 2)
    hole = np.zeros((height, width), dtype=bool)
    hole[top : top + height // 2, left : left + width // 2] = True
    save(hole.astype(np.uint8) * 255, path)
    return hole


def random_pixels(shape: tuple[int, ...], seed: int, dtype=np.uint8) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, np.iinfo(dtype).max, shape, dtype=dtype, endpoint=True)


def assert_known_pixels_kept(output: Path, expected: np.ndarray, hole: np.ndarray) -> None:
    """The output has the input's size, and outside the hole it is the input (8-bit rounding)."""
    pixels = np.asarray(Image.open(output).convert("RGB"), dtype=np.int16)
    assert pixels.shape == expected.shape, output.name
    difference = np.abs(pixels - np.rint(expected).astype(np.int16))
    assert difference[~hole].max() <= 1, output.name


def mixed_folder(folder: Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Good inputs of every awkward kind (each with <stem>_mask.png) and bad ones.

    Returns {output name: (expected H×W×3 RGB in 0..255, hole)} for the good inputs: the RGB that image_io
    defines (alpha composited on white, gray repeated, 16 bits scaled to 8).
    """
    folder.mkdir()
    expected = {}

    rgba = random_pixels((30, 40, 4), seed=1)
    rgba[0, :, 3], rgba[1, :, 3] = 0, 255  # fully transparent and fully opaque rows
    save(rgba, folder / "alpha.png")
    alpha = rgba[..., 3:] / 255.0
    expected["alpha.png"] = (
        rgba[..., :3] * alpha + 255 * (1 - alpha),
        save_mask(folder / "alpha_mask.png", 40, 30, 1),
    )

    Image.fromarray(random_pixels((24, 36), seed=2)).save(folder / "gray.jpg", quality=90)
    decoded = np.asarray(Image.open(folder / "gray.jpg"))  # what the JPEG decodes to, lossy as it is
    assert decoded.ndim == 2
    expected["gray.png"] = (
        np.repeat(decoded[..., None], 3, axis=2),
        save_mask(folder / "gray_mask.png", 36, 24, 2),
    )

    deep = save(random_pixels((20, 28), seed=3, dtype=np.uint16), folder / "deep.png")
    assert Image.open(folder / "deep.png").mode == "I;16"
    expected["deep.png"] = (
        np.repeat(deep[..., None] / 65535 * 255, 3, axis=2),
        save_mask(folder / "deep_mask.png", 28, 20, 3),
    )

    # 333 wide and 517 high: GatedConv pads to multiples of 8 and crops back
    odd = save(random_pixels((517, 333, 3), seed=4), folder / "odd.png")
    expected["odd.png"] = odd, save_mask(folder / "odd_mask.png", 333, 517, 4)

    save(random_pixels((16, 16, 3), seed=5), folder / "wrong.png")
    save_mask(folder / "wrong_mask.png", 20, 16, 5)
    (folder / "corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)))
    save_mask(folder / "corrupt_mask.png", 16, 16, 6)
    # Named like a mask, but no image "no.*" is beside it: an input (without a mask of its own).
    save(random_pixels((16, 16, 3), seed=7), folder / "no_mask.png")
    for suffix in (".png", ".jpg"):  # both would become twin.png
        save(random_pixels((16, 16, 3), seed=8), folder / f"twin{suffix}")
    save_mask(folder / "twin_mask.png", 16, 16, 8)
    return expected


def read_failures(output_dir: Path) -> dict[str, str]:
    lines = (output_dir / "failures.tsv").read_text().splitlines()
    return {Path(path).name: reason for path, reason in (line.split("\t") for line in lines)}


def test_mixed_folder_inpaints_the_good_files_and_lists_the_bad_ones(checkpoint, tmp_path):
    expected = mixed_folder(tmp_path / "photos")
    result = predict(checkpoint, tmp_path / "photos", tmp_path / "run")
    assert result.returncode == 1, result.stderr[-3000:]

    output_dir = tmp_path / "run" / "predictions"
    assert {p.name for p in output_dir.glob("*.png")} == set(expected)
    for name, (rgb, hole) in expected.items():
        assert_known_pixels_kept(output_dir / name, rgb, hole)

    failures = read_failures(output_dir)
    assert set(failures) == {"wrong.png", "corrupt.png", "no_mask.png", "twin.png", "twin.jpg"}
    assert "mask is 20×16 but the image is 16×16" in failures["wrong.png"]
    assert "not a readable image" in failures["corrupt.png"]
    assert f"no mask {tmp_path / 'photos' / 'no_mask_mask.*'} found" in failures["no_mask.png"]
    assert "also named twin.*" in failures["twin.jpg"]


def test_masks_from_mask_dir_resized_on_request_and_exit_status_zero(checkpoint, tmp_path):
    photos, masks = tmp_path / "photos", tmp_path / "masks"
    photos.mkdir()
    masks.mkdir()
    exact = save(random_pixels((12, 20, 3), seed=1), photos / "exact.png")
    exact_hole = save_mask(masks / "exact.png", 20, 12, 1)
    small = save(random_pixels((24, 40, 3), seed=2), photos / "small.png")
    # The mask at twice the size, hole aligned to even pixels: nearest-neighbour halving is exact.
    small_hole = np.zeros((24, 40), dtype=bool)
    small_hole[4:12, 6:20] = True
    save(np.kron(small_hole, np.ones((2, 2), dtype=bool)).astype(np.uint8) * 255, masks / "small.png")

    result = predict(checkpoint, photos, tmp_path / "run", f"mask_dir={masks}", "resize_masks=true")
    assert result.returncode == 0, result.stderr[-3000:]
    output_dir = tmp_path / "run" / "predictions"
    assert (output_dir / "failures.tsv").read_text() == ""
    assert_known_pixels_kept(output_dir / "exact.png", exact, exact_hole)
    assert_known_pixels_kept(output_dir / "small.png", small, small_hole)


def test_missing_checkpoint_is_one_clear_line(tmp_path):
    missing = tmp_path / "no_such_run" / "last.ckpt"
    result = predict(missing, tmp_path, tmp_path / "run")
    assert result.returncode == 2
    output = result.stdout + result.stderr
    assert f"checkpoint not found: {missing}" in output
    assert "Traceback" not in output


def as_read(path: Path) -> np.ndarray:
    """The image as the suite reads it (image_io), in 8 bits: what known pixels must stay, bit for bit."""
    return tensor_to_uint8(read_image(path))


def battery(folder: Path) -> tuple[dict[str, np.ndarray], dict[str, str], set[str]]:
    """At least 18 inputs of every kind a user's folder holds, each with <stem>_mask.png where it has one.

    Returns ({output name: hole} for the inputs that must be inpainted, {input name: reason fragment} for
    those that must be listed in failures.tsv, the names written unchanged)."""
    folder.mkdir()
    good, bad, unchanged = {}, {}, set()

    def mask(stem: str, hole: np.ndarray) -> np.ndarray:
        save(hole.astype(np.uint8) * 255, folder / f"{stem}_mask.png")
        return hole

    def box(height: int, width: int, top: int, left: int, bottom: int, right: int) -> np.ndarray:
        hole = np.zeros((height, width), dtype=bool)
        hole[top:bottom, left:right] = True
        return hole

    rgba = random_pixels((30, 40, 4), seed=1)
    rgba[0, :, 3] = 0
    save(rgba, folder / "alpha.png")
    good["alpha.png"] = mask("alpha", box(30, 40, 5, 5, 20, 25))
    Image.fromarray(random_pixels((24, 36), seed=2)).save(folder / "gray.jpg")
    good["gray.png"] = mask("gray", box(24, 36, 2, 3, 12, 20))
    Image.fromarray(random_pixels((20, 30, 3), seed=3)).convert("P", palette=Image.Palette.ADAPTIVE).save(
        folder / "palette.png"
    )
    good["palette.png"] = mask("palette", box(20, 30, 4, 4, 14, 16))
    Image.fromarray(random_pixels((22, 26, 3), seed=4)).convert("CMYK").save(folder / "cmyk.jpg")
    good["cmyk.png"] = mask("cmyk", box(22, 26, 0, 0, 10, 10))
    save(random_pixels((20, 28), seed=5, dtype=np.uint16), folder / "deep.png")
    good["deep.png"] = mask("deep", box(20, 28, 5, 5, 15, 15))
    # stored 40 wide × 24 high, displayed rotated by 90° (EXIF orientation 6): its mask is 24 × 40
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.fromarray(random_pixels((24, 40, 3), seed=6)).save(folder / "rotated.jpg", exif=exif)
    good["rotated.png"] = mask("rotated", box(40, 24, 10, 4, 30, 20))
    save(random_pixels((517, 333, 3), seed=7), folder / "odd.png")
    good["odd.png"] = mask("odd", box(517, 333, 100, 50, 300, 200))
    # a panorama strip with a side over 4000 px: inpainted in crops of at most max_side px
    save(random_pixels((48, 4096, 3), seed=8), folder / "panorama.png")
    good["panorama.png"] = mask("panorama", box(48, 4096, 10, 3000, 40, 3300))
    save(random_pixels((64, 64, 3), seed=9), folder / "hole70.png")
    good["hole70.png"] = mask("hole70", box(64, 64, 0, 0, 64, 44) | box(64, 64, 0, 44, 51, 45))
    assert good["hole70.png"].mean() == pytest.approx(0.7, abs=0.01)
    save(random_pixels((32, 32, 3), seed=10), folder / "soft.png")
    ramp = np.tile(np.linspace(0, 255, 32).round().astype(np.uint8), (32, 1))  # a soft edge, 0 → 255
    save(ramp, folder / "soft_mask.png")
    good["soft.png"] = ramp > 127.5  # thresholded at half the range
    save(random_pixels((20, 24, 3), seed=11), folder / "name (v2) = final.png")
    good["name (v2) = final.png"] = mask("name (v2) = final", box(20, 24, 2, 2, 12, 12))
    save(random_pixels((16, 16, 3), seed=12), folder / "no_hole.png")
    mask("no_hole", np.zeros((16, 16), dtype=bool))
    unchanged.add("no_hole.png")

    save(random_pixels((1, 1, 3), seed=13), folder / "pixel.png")
    mask("pixel", np.ones((1, 1), dtype=bool))
    bad["pixel.png"] = "no pixel known"
    save(random_pixels((16, 16, 3), seed=14), folder / "all_hole.png")
    mask("all_hole", np.ones((16, 16), dtype=bool))
    bad["all_hole.png"] = "no pixel known"
    full = folder / "full.jpg"
    Image.fromarray(random_pixels((64, 64, 3), seed=15)).save(full)
    (folder / "truncated.jpg").write_bytes(full.read_bytes()[:300])
    full.unlink()
    mask("truncated", box(64, 64, 0, 0, 8, 8))
    bad["truncated.jpg"] = "not a readable image"
    (folder / "notes.jpg").write_text("a text file with an image's name")
    mask("notes", box(16, 16, 0, 0, 8, 8))
    bad["notes.jpg"] = "not a readable image"
    save(random_pixels((16, 16, 3), seed=16), folder / "unmasked.png")
    bad["unmasked.png"] = f"no mask {folder / 'unmasked_mask.*'} found"
    save(random_pixels((16, 16, 3), seed=17), folder / "wrong.png")
    mask("wrong", box(16, 20, 0, 0, 8, 8))
    bad["wrong.png"] = "mask is 20×16 but the image is 16×16"
    assert len(good) + len(bad) + len(unchanged) >= 18
    return good, bad, unchanged


def test_battery_every_input_is_inpainted_exactly_or_listed_with_its_reason(checkpoint, tmp_path):
    good, bad, unchanged = battery(tmp_path / "photos")
    result = predict(checkpoint, tmp_path / "photos", tmp_path / "run", "max_side=256")
    assert result.returncode == 1, result.stderr[-3000:]  # some inputs failed, the others are written
    output_dir = tmp_path / "run" / "predictions"
    assert {p.name for p in output_dir.glob("*.png")} == set(good) | unchanged
    inputs = {p.stem: p for p in (tmp_path / "photos").iterdir() if not p.stem.endswith("_mask")}
    for name, hole in good.items():
        written, expected = np.asarray(Image.open(output_dir / name)), as_read(inputs[Path(name).stem])
        assert written.shape == expected.shape and written.shape[:2] == hole.shape, name
        assert np.array_equal(written[~hole], expected[~hole]), name  # known pixels bit-exact
        assert not np.array_equal(written[hole], expected[hole]), name  # the hole is filled
    for name in unchanged:
        assert np.array_equal(np.asarray(Image.open(output_dir / name)), as_read(inputs[Path(name).stem]))
    failures = read_failures(output_dir)
    assert set(failures) == set(bad)
    for name, reason in bad.items():
        assert reason in failures[name], (name, failures[name])
    log = result.stdout + result.stderr
    assert "inpainted hole70.png (64×64, 70.0 % missing)" in log  # read as meant: white = hole
    assert "written unchanged no_hole.png (16×16): no hole in its mask" in log
    assert f"{len(good) + len(unchanged)} written, {len(bad)} failed" in log


@pytest.mark.slow  # two predict subprocesses per umask
@pytest.mark.parametrize("umask", [0o022, 0o077])
def test_predictions_and_checkpoints_get_the_umask_s_permissions(checkpoint, tmp_path, umask):
    photos = tmp_path / "photos"
    photos.mkdir()
    save(random_pixels((16, 16, 3), seed=1), photos / "a.png")
    save_mask(photos / "a_mask.png", 16, 16, 1)
    previous = os.umask(umask)
    try:
        assert predict(checkpoint, photos, tmp_path / "run").returncode == 0
        run(
            "train.py",
            *TINY,
            "trainer.max_steps=2",
            "test=false",
            "logger=none",
            f"hydra.run.dir={tmp_path / 'train'}",
        )
    finally:
        os.umask(previous)
    expected = 0o666 & ~umask
    for written in (
        tmp_path / "run" / "predictions" / "a.png",
        tmp_path / "train" / "checkpoints" / "last.ckpt",
    ):
        assert stat.S_IMODE(written.stat().st_mode) == expected, written
        if umask == 0o022:
            assert written.stat().st_mode & stat.S_IRGRP  # the lab's group can read it


class RunsOutOfMemoryOnBigPhotos:
    """A stand-in model: fills holes with gray, but runs out of memory on images wider than 20 px."""

    def inpaint(self, image, mask, hints=None):
        if image.shape[-1] > 20:
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 562.00 GiB")
        return image * (1 - mask) + 0.5 * mask

    def inpaint_photo(self, image, mask, hints=None, max_side=512, context=0.5):
        return inpaint_in_crops(self.inpaint, image, mask, hints, max_side, context)


def test_out_of_memory_on_one_file_is_listed_and_the_run_goes_on(tmp_path):
    photos = tmp_path / "photos"
    photos.mkdir()
    for name, width in (("big", 32), ("small", 16)):
        save(random_pixels((16, width, 3), seed=width), photos / f"{name}.png")
        save_mask(photos / f"{name}_mask.png", width, 16, seed=width)
    cfg = OmegaConf.create(
        {"output_dir": str(tmp_path / "out"), "max_side": 512, "context": 0.5}
        | {"mask_polarity": "white_is_hole", "resize_masks": False}
    )
    pairs = find_inputs(photos, {"mask": (None, "_mask"), "hint": (None, "_hint")})
    failures = predict_folder(RunsOutOfMemoryOnBigPhotos(), pairs, cfg, torch.device("cpu"))
    assert list(map(Path, failures)) == [photos / "big.png"]
    assert "out of memory (OutOfMemoryError). Lower max_side (now 512)" in failures[str(photos / "big.png")]
    assert read_failures(tmp_path / "out") == {"big.png": failures[str(photos / "big.png")]}
    assert (tmp_path / "out" / "small.png").is_file()
