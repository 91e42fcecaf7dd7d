"""`train.py -m ... seed=1,2` runs one job per seed, and report.py turns the sweep into one table."""

import csv
import shutil
from concurrent.futures import ThreadPoolExecutor

import pytest

from suite_cli import TINY, run


@pytest.mark.slow  # subprocess runs and sweeps
def test_multirun_sweep_then_report(tmp_path):
    sweep = tmp_path / "sweep"
    run("train.py", "-m", *TINY, "model=gatedconv", "seed=1,2", "logger=csv", f"hydra.sweep.dir={sweep}")
    jobs = sorted(p.name for p in sweep.iterdir() if p.is_dir() and not p.name.startswith("."))
    assert jobs == ["0", "1"]
    for job in jobs:
        assert (sweep / job / "metrics.json").is_file()
        assert (sweep / job / "checkpoints" / "last.ckpt").is_file()
        assert list((sweep / job / "images").glob("val_step*.png"))

    result = run("report.py", str(sweep), "--out", str(tmp_path / "report"))
    assert "seed=1" in result.stdout and "seed=2" in result.stdout
    with open(tmp_path / "report" / "report.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 2
    assert all(float(row["psnr"]) > 5 for row in rows), rows
    assert (tmp_path / "report" / "report.tex").read_text().count("\\\\") >= 3  # header + two rows
    assert (tmp_path / "report" / "comparison.png").is_file()

    # a job that never started leaves no folder; its row stays, marked missing
    shutil.rmtree(sweep / "1")
    result = run("report.py", str(sweep), "--out", str(tmp_path / "report"))
    row = next(line for line in result.stdout.splitlines() if "seed=2" in line)
    assert "missing" in row, result.stdout


@pytest.mark.slow  # subprocess runs and sweeps
@pytest.mark.parametrize("multirun", [False, True], ids=["runs", "sweeps"])
def test_launches_in_the_same_second_get_separate_directories(tmp_path, multirun):
    """Two runs or two sweeps launched at once (same timestamp) must not write into one folder."""
    logs = tmp_path / "logs"
    common = ("trainer.max_steps=0", "test=false", "logger=none", f"paths.log_dir={logs}")
    args = ("-m", *TINY, *common, "seed=1,2") if multirun else (*TINY, *common)
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(lambda _: run("train.py", *args), range(2)))
    folders = sorted((logs / "train" / ("multiruns" if multirun else "runs")).iterdir())
    assert len(folders) == 2, folders
    assert len({folder.name.rsplit("_", 1)[1] for folder in folders}) == 2  # the random id tells them apart
    if multirun:
        for folder in folders:
            assert sorted(p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")) == [
                "0",
                "1",
            ]
