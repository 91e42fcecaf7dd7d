"""benchmarks/gpu_check.sh, the one script a session lent a GPU runs first, cannot rot: its --dry-run runs
every one of its commands at toy sizes on CPU, and each prints its figure."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from suite_cli import REPO

# every benchmark's dry run in subprocesses: make test-all
pytestmark = pytest.mark.slow


def test_the_gpu_check_runs_every_benchmark_in_its_dry_run(tmp_path):
    result = subprocess.run(
        ["bash", str(REPO / "benchmarks" / "gpu_check.sh"), "--dry-run"],
        cwd=REPO,
        env={**os.environ, "TMPDIR": str(tmp_path), "OMP_NUM_THREADS": "1", "PYTHON": sys.executable},
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    out = result.stdout
    for figure in (
        "GatedConv",  # each training benchmark's line
        "DeepGIN",
        "EdgeConnect",
        "GMCNN",
        "HiFill",
        "block-wise",
        "training batches/s, cpu",  # every method under the speed options, against eager float32
        "(×1.00)",
        "image2feature training",
        "feature2image training",
        "patch-swap",
        "EII progressive colorization (32)",  # the colorization presets, fp32 and bf16
        "EII progressive colorization (bf16)",
        "Paired differences against **paper**",  # the quality benchmark on the real photos
    ):
        assert figure in out, figure
    timings = out.split("EII progressive colorization")[1]  # one table per size, a row per preset
    for preset in ("paper", "official_code", "fast_paper"):
        assert timings.count(f"{preset:>16} |") == 2, preset
    assert "fast_paper" in out.split("Paired differences")[-1] and "levin" in out
