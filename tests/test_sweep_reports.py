"""Every sweep in sweeps/ renders its paper table (Markdown, CSV, LaTeX) and a comparison figure, with
the cell of a job that never ran marked, not dropped.

The trees are what a sweep leaves behind (multirun.yaml, job folders with .hydra/ and metrics.json),
built from each sweep file's own grid and layout, so a new sweep is covered as soon as it is added.
The sweeps themselves run at test size in test_paper_sweeps.py and test_deepgin_sweeps.py.
"""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from omegaconf import OmegaConf
from PIL import Image

from evaluation.report import NEVER_RAN, load_sweep, main, planned_jobs
from evaluation.results import write_results

REPO = Path(__file__).resolve().parents[1]
SWEEPS = sorted((REPO / "sweeps" / "experiment").glob("*.yaml"))
# The sweeps of a paper's tables; the others (`report.published: null`) have no published values (a paper's
# figures, or rows of methods a paper did not run), and say why in a remark.
TABLES = [path for path in SWEEPS if load_sweep(path).report.get("published") is not None]


def fake_results(psnr: float) -> dict:
    row = {"psnr": psnr, "ssim": 0.9, "l1": 0.03, "lpips": 0.1, "count": 2}
    return {"overall": {**row, "fid": 10.0}, "buckets": {"20-30%": row}, "unavailable": {}}


# Sweeps whose table needs a second command's runs too: its overrides (e.g. block-wise Table 3's head,
# scored from the final run's head.ckpt).
SECOND_COMMANDS = {"blockwise_table3": ["model/blockwise_variant=generator_head", "ckpt_path=head.ckpt"]}


def build_sweep(
    sweep_file: Path, root: Path, extra: tuple[str, ...] = (), ran: int | None = -1
) -> tuple[Path, dict[int, list[str]]]:
    """The multirun a sweep leaves when its last job never started (e.g. cancelled while pending); `ran`:
    the jobs that ran, as a slice's end (all but the last by default; None: all)."""
    spec = load_sweep(sweep_file)
    sweep = root / "_".join((sweep_file.stem, *(o.split("=")[0].replace("/", "_") for o in extra)))
    sweep.mkdir()
    multirun = {
        "hydra": {
            "sweeper": {
                "_target_": "hydra._internal.core_plugins.basic_sweeper.BasicSweeper",
                "params": OmegaConf.to_container(spec.hydra.sweeper.params),
            },
            "overrides": {"task": [f"experiment={sweep_file.stem}", *extra]},
        }
    }
    OmegaConf.save(OmegaConf.create(multirun), sweep / "multirun.yaml")
    planned = planned_jobs(sweep)
    for number, overrides in list(planned.items())[:ran]:
        job = sweep / str(number)
        (job / ".hydra").mkdir(parents=True)
        OmegaConf.save(OmegaConf.create(overrides), job / ".hydra" / "overrides.yaml")
        OmegaConf.save(
            OmegaConf.create({"report": OmegaConf.to_container(spec.report)}), job / ".hydra" / "config.yaml"
        )
        choices = dict(override.split("=", 1) for override in overrides)
        write_results(
            job,
            fake_results(20.0 + number),
            method="gatedconv",
            dataset=choices.get("data", "places2"),
            mask=choices.get("mask", "free_form"),
            checkpoint="last.ckpt",
            split="test",
        )
        (job / "examples").mkdir()
        rng = np.random.default_rng(0)  # the same test image in every job
        for kind in ("masked", "composite", "target"):
            pixels = rng.integers(0, 255, (16, 16, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(job / "examples" / f"000000_{kind}.png")
    return sweep, planned


@pytest.mark.parametrize("sweep_file", SWEEPS, ids=[path.stem for path in SWEEPS])
def test_every_sweep_renders_its_table_with_the_missing_job_marked(sweep_file, tmp_path, capsys):
    if sweep_file.stem in SECOND_COMMANDS:  # the sweep's own jobs ran; the second command's never started
        sweep, planned = build_sweep(sweep_file, tmp_path, ran=None)
        second, _ = build_sweep(sweep_file, tmp_path, tuple(SECOND_COMMANDS[sweep_file.stem]), ran=0)
        dirs = [str(second), str(sweep)]
    else:
        sweep, planned = build_sweep(sweep_file, tmp_path)
        assert len(planned) >= 2
        dirs = [str(sweep)]
    out = tmp_path / "report"
    table = main([*dirs, "--out", str(out)])

    assert table.title == load_sweep(sweep_file).report.title
    cells = [cell for _, row in table.rows for cell in row]
    assert sum(cell.value is not None for cell in cells) > 0
    missing = [cell for cell in cells if cell.missing]
    assert missing and any(cell.note == NEVER_RAN for cell in missing)

    markdown = (out / "report.md").read_text()
    assert "missing" in markdown and NEVER_RAN in markdown
    with open(out / "report.csv") as f:
        assert len(list(csv.reader(f))) >= 2
    assert "\\begin{tabular}" in (out / "report.tex").read_text()
    assert (out / "comparison.png").stat().st_size > 0


def test_a_sweep_without_published_values_says_so():
    for path in set(SWEEPS) - set(TABLES):
        report = load_sweep(path).report
        assert "published" in report, path  # explicitly null, not forgotten
        assert any("no published cells" in remark.lower() for remark in report.remarks), path  # and why


@pytest.mark.parametrize("sweep_file", TABLES, ids=[path.stem for path in TABLES])
def test_the_paper_s_published_table_prints_before_anything_runs(sweep_file, tmp_path, capsys):
    """Every paper-table sweep carries the paper's values with the table's caption; report.py on the sweep
    file prints them alone."""
    published = load_sweep(sweep_file).report.published
    assert published.caption.startswith("Table ") and published.values
    table = main([str(sweep_file), "--out", str(tmp_path)])
    papers = [cell.published for _, row in table.rows for cell in row if cell.published is not None]
    assert papers and all(cell.value is None for _, row in table.rows for cell in row)
    assert published.caption.split(".")[0] in capsys.readouterr().out
    assert (tmp_path / "report.md").is_file()


def test_a_sweep_file_s_table_is_printed_and_written_only_with_out(tmp_path, monkeypatch, capsys):
    """The sweep file lives in the repository: without --out nothing is written, there or elsewhere."""
    monkeypatch.chdir(tmp_path)
    before = sorted(TABLES[0].parent.iterdir())
    main([str(TABLES[0])])
    assert "|" in capsys.readouterr().out
    assert not list(tmp_path.iterdir()) and sorted(TABLES[0].parent.iterdir()) == before


@pytest.mark.parametrize("script", ["train.py", "evaluate.py"])
def test_help_lists_every_paper_sweep_with_what_it_reproduces(script):
    """`--help` gives each sweep one line: its name and the start of its header comment."""
    result = subprocess.run(
        [sys.executable, script, "--help"], cwd=REPO, capture_output=True, text=True, check=True, timeout=300
    )
    lines = result.stdout.split("== Paper sweeps ==")[1].split("== Config ==")[0].splitlines()
    for sweep in SWEEPS:
        (line,) = [line for line in lines if line.split(" ")[0] == sweep.stem]
        first_words = " ".join(sweep.read_text().splitlines()[1].lstrip("# ").split()[:3])
        assert first_words in line and len(line) <= 140, line
