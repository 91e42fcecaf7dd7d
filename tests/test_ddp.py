"""Lightning DDP on CPU (gloo, 2 processes) against 1 process on the same data and the same global batch.

The DDP run is a job of a multirun, so Lightning's second rank must re-run that job, not the sweep
(suite/ddp.py). 5 validation and 5 test images split 3 + 2 across the ranks: the metrics are reduced over
unequal shards. 11 training images with a global batch of 4: each rank takes 2 per step.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from suite_cli import DDP_TINY, DDP_TWO_RANKS, REPO, run

# a real SLURM cluster / DDP processes: make test-all
pytestmark = pytest.mark.slow


def seen_callback(out_dir: Path) -> tuple[str, ...]:
    return ("+callbacks.seen._target_=seen_samples.SeenSamples", f"+callbacks.seen.out_dir={out_dir}")


def validation_rows(run_dir: Path) -> list[dict]:
    with open(run_dir / "csv" / "metrics.csv") as f:
        return [row for row in csv.DictReader(f) if row.get("val/psnr")]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("ddp")
    env = {"PYTHONPATH": str(REPO / "tests")}
    single = root / "single"
    run("train.py", *DDP_TINY, *seen_callback(single), f"hydra.run.dir={single}", env=env)
    sweep = root / "sweep"
    run(
        "train.py",
        "-m",
        *DDP_TINY,
        *seen_callback(sweep / "seen"),
        *DDP_TWO_RANKS,
        "seed=42",
        f"hydra.sweep.dir={sweep}",
        env=env,
    )
    return single, sweep / "0", sweep / "seen"


def test_validation_and_test_metrics_equal_one_process(runs):
    single, ddp, _ = runs
    one, two = validation_rows(single), validation_rows(ddp)
    assert len(one) == len(two) == 2  # after each epoch
    for a, b in zip(one, two, strict=True):
        assert a["step"] == b["step"]
        for key in ("val/psnr", "val/ssim", "val/l1"):
            assert float(a[key]) == pytest.approx(float(b[key]), rel=1e-4), key
    single_test, ddp_test = (json.loads((d / "metrics.json").read_text()) for d in (single, ddp))
    assert ddp_test["num_images"] == single_test["num_images"] == 5  # every test image once
    for key in ("psnr", "ssim", "l1"):
        assert ddp_test["overall"][key] == pytest.approx(single_test["overall"][key], rel=1e-4), key
    # every image's row gathered from both ranks, in dataset order
    one_rows, two_rows = (list(csv.DictReader((d / "per_image.csv").open())) for d in (single, ddp))
    assert [row["index"] for row in two_rows] == [row["index"] for row in one_rows] == list("01234")
    for a, b in zip(one_rows, two_rows, strict=True):
        assert float(a["psnr"]) == pytest.approx(float(b["psnr"]), rel=1e-4)


def test_no_sample_is_seen_twice_in_an_epoch(runs):
    _, ddp, seen_dir = runs
    ranks = [json.loads((seen_dir / f"seen_rank{rank}.json").read_text()) for rank in (0, 1)]
    for epoch in ("0", "1"):
        per_rank = [rank[epoch] for rank in ranks]
        assert [len(indices) for indices in per_rank] == [4, 4]  # 2 steps of 2 images on each rank
        union = per_rank[0] + per_rank[1]
        assert len(set(union)) == len(union) == 8
    assert not (ddp.parent / "1").exists()  # the second rank re-ran this job, not the sweep


def test_only_rank_zero_writes_files(runs):
    _, ddp, _ = runs
    written = {path.relative_to(ddp).parts[0] for path in ddp.rglob("*") if path.is_file()}
    assert written <= {
        ".hydra",
        "csv",
        "checkpoints",
        "images",
        "examples",
        "metrics.json",
        "metrics.csv",
        "metrics.md",
        "per_image.csv",
        "train.log",
    }, written
    assert len(list((ddp / "csv").glob("*.csv"))) <= 2  # one logger (metrics.csv, hparams)
