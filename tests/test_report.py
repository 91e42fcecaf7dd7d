"""Results files and the report tool on fake Hydra multirun trees (job folders, overrides, examples)."""

import csv
import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from evaluation.report import Run, find_runs, main, pivot_table, runs_table
from evaluation.results import read_results, write_results

LPIPS_REASON = "weights file alexnet-owt-7be5be79.pth not found; put it in /cache/hub/checkpoints"
EXAMPLE_INDICES = (3, 7)


def fake_results(psnr: float, lpips: float | None) -> dict:
    """InpaintingMetrics.compute()-shaped results for 3 images in two buckets."""
    bucket = {"psnr": psnr, "ssim": 0.91234, "l1": 0.031, "lpips": lpips}
    return {
        "overall": {"psnr": psnr, "ssim": 0.91234, "l1": 0.031, "lpips": lpips, "fid": 12.3456, "count": 3},
        "buckets": {"10-20%": {**bucket, "count": 2}, "40-50%": {**bucket, "count": 1}},
        "unavailable": {} if lpips is not None else {"lpips": LPIPS_REASON},
    }


def make_job(job_dir: Path, overrides: list[str], results: dict | None) -> None:
    (job_dir / ".hydra").mkdir(parents=True)
    (job_dir / ".hydra" / "overrides.yaml").write_text("".join(f"- {o}\n" for o in overrides))
    (job_dir / ".hydra" / "config.yaml").write_text("seed: 0\nsplit: test\n")
    if results is None:  # a failed job: Hydra made the folder, nothing else
        return
    write_results(
        job_dir, results, method="m", dataset="d", mask="nvidia", checkpoint="last.ckpt", split="test"
    )
    rng = np.random.default_rng(len(overrides))
    for index in EXAMPLE_INDICES:
        for kind in ("masked", "composite", "target"):
            pixels = rng.integers(0, 255, (32, 32, 3), dtype=np.uint8)
            (job_dir / "examples").mkdir(exist_ok=True)
            Image.fromarray(pixels).save(job_dir / "examples" / f"{index:06d}_{kind}.png")


def rows_of(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


@pytest.fixture
def multiruns(tmp_path):
    """Two sweeps: gatedconv (its places2 job failed) and deepgin, over two datasets."""
    first, second = tmp_path / "multirun" / "10-00-00", tmp_path / "multirun" / "11-00-00"
    make_job(first / "0", ["model=gatedconv", "data=celebahq", "mask=nvidia"], fake_results(25.5, 0.12))
    make_job(first / "1", ["model=gatedconv", "data=places2", "mask=nvidia"], None)
    make_job(second / "0", ["model=deepgin", "data=celebahq", "mask=nvidia"], fake_results(26.25, None))
    make_job(second / "1", ["model=deepgin", "data=places2", "mask=nvidia"], fake_results(24.0, 0.2))
    (first / "multirun.yaml").write_text("hydra: {}\n")
    return first, second


def test_results_files_round_trip(tmp_path):
    identity = {"method": "gatedconv", "dataset": "celebahq", "mask": "nvidia", "split": "test", "seed": 1}
    table = write_results(tmp_path, fake_results(25.123456, None), checkpoint="runs/last.ckpt", **identity)
    assert table == (tmp_path / "metrics.md").read_text()
    record = read_results(tmp_path)
    assert record["method"] == "gatedconv" and record["split"] == "test" and record["num_images"] == 3
    assert record["seed"] == 1
    assert record["checkpoint"] == "runs/last.ckpt" and record["mask"] == "nvidia"
    assert record["overall"]["psnr"] == 25.123456 and record["unavailable"] == {"lpips": LPIPS_REASON}
    rows = list(csv.DictReader(io.StringIO((tmp_path / "metrics.csv").read_text())))
    assert [row["bucket"] for row in rows] == ["overall", "10-20%", "40-50%"]
    assert float(rows[0]["psnr"]) == 25.123456 and rows[0]["lpips"] == "" and rows[1]["fid"] == ""
    markdown = table
    assert "| overall | 3 | 25.12 | 0.9123 | 0.0310 | n/a | 12.35 |" in markdown
    assert "PSNR ↑" in markdown and "LPIPS ↓" in markdown
    assert "alexnet-owt-7be5be79.pth" in markdown
    assert not list(tmp_path.glob(".*.tmp"))  # atomic writes leave no temporaries


def test_report_has_a_row_per_job_with_missing_and_footnotes(multiruns, tmp_path, capsys):
    out = tmp_path / "report"
    table = main([str(d) for d in multiruns] + ["--out", str(out)])
    printed = capsys.readouterr().out
    labels = [label for label, _ in table.rows]
    # mask=nvidia is common to all jobs and dropped from the labels
    assert labels == [
        "model=gatedconv data=celebahq",
        "model=gatedconv data=places2",
        "model=deepgin data=celebahq",
        "model=deepgin data=places2",
    ]
    assert [c.metric for c in table.columns] == ["psnr", "ssim", "l1", "lpips", "fid"]
    markdown = (out / "report.md").read_text()
    assert markdown in printed
    assert "| model=gatedconv data=celebahq | 25.50 | 0.9123 | 0.0310 | 0.1200 | 12.35 |" in markdown
    assert (
        "| model=gatedconv data=places2 | missing [1] | missing | missing | missing | missing |" in markdown
    )
    assert "| model=deepgin data=celebahq | 26.25 | 0.9123 | 0.0310 | n/a [2] | 12.35 |" in markdown
    assert "[1] no metrics.json" in markdown
    assert f"[2] {LPIPS_REASON}" in markdown

    rows = rows_of((out / "report.csv").read_text())
    assert rows[0] == ["run", "psnr", "ssim", "l1", "lpips", "fid"]
    assert len(rows) == 5 and rows[2][1:] == ["missing"] * 5 and rows[3][4] == "n/a"
    assert float(rows[1][1]) == 25.5

    latex = (out / "report.tex").read_text()
    assert r"\toprule" in latex and r"\midrule" in latex and r"\bottomrule" in latex
    assert r"PSNR $\uparrow$" in latex and r"LPIPS $\downarrow$" in latex
    assert r"n/a\textsuperscript{2}" in latex and "alexnet-owt-7be5be79.pth" in latex

    with Image.open(out / "comparison.png") as figure:
        # 2 example rows; masked input + 3 runs with examples + ground truth, 200 px each
        assert figure.size == (5 * 200, len(EXAMPLE_INDICES) * 200)


def test_out_defaults_to_the_first_directory_and_metrics_can_be_chosen(multiruns):
    table = main([str(multiruns[0]), "--metrics", "psnr", "ssim"])
    assert [c.metric for c in table.columns] == ["psnr", "ssim"]
    assert len(table.rows) == 2
    assert {"report.md", "report.csv", "report.tex", "comparison.png"} <= {
        p.name for p in multiruns[0].iterdir()
    }


def test_a_single_run_directory_is_accepted(multiruns):
    runs = find_runs([multiruns[1] / "0"])
    assert len(runs) == 1 and runs[0].results["overall"]["psnr"] == 26.25
    assert runs[0].label  # no overrides differ: the folder name


def test_split_filter_marks_other_splits_missing(multiruns):
    runs = find_runs(multiruns, split="val")
    assert all(run.results is None for run in runs)
    assert "split 'test', not 'val'" in runs[0].problem


def test_pivot_method_by_dataset(multiruns, tmp_path):
    out = tmp_path / "pivot"
    table = main([*map(str, multiruns), "--out", str(out), "--rows", "model", "--cols", "data"])
    assert [label for label, _ in table.rows] == ["gatedconv", "deepgin"]
    assert [(c.group, c.metric) for c in table.columns[:2]] == [("celebahq", "psnr"), ("celebahq", "ssim")]
    assert len(table.columns) == 10
    gatedconv = dict(zip([(c.group, c.metric) for c in table.columns], table.rows[0][1]))
    assert gatedconv["celebahq", "psnr"].value == 25.5
    assert gatedconv["places2", "psnr"].missing
    markdown = (out / "report.md").read_text()
    assert "| model | celebahq PSNR ↑ |" in markdown
    latex = (out / "report.tex").read_text()
    assert r"\multicolumn{5}{c}{celebahq} & \multicolumn{5}{c}{places2}" in latex
    assert r"\cmidrule(lr){2-6} \cmidrule(lr){7-11}" in latex
    assert rows_of((out / "report.csv").read_text())[0][:3] == ["model", "celebahq/psnr", "celebahq/ssim"]


def test_pivot_averages_runs_sharing_a_cell(tmp_path):
    def run(seed: int, psnr: float | None) -> Run:
        results = None if psnr is None else fake_results(psnr, 0.1)
        overrides = ["model=a", "data=x", f"seed={seed}"]
        return Run(tmp_path, overrides, results, problem=None if results else "no metrics.json")

    table = pivot_table([run(0, 20.0), run(1, 22.0), run(2, None)], "model", "data", ["psnr"])
    cell = table.rows[0][1][0]
    assert cell.value == 21.0
    assert cell.note == "mean of 2 of 3 runs; no metrics.json"
    assert (cell.std, cell.count) == (pytest.approx(2**0.5), 2)
    assert table.remarks == [
        "Cells holding several runs (up to 3, e.g. seeds): mean ± standard deviation (n runs)."
    ]


def test_a_cell_of_seeds_shows_mean_std_and_n(tmp_path, capsys):
    """Three seeds of one model in one cell: mean ± sample std (n=3) in Markdown and LaTeX, the three
    numbers in columns of their own in the CSV; a cell of one run stays a plain value."""
    sweep = tmp_path / "sweep"
    for job, (model, seed, psnr) in enumerate(
        [("a", 1, 18.5), ("a", 2, 18.9), ("a", 3, 18.97), ("b", 1, 20.0)]
    ):
        make_job(sweep / str(job), [f"model={model}", "data=x", f"seed={seed}"], fake_results(psnr, 0.1))
    out = tmp_path / "report"
    main([str(sweep), "--rows", "model", "--cols", "data", "--metrics", "psnr", "--out", str(out)])

    assert "| a | 18.79 ± 0.25 (n=3) |" in capsys.readouterr().out
    assert "| b | 20.00 |" in (out / "report.md").read_text()
    assert r"18.79 $\pm$ 0.25 (n=3)" in (out / "report.tex").read_text()
    header, a, b = rows_of((out / "report.csv").read_text())
    assert header == ["model", "x/psnr", "x/psnr_std", "x/psnr_n"]
    assert float(a[1]) == pytest.approx(18.79) and float(a[2]) == pytest.approx(0.2536, abs=1e-4)
    assert a[3] == "3" and b[1:] == ["20.0", "", "1"]


def test_runs_table_reports_metrics_a_run_did_not_compute(tmp_path):
    results = fake_results(20.0, 0.1)
    del results["overall"]["fid"]
    table = runs_table([Run(tmp_path, [], results, label="r")], ["psnr", "fid"])
    assert table.rows[0][1][1].value is None and table.notes() == ["FID not computed"]


def test_metrics_json_is_what_the_report_reads(multiruns):
    record = json.loads((multiruns[0] / "0" / "metrics.json").read_text())
    assert set(record) == {
        "method",
        "dataset",
        "mask",
        "checkpoint",
        "split",
        "num_images",
        "overall",
        "buckets",
        "unavailable",
    }


def test_figure_warns_when_runs_show_different_ground_truth(multiruns, tmp_path):
    other = multiruns[1] / "1" / "examples" / f"{EXAMPLE_INDICES[0]:06d}_target.png"
    Image.fromarray(np.zeros((32, 32, 3), dtype=np.uint8)).save(other)
    with pytest.warns(UserWarning, match="model=deepgin data=places2"):
        main([*map(str, multiruns), "--out", str(tmp_path)])


def test_extra_fields_cannot_overwrite_results(tmp_path):
    with pytest.raises(ValueError, match="overall"):
        identity = {"method": "m", "dataset": "d", "mask": "k", "checkpoint": None, "split": "test"}
        write_results(tmp_path, fake_results(20.0, 0.1), **identity, overall={})


def per_image_run(run_dir: Path, psnr: list[float], l1: list[float], indices=None) -> Path:
    indices = indices or range(len(psnr))
    images = [{"index": i, "hole_ratio": 0.2, "psnr": p, "l1": e} for i, p, e in zip(indices, psnr, l1)]
    results = {
        "overall": {"psnr": sum(psnr) / len(psnr), "l1": sum(l1) / len(l1), "count": len(psnr)},
        "buckets": {},
        "unavailable": {},
        "images": images,
    }
    write_results(run_dir, results, method="m", dataset="d", mask="nvidia", checkpoint=None, split="test")
    return run_dir


def test_paired_report_compares_each_run_with_the_first_on_the_images_both_scored(tmp_path, capsys):
    reference = per_image_run(tmp_path / "base", [30, 31, 32, 33], [0.1, 0.1, 0.1, 0.1])
    # index 9 exists in this run only: it is not compared
    other = per_image_run(tmp_path / "full", [31, 31, 31, 35, 50], [0.05, 0.2, 0.1, 0.1, 0], [0, 1, 2, 3, 9])
    assert "images" not in read_results(other) and (other / "per_image.csv").is_file()
    markdown = main([str(reference), str(other), "--paired", "--out", str(tmp_path)])
    assert (tmp_path / "paired.md").read_text() == markdown
    row = next(line for line in markdown.splitlines() if line.startswith("| full"))
    cells = [cell.strip() for cell in row.strip("|").split("|")]
    assert cells[1] == "4"
    mean, interval = cells[2].split(" ", 1)
    assert float(mean) == 0.5  # (1 + 0 - 1 + 2) / 4
    low, high = (float(x) for x in interval.strip("[]").split(","))
    assert -1 <= low < 0.5 < high <= 2  # the bootstrap interval of four differences
    assert cells[3] == "2 / 1"  # PSNR: higher on 2 images, lower on 1
    assert cells[5] == "1 / 1"  # L1 is better lower: 0.05 better, 0.2 worse
    assert "Paired differences against **base**" in capsys.readouterr().out


def test_paired_report_names_the_missing_per_image_file(tmp_path):
    reference = tmp_path / "old"
    write_results(
        reference, fake_results(25.0, None), method="m", dataset="d", mask="m", checkpoint=None, split="test"
    )
    other = per_image_run(tmp_path / "new", [30], [0.1])
    with pytest.raises(SystemExit, match=r"old/per_image.csv not found.*re-run the evaluation"):
        main([str(reference), str(other), "--paired"])
