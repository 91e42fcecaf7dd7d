"""predict.py on a folder of the user's own files: odd modes and sizes in, bad files listed, exit status."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from checkpoints import SINGLE_THREAD, tiny_gatedconv_checkpoint
from PIL import Image
from suite_cli import run


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory) -> Path:
    return tiny_gatedconv_checkpoint(tmp_path_factory)


def predict(checkpoint: Path, input_dir: Path, run_dir: Path, *overrides: str):
    return run(
        "predict.py",
        f"ckpt_path={checkpoint}",
        f"input_dir={input_dir}",
        f"hydra.run.dir={run_dir}",
        *overrides,
        check=False,
        env=SINGLE_THREAD,
    )


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
    assert "no mask found" in failures["no_mask.png"]
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
