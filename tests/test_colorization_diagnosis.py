"""benchmarks/colorization_diagnosis.py (why EII's fit loses to Levin on photos): its probe watches the
preset's own fit without changing it, and its oracle condition trains on the hole's truth."""

from __future__ import annotations

import json
import sys

import torch

from lightning_modules.colorization.color_conversions import to_gray
from suite_cli import REPO

sys.path.insert(0, str(REPO / "benchmarks"))
import colorization_quality as quality  # noqa: E402
from colorization_diagnosis import main, probe, probing, report  # noqa: E402

TINY = (
    "lower_pyramids={1:{iterations:[200],lrs:[0.01]},2:{iterations:[5,10],lrs:[0.01,0.003]}}",
    "num_blocks=1",
    "channels=8",
)


def test_the_probe_scores_the_fit_the_preset_itself_makes():
    image = quality.test_images((32, 32), 1, 0)["texture000"][None]
    hole = torch.zeros(1, 1, 32, 32)
    hole[..., 8:20, 10:24] = 1
    preset = quality.colorizer(" ".join(("paper", *TINY)), 1)
    plain = quality.psnr(preset(to_gray(image), image, hole) * hole + image * (1 - hole), image)[0]
    with probing():
        probed = probe(preset, image, hole, oracle=False)
        oracle = probe(preset, image, hole, oracle=True)
    assert abs(probed["psnr"] - plain) < 1e-4
    assert sorted(probed["by_iteration"]) == [100, 200]
    assert oracle["psnr"] > probed["psnr"]  # shown the hole's truth, the same fit restores it better


def test_results_resume_and_report_per_condition(tmp_path, capsys):
    arguments = [
        "--size",
        "32x32",
        "--textures",
        "1",
        "--photos",
        "1",
        "--masks",
        "rectangles",
        "--out",
        str(tmp_path),
    ]
    main([*arguments, "--overrides", *TINY, "--only", "texture000"])
    written = sorted(tmp_path.rglob("*.json"))
    assert [path.stem for path in written] == ["texture000"]
    assert json.loads(written[0].read_text())["levin"] > 0
    printed = report(tmp_path / "32x32", reference=" ".join(("paper", *TINY)))
    assert "| textures | 1 |" in printed and "+0.00 (1)" in printed
