"""Patch-swap (feature-translation paper §3.3.2) against a direct per-patch loop."""

from __future__ import annotations

import importlib.util
import sys

import pytest
import torch
import torch.nn.functional as F

from lightning_modules.feature_translation.patch_swap import feature_hole, patch_swap
from suite_cli import REPO


def direct_patch_swap(features: torch.Tensor, hole: torch.Tensor) -> torch.Tensor:
    """The paper's definition written out: for each location whose 3×3 patch overlaps the hole, the known
    3×3 patch of highest ⟨p, q⟩ / (‖p‖ ‖q‖); the winners pasted back and averaged where they overlap."""
    out = features.clone()
    for b in range(features.shape[0]):
        f, h = features[b], hole[b, 0] > 0.5
        _, height, width = f.shape
        padded = F.pad(f, (1, 1, 1, 1))
        candidates = [
            f[:, i - 1 : i + 2, j - 1 : j + 2]
            for i in range(1, height - 1)
            for j in range(1, width - 1)
            if not h[i - 1 : i + 2, j - 1 : j + 2].any()
        ]
        total, count = torch.zeros_like(f), torch.zeros(height, width)
        for i in range(height):
            for j in range(width):
                if not h[max(i - 1, 0) : i + 2, max(j - 1, 0) : j + 2].any():
                    continue
                p = padded[:, i : i + 3, j : j + 3]
                scores = [float((p * q).sum() / (p.norm() * q.norm())) for q in candidates]
                q = candidates[max(range(len(scores)), key=scores.__getitem__)]
                for di in range(3):
                    for dj in range(3):
                        y, x = i + di - 1, j + dj - 1
                        if 0 <= y < height and 0 <= x < width:
                            total[:, y, x] += q[:, di, dj]
                            count[y, x] += 1
        out[b] = torch.where(h, total / count.clamp_min(1), f)
    return out


def holes(shape: str, batch: int, height: int, width: int) -> torch.Tensor:
    hole = torch.zeros(batch, 1, height, width)
    if shape == "square":
        hole[..., height // 3 : 2 * height // 3, width // 3 : 2 * width // 3] = 1
    elif shape == "border":  # touches the map's edge: border patches are zero-padded
        hole[..., : height // 2, : width // 3] = 1
    else:  # scattered free-form pixels, different per image
        generator = torch.Generator().manual_seed(3)
        hole = (torch.rand(batch, 1, height, width, generator=generator) < 0.12).float()
    return hole


@pytest.mark.parametrize(
    ("batch", "channels", "height", "width", "shape"),
    [(1, 4, 9, 9, "square"), (2, 8, 10, 13, "border"), (3, 5, 12, 11, "scattered")],
)
def test_patch_swap_equals_the_direct_loop(batch, channels, height, width, shape):
    features = torch.randn(batch, channels, height, width, generator=torch.Generator().manual_seed(0))
    hole = holes(shape, batch, height, width)
    expected = direct_patch_swap(features, hole)
    assert torch.allclose(patch_swap(features, hole), expected, atol=1e-5)
    # A tiny score budget searches the candidates in chunks of one: the same swap.
    assert torch.allclose(patch_swap(features, hole, max_scores=1), expected, atol=1e-5)


def test_known_positions_are_untouched_and_hole_positions_come_from_known_patches():
    features = torch.randn(2, 6, 16, 16, generator=torch.Generator().manual_seed(1))
    hole = holes("square", 2, 16, 16)
    swapped = patch_swap(features, hole)
    assert torch.equal(swapped * (1 - hole), features * (1 - hole))
    assert not torch.allclose(swapped * hole, features * hole)
    # Copying a map's own known patch: a hole inside a constant-per-channel map is filled with that constant.
    flat = torch.ones(1, 3, 12, 12) * torch.tensor([1.0, -2.0, 0.5]).view(1, 3, 1, 1)
    assert torch.allclose(patch_swap(flat, holes("square", 1, 12, 12)), flat, atol=1e-6)


def test_feature_hole_marks_every_position_touching_a_missing_pixel():
    mask = torch.zeros(1, 1, 64, 64)
    mask[..., 10:11, 30:31] = 1  # one pixel
    hole = feature_hole(mask, (16, 16))
    assert hole.sum() == 1 and hole[0, 0, 2, 7] == 1


def test_a_hole_leaving_no_known_patch_is_refused_with_the_fix():
    with pytest.raises(ValueError, match="needs known 3×3 patches"):
        patch_swap(torch.randn(1, 4, 6, 6), torch.ones(1, 1, 6, 6))


def test_the_benchmark_prints_three_ratios_of_medians_against_the_convolution_style_swap(capsys, monkeypatch):
    """benchmarks/patch_swap.py: Chen & Schmidt's convolution style-swap computes the layer's swap, and the
    speed-up is printed against it, the per-location search and the per-pair definition, as medians."""
    spec = importlib.util.spec_from_file_location(
        "patch_swap_benchmark", REPO / "benchmarks" / "patch_swap.py"
    )
    benchmark = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(benchmark)
    features = torch.randn(2, 8, 10, 13, generator=torch.Generator().manual_seed(0))
    hole = holes("border", 2, 10, 13)
    assert torch.allclose(
        benchmark.convolution_style_swap(features, hole), patch_swap(features, hole), atol=1e-5
    )
    argv = ["patch_swap.py", "--device", "cpu", "--size", "16", "--channels", "4", "--batch", "1", "2"]
    monkeypatch.setattr(sys, "argv", [*argv, "--repeats", "3"])
    benchmark.main()
    out = capsys.readouterr().out
    assert "medians of 3 runs" in out and "conv style-swap" in out
    rows = [line for line in out.splitlines() if line.split()[0].isdigit()]
    assert [row.count("×") for row in rows] == [3, 3]
