"""benchmarks/colorization_quality.py keeps a measurement too long for one session: what is held is
reused, every method finishes an image before the next, and a method may be a preset with overrides."""

from __future__ import annotations

import sys

import torch

from suite_cli import REPO

sys.path.insert(0, str(REPO / "benchmarks"))
import colorization_quality as quality  # noqa: E402


def test_a_method_is_a_preset_with_hydra_overrides():
    variant = quality.colorizer("fast_paper channels=16 lower_pyramids={1:{iterations:[250],lrs:[0.01]}}", 1)
    assert (variant.channels, variant.schedules[1], variant.fit_scale) == (16, ((250,), (0.01,)), 0.25)
    assert quality.colorizer("levin", 1).__class__.__name__ != "ProgressiveColorization"


def test_a_stopped_measurement_continues_with_what_every_method_has_finished(tmp_path, monkeypatch):
    size = (24, 24)
    images = quality.test_images(size, textures=2, photos=0)
    masks = dict(zip(images, quality.masks_of("rectangles", len(images), size), strict=True))
    calls = []
    original = quality.colorizer
    monkeypatch.setattr(
        quality, "colorizer", lambda method, scale: calls.append(method) or original(method, scale)
    )
    methods = ["levin", "base num_blocks=1 channels=4 iterations=[2]"]
    first = quality.measure(methods, 1, images, masks, 1, torch.device("cpu"), tmp_path)
    assert all(set(rows) == set(images) for rows in first.values())
    written = sorted(path.relative_to(tmp_path).as_posix() for path in tmp_path.rglob("*.json"))
    assert written == sorted(f"{method}/{key}.json" for method in methods for key in images)
    (tmp_path / methods[1] / f"{next(iter(images))}.json").unlink()  # stopped before its last result
    calls.clear()
    second = quality.measure(methods, 1, images, masks, 1, torch.device("cpu"), tmp_path)
    assert calls == [methods[1]]  # only the missing result is computed
    assert second["levin"] == first["levin"]
    held = quality.measure(methods, 1, images, masks, 1, torch.device("cpu"), tmp_path, compute=False)
    assert held == second


def test_the_report_gives_photos_first_paired_against_paper_and_levin_beside_the_published_values():
    keys = [
        f"{mask}/{name}" for mask in quality.MASK_TYPES for name in ("astronaut", "texture000", "chelsea")
    ]
    psnr = {"paper": 30.0, "fast_paper": 35.0, "levin": 37.0}
    results = {
        method: {
            key: {"psnr": value + ("texture" in key) * 20 - i, "seconds": 1.0} for i, key in enumerate(keys)
        }
        for method, value in psnr.items()
    }
    text = quality.report(results, keys, list(quality.MASK_TYPES), ["paper", "levin"])
    headings = [line for line in text.splitlines() if line.startswith("### ")]
    assert headings == [
        "### photos, rectangles (2 images × masks)",
        "### photos, free_form (2 images × masks)",
        "### photos, both masks (4 images × masks)",
        "### textures, rectangles (1 images × masks)",
        "### textures, free_form (1 images × masks)",
        "### textures, both masks (2 images × masks)",
    ]
    photos_rectangles = text.split("### photos, free_form")[0]
    assert "| paper | 29.00 | 38.45 |" in photos_rectangles  # this run beside EII Table 3's ours (full)
    assert "| levin | 36.00 | 36.68 |" in photos_rectangles
    assert (
        "against **levin**" in photos_rectangles
        and "| fast_paper | 2 | -2.00 [-2.00, -2.00] | 0 / 2 |" in photos_rectangles
    )
