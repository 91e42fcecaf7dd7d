"""`make demo` (conf/experiment/demo.yaml) end to end, shrunk: the rgb and mono GatedConv jobs train, test
and leave their examples, and report.py prints the demo's one table and writes its comparison figure."""

import csv

import pytest

from suite_cli import run

# the demo sweep in subprocesses: make test-all
pytestmark = pytest.mark.slow


def test_demo_sweep_gives_one_table_and_one_figure(tmp_path):
    sweep = tmp_path / "demo"
    run(
        "train.py",
        "-m",
        "experiment=demo",
        "trainer.max_steps=4",
        "trainer.val_check_interval=2",
        "data.source.size=32",
        "data.source.num_val=2",
        "data.source.num_test=4",
        "data.batch_size=2",
        "colorization.iterations=[10]",  # the demo's one pyramid level
        f"hydra.sweep.dir={sweep}",
    )
    for job in ("0", "1"):
        assert (sweep / job / "metrics.json").is_file()
        assert list((sweep / job / "examples").glob("*_composite.png"))

    result = run("report.py", str(sweep))
    assert "Demo: GatedConv as published (rgb)" in result.stdout, result.stdout
    with open(sweep / "report.csv") as f:
        rows = {row["bottleneck"]: row for row in csv.DictReader(f)}
    assert set(rows) == {"rgb", "mono"}, rows
    assert all(float(row["synthetic/psnr"]) > 5 for row in rows.values()), rows
    assert (sweep / "comparison.png").is_file()
