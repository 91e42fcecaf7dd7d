"""One results table (Markdown, CSV, LaTeX) and one comparison figure from many run directories.

    python report.py <multirun dir> [<dir> ...] [--out DIR] [--metrics psnr ssim] [--split test]
    python report.py <multirun dir> --rows model --cols data      # method × dataset grid
    python report.py <reference run> <run or multirun> ... --paired   # image by image against the first
    python report.py sweeps/experiment/<table>.yaml    # the paper's published table alone (printed)
    python report.py <multirun dir> --wandb            # the table also to W&B, in the sweep's group

A directory is a single run (it holds metrics.json or .hydra/) or a Hydra multirun whose numbered job
folders are runs. Only each run's metrics.json, .hydra/*.yaml and examples/*.png are read. Building a
`Table` is kept apart from rendering it, so a paper-specific layout is one more builder. Nothing here
imports torch, matplotlib or wandb before it is needed: the tool starts in about a second.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import statistics
import textwrap
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
from omegaconf import DictConfig, OmegaConf
from PIL import Image

from evaluation.metric_specs import ALL_METRICS, METRIC_SPECS
from evaluation.paired import paired_differences, paired_markdown, read_per_image
from evaluation.results import RESULTS_FILE, TEST_SETS_DIR, column_title, format_value
from utils.atomic import atomic_path, write_text
from utils.resolvers import sweep_jobs

FIGURE_CELL_INCHES = 2.0
FIGURE_DPI = 100
KINDS = ("masked", "composite", "target")  # examples/{index:06d}_{kind}.png


@dataclass
class Run:
    path: Path
    overrides: list[str]
    results: dict | None  # None when the run has no usable metrics.json
    problem: str | None = None  # why results is None
    label: str = ""
    config_dir: Path | None = None  # the job folder holding .hydra/ (a test set's parent run)

    def hydra_file(self, name: str) -> Path:
        return (self.config_dir or self.path) / ".hydra" / name


@dataclass(frozen=True)
class Column:
    metric: str
    group: str | None = None  # e.g. the dataset of a method × dataset grid


@dataclass(frozen=True)
class Cell:
    value: float | None = None  # None with no note and not missing: not run (a row only the paper has)
    missing: bool = False  # no results at all (failed job), as opposed to an unavailable metric
    note: str | None = None  # footnote: why it is n/a / missing, or what a value averages
    published: float | None = None  # the paper's value of this cell (the sweep's report.published)
    std: float | None = None  # sample standard deviation of the runs a cell averages (e.g. seeds)
    count: int = 1  # runs whose values the cell averages


@dataclass
class Table:
    row_header: str
    columns: list[Column]
    rows: list[tuple[str, list[Cell]]]
    remarks: list[str] = field(default_factory=list)  # unnumbered lines under the table
    title: str | None = None  # e.g. the paper table it reproduces

    def notes(self) -> list[str]:
        """Distinct footnotes in order of first appearance; a cell's marker is its index + 1."""
        return list(dict.fromkeys(cell.note for _, cells in self.rows for cell in cells if cell.note))


# ---------------------------------------------------------------------------------------------- runs


def find_runs(directories: Sequence[Path], split: str | None = None) -> list[Run]:
    """Every run under the given directories, in order, failed jobs included; labels set.

    A run that also tested on other datasets (train.py `test_sets`, e.g. EII's cross-dataset Table 2)
    holds their results in test_sets/<name>/: each is a run of its own, with its parent's config.
    """
    runs = []
    for directory in directories:
        planned = planned_jobs(Path(directory))
        for job in _job_dirs(Path(directory), planned):
            if not job.is_dir():  # planned by the sweep, but the job never started (cancelled, pending)
                runs.append(Run(job, planned[int(job.name)], results=None, problem=NEVER_RAN))
                continue
            runs.append(_load_run(job, split))
            test_sets = job / TEST_SETS_DIR
            if test_sets.is_dir():
                for test_set in sorted(p for p in test_sets.iterdir() if p.is_dir()):
                    runs.append(_load_run(test_set, split, config_dir=job))
    _label_runs(runs)
    return runs


NEVER_RAN = "no job folder (the job never started: cancelled, still pending, or lost with its node)"


def planned_jobs(directory: Path) -> dict[int, list[str]]:
    """A multirun's jobs as its sweep planned them ({job number: overrides}), from multirun.yaml.

    Hydra's basic sweeper expands the sweep config's params, then the command line's overrides, in this
    order; SLURM jobs that never started leave no folder, and the report still shows their cells.
    """
    multirun_file = directory / "multirun.yaml"
    if not multirun_file.is_file():
        return {}
    config = OmegaConf.load(multirun_file)
    if not str(OmegaConf.select(config, "hydra.sweeper._target_")).endswith("BasicSweeper"):
        return {}  # another sweeper (e.g. an optimizer) plans its jobs as it goes
    return dict(enumerate(sweep_jobs(config)))


def _job_dirs(directory: Path, planned: dict[int, list[str]]) -> list[Path]:
    if (directory / RESULTS_FILE).is_file() or (directory / ".hydra").is_dir():
        return [directory]
    jobs = {int(path.name): path for path in directory.iterdir() if path.is_dir() and path.name.isdigit()}
    jobs.update({number: directory / str(number) for number in planned if number not in jobs})
    if not jobs:
        raise SystemExit(f"{directory}: neither a run directory nor a Hydra multirun (job folders 0/, 1/, …)")
    return [jobs[number] for number in sorted(jobs)]


def _load_run(path: Path, split: str | None, config_dir: Path | None = None) -> Run:
    run = Run(path, [], results=None, config_dir=config_dir)
    overrides_file = run.hydra_file("overrides.yaml")
    run.overrides = [str(o) for o in OmegaConf.load(overrides_file)] if overrides_file.is_file() else []
    if config_dir is not None:  # a test set of config_dir's run: tell it apart by its dataset
        run.overrides.append(f"dataset={path.name}")
    if not (path / RESULTS_FILE).is_file():
        run.problem = f"no {RESULTS_FILE} (the job failed or has not finished)"
        return run
    try:
        results = json.loads((path / RESULTS_FILE).read_text())
    except json.JSONDecodeError as err:
        run.problem = f"unreadable {RESULTS_FILE}: {err}"
        return run
    if split is not None and results.get("split") != split:
        run.problem = f"{RESULTS_FILE} is for split {results.get('split')!r}, not {split!r}"
        return run
    run.results = results
    return run


def _label_runs(runs: list[Run]) -> None:
    """Label each run by its overrides, dropping those every run shares; fall back to folder names."""
    common = set.intersection(*(set(run.overrides) for run in runs)) if runs else set()
    for run in runs:
        run.label = " ".join(o for o in run.overrides if o not in common) or run.path.name
    labels = [run.label for run in runs]
    for run in runs:
        if labels.count(run.label) > 1:
            run.label += f" ({run.path.parent.name}/{run.path.name})"


def run_value(run: Run, key: str) -> str | None:
    """A key's value in a run: its override, else Hydra's config-group choice, else its config, else a
    field of its metrics.json (e.g. `dataset`, the data a result was scored on). Several keys joined by
    commas give a combined value ("gatedconv mono")."""
    if "," in key:
        values = [run_value(run, part) for part in key.split(",")]
        return " ".join(value for value in values if value) or None
    for override in run.overrides:
        name, _, value = override.lstrip("+~").partition("=")
        if name == key:
            return value
    hydra_file, config_file = run.hydra_file("hydra.yaml"), run.hydra_file("config.yaml")
    if hydra_file.is_file():
        choice = OmegaConf.select(OmegaConf.load(hydra_file), f"hydra.runtime.choices.{key}")
        if choice is not None:
            return str(choice)
    if config_file.is_file():
        value = OmegaConf.select(OmegaConf.load(config_file), key, throw_on_resolution_failure=False)
        if value is not None:
            return str(value)
    if run.results is not None and run.results.get(key) is not None:
        return str(run.results[key])
    return None


def sweep_layout(runs: Sequence[Run]) -> dict | None:
    """The `report:` node a sweep config sets (sweeps/): the paper table's rows, column groups, metrics."""
    for run in runs:
        config_file = run.hydra_file("config.yaml")
        if config_file.is_file():
            layout = OmegaConf.select(
                OmegaConf.load(config_file), "report", throw_on_resolution_failure=False
            )
            if layout is not None:
                return OmegaConf.to_container(layout)
    return None


def metrics_present(runs: Sequence[Run]) -> list[str]:
    """Metrics any run has computed, in the canonical order."""
    found = {name for run in runs if run.results for name in run.results["overall"]}
    return [name for name in ALL_METRICS if name in found]


# ------------------------------------------------------------------------------------------ builders


def _cell(run: Run, metric: str) -> Cell:
    if run.results is None:
        return Cell(missing=True, note=run.problem)
    value = run.results["overall"].get(metric)
    if value is not None:
        return Cell(value)
    reason = run.results.get("unavailable", {}).get(metric)
    return Cell(note=reason or f"{METRIC_SPECS[metric].label} not computed")


def _note_once(cells: list[Cell]) -> list[Cell]:
    """A run without results gets one footnote, on its first cell, not one per metric."""
    if cells and all(cell.missing for cell in cells):
        return [cells[0], *(Cell(missing=True) for _ in cells[1:])]
    return cells


def runs_table(runs: Sequence[Run], metrics: Sequence[str]) -> Table:
    """A row per run, a column per metric; failed runs stay as rows marked missing."""
    rows = [(run.label, _note_once([_cell(run, metric) for metric in metrics])) for run in runs]
    return Table("run", [Column(metric) for metric in metrics], rows)


def _mean_cell(runs: list[Run], metric: str) -> Cell:
    cells = [_cell(run, metric) for run in runs]
    values = [cell.value for cell in cells if cell.value is not None]
    if not values:
        return cells[0] if cells else Cell(missing=True, note="no run")
    spread = {"std": statistics.stdev(values), "count": len(values)} if len(values) > 1 else {}
    if len(values) < len(cells):
        reason = next(cell.note for cell in cells if cell.value is None)
        note = f"mean of {len(values)} of {len(cells)} runs; {reason}"
        return Cell(statistics.fmean(values), note=note, **spread)
    return Cell(statistics.fmean(values), **spread)


def pivot_table(runs: Sequence[Run], rows_key: str, cols_key: str, metrics: Sequence[str]) -> Table:
    """Rows = values of `rows_key`, column groups = values of `cols_key`, the metrics inside each group.

    Runs that share a cell (e.g. seeds) are averaged: mean ± sample standard deviation (n runs).
    """
    keys = [(run_value(run, rows_key) or "?", run_value(run, cols_key) or "?") for run in runs]
    row_values = list(dict.fromkeys(row for row, _ in keys))
    col_values = list(dict.fromkeys(col for _, col in keys))
    groups = {(r, c): [] for r in row_values for c in col_values}
    for run, key in zip(runs, keys):
        groups[key].append(run)
    rows = [
        (r, [cell for c in col_values for cell in _note_once([_mean_cell(groups[r, c], m) for m in metrics])])
        for r in row_values
    ]
    table = Table(rows_key, [Column(m, group=c) for c in col_values for m in metrics], rows)
    if any(len(group) > 1 for group in groups.values()):
        most = max(len(group) for group in groups.values())
        table.remarks.append(
            f"Cells holding several runs (up to {most}, e.g. seeds): mean ± standard deviation (n runs)."
        )
    return table


def with_published(table: Table, published: dict, metrics: Sequence[str]) -> Table:
    """The paper's values beside a reproduction (a sweep's `report.published`: `caption`, and `values`:
    row label -> column group -> metric -> value, labels as the report's own). Each cell then reads "this
    run / paper (difference)"; the paper's rows and column groups that no run added are shown too, so a
    sweep not run yet, or methods the suite lacks, still show their published values."""
    values = published.get("values", {})
    groups = list(dict.fromkeys(column.group for column in table.columns))
    for row in values.values():
        for group in row:
            if group not in groups:
                groups.append(group)
                table.columns += [Column(metric, group=group) for metric in metrics]
    width = len(table.columns)
    rows = [(label, cells + [Cell()] * (width - len(cells))) for label, cells in table.rows]
    rows += [(label, [Cell()] * width) for label in values if label not in {label for label, _ in rows}]

    def paper(label: str, column: Column) -> float | None:
        value = values.get(label, {}).get(column.group, {}).get(column.metric)
        return None if value is None else float(value)

    table.rows = [
        (label, [replace(cell, published=paper(label, column)) for column, cell in zip(table.columns, cells)])
        for label, cells in rows
    ]
    caption = published.get("caption")
    table.remarks.append(
        "Cells with a published value: this run / paper (this run − paper); — not run."
        + (f" Paper: {caption}" if caption else "")
    )
    return table


# ----------------------------------------------------------------------------------------- renderers


def _cell_text(
    table_notes: list[str], column: Column, cell: Cell, plus_minus: str = "±"
) -> tuple[str, int | None]:
    if cell.missing:
        text = "missing"
    elif cell.value is None and cell.note is None:
        text = "—"
    else:
        text = format_value(column.metric, cell.value)
        if cell.count > 1:
            text += f" {plus_minus} {format_value(column.metric, cell.std)} (n={cell.count})"
    if cell.published is not None:
        text += f" / {format_value(column.metric, cell.published)}"
        if cell.value is not None:
            difference = cell.value - cell.published
            text += f" ({'+' if difference >= 0 else '−'}{format_value(column.metric, abs(difference))})"
    return text, (table_notes.index(cell.note) + 1 if cell.note else None)


def _header(column: Column) -> str:
    return f"{column.group} {column_title(column.metric)}" if column.group else column_title(column.metric)


def to_markdown(table: Table) -> str:
    notes = table.notes()
    lines = [f"**{table.title}**", ""] if table.title else []
    lines += [
        f"| {table.row_header} | " + " | ".join(_header(c) for c in table.columns) + " |",
        "|---|" + "---:|" * len(table.columns),
    ]
    for label, cells in table.rows:
        texts = []
        for column, cell in zip(table.columns, cells):
            text, mark = _cell_text(notes, column, cell)
            texts.append(text if mark is None else f"{text} [{mark}]")
        lines.append(f"| {label} | " + " | ".join(texts) + " |")
    footer = [f"[{i}] {note}" for i, note in enumerate(notes, 1)] + table.remarks
    return "\n".join(lines + ([""] + footer if footer else [])) + "\n"


def _not_run(cell: Cell) -> bool:
    return cell.value is None and cell.note is None and not cell.missing


def table_rows(table: Table) -> tuple[list[str], list[list]]:
    """The table as values: this run's at full precision; "n/a" (unavailable) and "missing" (no results) as
    text. A column whose cells average runs (e.g. seeds) gets `<column>_std` and `<column>_n` beside it.
    Rows and columns that only the paper has (with_published) are left out: the Markdown and LaTeX show
    them."""
    rows = [(label, cells) for label, cells in table.rows if not all(map(_not_run, cells))]
    keep = [i for i in range(len(table.columns)) if not all(_not_run(cells[i]) for _, cells in rows)]
    spread = {i for i in keep if any(cells[i].count > 1 for _, cells in rows)}
    header = [table.row_header]
    for i in keep:
        column = table.columns[i]
        name = f"{column.group}/{column.metric}" if column.group else column.metric
        header += [name, f"{name}_std", f"{name}_n"] if i in spread else [name]
    values = []
    for label, cells in rows:
        row = [label]
        for i in keep:
            cell = cells[i]
            row.append("missing" if cell.missing else "n/a" if cell.value is None else cell.value)
            if i in spread:
                row += [cell.std, cell.count if cell.value is not None else 0]
        values.append(row)
    return header, values


def to_csv(table: Table) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    header, rows = table_rows(table)
    writer.writerow(header)
    writer.writerows([["" if value is None else value for value in row] for row in rows])
    return out.getvalue()


_LATEX_SPECIAL = {c: "\\" + c for c in "&%$#_{}"} | {"~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}


def _latex_escape(text: str) -> str:
    return "".join(_LATEX_SPECIAL.get(c, c) for c in text.replace("\\", r"\textbackslash{}"))


def to_latex(table: Table) -> str:
    """A booktabs tabular; column groups become \\multicolumn headers with \\cmidrule underneath."""
    notes, width = table.notes(), len(table.columns) + 1
    arrows = {True: r"$\uparrow$", False: r"$\downarrow$"}
    lines = [rf"\begin{{tabular}}{{l{'r' * len(table.columns)}}}", r"\toprule"]
    groups = list(dict.fromkeys(c.group for c in table.columns))
    if groups != [None]:
        spans, rules, start = [], [], 2
        for group in groups:
            size = sum(c.group == group for c in table.columns)
            spans.append(rf"\multicolumn{{{size}}}{{c}}{{{_latex_escape(str(group))}}}")
            rules.append(rf"\cmidrule(lr){{{start}-{start + size - 1}}}")
            start += size
        lines += [" & " + " & ".join(spans) + r" \\", " ".join(rules)]
    specs = [METRIC_SPECS[c.metric] for c in table.columns]
    titles = [f"{spec.label} {arrows[spec.higher_is_better]}" for spec in specs]
    lines += [_latex_escape(table.row_header) + " & " + " & ".join(titles) + r" \\", r"\midrule"]
    for label, cells in table.rows:
        texts = []
        for column, cell in zip(table.columns, cells):
            text, mark = _cell_text(notes, column, cell, plus_minus=r"$\pm$")
            texts.append(text if mark is None else rf"{text}\textsuperscript{{{mark}}}")
        lines.append(_latex_escape(label) + " & " + " & ".join(texts) + r" \\")
    lines.append(r"\bottomrule")
    footer = [rf"\textsuperscript{{{i}}}{_latex_escape(n)}" for i, n in enumerate(notes, 1)]
    footer += [_latex_escape(remark) for remark in table.remarks]
    lines += [rf"\multicolumn{{{width}}}{{l}}{{\footnotesize {line}}} \\" for line in footer]
    lines.append(r"\end{tabular}")
    return "\n".join(lines) + "\n"


# -------------------------------------------------------------------------------------------- figure


def _example_indices(run: Run) -> set[str]:
    return {path.name.split("_")[0] for path in (run.path / "examples").glob("*_composite.png")}


def _read_png(path: Path) -> np.ndarray | None:
    if not path.is_file():
        return None
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"))


def _first(images: list[np.ndarray | None]) -> np.ndarray | None:
    """The input and the ground truth are the same in every run (same test masks): any run's will do."""
    return next((image for image in images if image is not None), None)


def comparison_figure(runs: Sequence[Run], out_path: Path, max_examples: int = 8) -> Path | None:
    """Rows = test images; columns = masked input | each run's composite | ground truth.

    None when no run has examples. Every cell is FIGURE_CELL_INCHES at FIGURE_DPI (200 px square), so the
    PNG's size is fixed by the numbers of rows and columns.
    """
    runs = [run for run in runs if _example_indices(run)]
    if not runs:
        return None
    from matplotlib.figure import Figure  # a second and a half of imports, for the figure alone

    indices = sorted(set.union(*(_example_indices(run) for run in runs)))[:max_examples]
    titles = ["masked input", *(run.label for run in runs), "ground truth"]
    fig = Figure(
        figsize=(FIGURE_CELL_INCHES * len(titles), FIGURE_CELL_INCHES * len(indices)), layout="constrained"
    )
    axes = fig.subplots(len(indices), len(titles), squeeze=False)
    mismatched: set[str] = set()
    for row, index in enumerate(indices):
        inputs, composites, targets = (
            [_read_png(run.path / "examples" / f"{index}_{kind}.png") for run in runs] for kind in KINDS
        )
        masked, target = _first(inputs), _first(targets)
        mismatched |= {
            r.label for r, t in zip(runs, targets) if t is not None and not np.array_equal(t, target)
        }
        for col, (ax, image) in enumerate(zip(axes[row], [masked, *composites, target])):
            ax.set_xticks([])
            ax.set_yticks([])
            if image is None:
                ax.text(0.5, 0.5, "missing", ha="center", va="center", transform=ax.transAxes)
            else:
                ax.imshow(image)
            if row == 0:
                ax.set_title("\n".join(textwrap.wrap(titles[col], 24)), fontsize=8)
        axes[row][0].set_ylabel(index, fontsize=8)
    if mismatched:
        warnings.warn(
            f"comparison figure: ground truth differs from the first run's in {sorted(mismatched)} "
            "(another dataset or split?); their columns do not show the same test images",
            stacklevel=2,
        )
    with atomic_path(out_path) as tmp:
        fig.savefig(tmp, format="png", dpi=FIGURE_DPI)
    return out_path


# ----------------------------------------------------------------------------------------------- cli


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("dirs", nargs="+", type=Path, help="Hydra multirun directories or single runs")
    parser.add_argument(
        "--out",
        type=Path,
        help="where to write report.{md,csv,tex} and comparison.png (default: the first directory); with a "
        "sweep file, where to write its report.md (default: printed only)",
    )
    parser.add_argument("--metrics", nargs="+", choices=ALL_METRICS, help="default: every metric any run has")
    parser.add_argument("--split", help="use only results of this split (e.g. test); others count as missing")
    parser.add_argument(
        "--rows", help="pivot: the key(s) whose values are the rows (e.g. model, or model,model.bottleneck)"
    )
    parser.add_argument("--cols", help="pivot: the key whose values are column groups (e.g. data)")
    parser.add_argument("--max-examples", type=int, default=8, help="rows of the comparison figure")
    parser.add_argument(
        "--paired",
        action="store_true",
        help="compare every run with the first image by image (per_image.csv) and write paired.md",
    )
    parser.add_argument(
        "--wandb",
        action="store_true",
        help="also log the table to W&B, in the sweep's group (<task>/<sweep folder>); offline without "
        "credentials or with WANDB_MODE=offline, into <out>/wandb/",
    )
    parser.add_argument(
        "--wandb-project", help="default: the runs' logger.wandb.project, else inpainting-suite"
    )
    parser.add_argument("--wandb-entity", help="default: the runs' logger.wandb.entity, else your default")
    args = parser.parse_args(argv)
    if (args.rows is None) != (args.cols is None):
        parser.error("--rows and --cols go together")
    if args.wandb and (args.paired or any(path.suffix == ".yaml" for path in args.dirs)):
        parser.error("--wandb logs the table of runs: not with --paired or a sweep file")
    return args


def paired_report(runs: Sequence[Run], metrics: Sequence[str], out: Path) -> str:
    """paired.md: every run with results against the first one, image by image."""
    scored = [run for run in runs if run.results is not None]
    if len(scored) < 2:
        raise SystemExit("--paired needs a reference run and at least one more run with results")
    reference, *others = scored
    baseline = read_per_image(reference.path)
    rows = [(run.label, paired_differences(baseline, read_per_image(run.path), metrics)) for run in others]
    markdown = paired_markdown(reference.label, rows)
    write_text(out / "paired.md", markdown)
    return markdown


def load_sweep(sweep_file: Path) -> DictConfig:
    """A sweep file (sweeps/experiment/) with what its defaults list brings into `report` and the sweep's
    params: the sweep it extends (`- deepgin_table2`) and the paper's values kept apart for the sweeps that
    share them (`- /published/<table>@report.published`)."""
    config = OmegaConf.load(sweep_file)
    merged = OmegaConf.create()
    for entry in config.get("defaults") or []:
        if not isinstance(entry, str) or entry == "_self_":
            continue
        name, _, package = entry.partition("@")
        if package == "report.published" and name.startswith("/published/"):
            values = OmegaConf.load(sweep_file.parents[1] / f"{name.lstrip('/')}.yaml")
            merged = OmegaConf.merge(merged, {"report": {"published": values}})
        elif "/" not in name and not package:  # another experiment: a sweep, or one of conf/experiment/
            for folder in (sweep_file.parent, sweep_file.parents[2] / "conf" / "experiment"):
                if (folder / f"{name}.yaml").is_file():
                    merged = OmegaConf.merge(merged, load_sweep(folder / f"{name}.yaml"))
                    break
    return OmegaConf.merge(merged, config)


def published_report(sweep_file: Path, out: Path | None) -> Table:
    """A sweep's paper table with the published values alone, before anything is run: printed, and written
    to `out`/report.md only when asked (the sweep file lives in the repository)."""
    layout = OmegaConf.to_container(load_sweep(sweep_file).get("report") or {})
    if not layout.get("published"):
        raise SystemExit(f"{sweep_file}: no report.published values to print")
    metrics = layout.get("metrics") or list(ALL_METRICS)
    table = Table(layout.get("row_header", layout.get("rows", "row")), [], [], title=layout.get("title"))
    table.remarks += list(layout.get("remarks", []))
    table = with_published(table, layout["published"], metrics)
    markdown = to_markdown(table)
    print(markdown)
    if out is not None:
        write_text(out / "report.md", markdown)
        print(f"Written to {out}: report.md")
    return table


def wandb_report(
    table: Table, runs: Sequence[Run], directory: Path, out: Path, project: str | None, entity: str | None
) -> None:
    """The table as a W&B run of its own (job type "report") in the sweep's group, the group the training
    runs share (conf/logger/wandb.yaml): <task>/<sweep folder>, or the task for a single run."""
    import wandb  # a few seconds of imports, only when asked

    from utils.wandb_credentials import wandb_has_credentials

    task = run_value(runs[0], "task_name") or "report"  # the sweep's runs share their W&B settings
    single = (directory / RESULTS_FILE).is_file() or (directory / ".hydra").is_dir()
    mode = None if "WANDB_MODE" in os.environ or wandb_has_credentials() else "offline"
    out.mkdir(parents=True, exist_ok=True)
    with wandb.init(
        project=project or run_value(runs[0], "logger.wandb.project") or "inpainting-suite",
        entity=entity or run_value(runs[0], "logger.wandb.entity"),
        group=task if single else f"{task}/{directory.name}",
        job_type="report",
        name=f"report {table.title or directory.name}",
        dir=out,
        mode=mode,
    ) as run:
        columns, rows = table_rows(table)
        # mixed: a metric column holds numbers and the "n/a" / "missing" of the printed table
        run.log({"report": wandb.Table(columns=columns, data=rows, allow_mixed_types=True)})
        if table.title:
            run.summary["title"] = table.title


def main(argv: Sequence[str] | None = None) -> Table | str:
    args = parse_args(argv)
    if all(path.suffix == ".yaml" for path in args.dirs):  # a sweep config: its published table alone
        return published_report(args.dirs[0], args.out)
    out = args.out or args.dirs[0]
    runs = find_runs(args.dirs, args.split)
    if args.paired:
        markdown = paired_report(runs, args.metrics or metrics_present(runs) or list(ALL_METRICS), out)
        print(markdown)
        print(f"Written to {out}: paired.md")
        return markdown
    layout = {"rows": args.rows, "cols": args.cols} if args.rows else sweep_layout(runs) or {}
    metrics = args.metrics or layout.get("metrics") or metrics_present(runs) or list(ALL_METRICS)
    if layout.get("rows"):
        table = pivot_table(runs, layout["rows"], layout["cols"], metrics)
        table.title = layout.get("title")
        table.row_header = layout.get("row_header", table.row_header)
        table.remarks += list(layout.get("remarks", []))
        if layout.get("published"):
            table = with_published(table, layout["published"], metrics)
    else:
        table = runs_table(runs, metrics)
    markdown = to_markdown(table)
    write_text(out / "report.md", markdown)
    write_text(out / "report.csv", to_csv(table))
    write_text(out / "report.tex", to_latex(table))
    figure = comparison_figure(runs, out / "comparison.png", args.max_examples)
    print(markdown)
    print(f"Written to {out}: report.md, report.csv, report.tex" + (", comparison.png" if figure else ""))
    if args.wandb:
        wandb_report(table, runs, args.dirs[0], out, args.wandb_project, args.wandb_entity)
    return table
