"""A run's results files: metrics.json (the source of truth), metrics.csv and metrics.md, written atomically,
and per_image.csv (every image's values, for paired comparisons of runs) when the results have them.

The report tool reads only metrics.json; the CSV and Markdown are for people and spreadsheets.
"""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path

from evaluation.metric_specs import ALL_METRICS, METRIC_SPECS
from utils.atomic import write_text

RESULTS_FILE = "metrics.json"
PER_IMAGE_FILE = "per_image.csv"
# results on other datasets than the run's own (train.py test_sets): <run>/test_sets/<name>/metrics.json
TEST_SETS_DIR = "test_sets"


def format_value(metric: str, value: float | None) -> str:
    """A value rounded for tables (PSNR 2 decimals, SSIM/LPIPS/L1 4, FID 2); None is "n/a"."""
    return "n/a" if value is None else f"{value:.{METRIC_SPECS[metric].decimals}f}"


def column_title(metric: str) -> str:
    spec = METRIC_SPECS[metric]
    return f"{spec.label} {'↑' if spec.higher_is_better else '↓'}"


def write_results(
    run_dir: str | os.PathLike,
    results: dict,
    *,
    method: str,
    dataset: str,
    mask: str,
    checkpoint: str | None,
    split: str,
    **extra: object,
) -> str:
    """Write `InpaintingMetrics.compute()` output with what identifies the run; returns the Markdown.

    `extra` holds more identifying fields (experiment, seed, ...), stored as given. num_images is the
    results' overall count, so it cannot disagree with them. Per-image rows ("images") go to
    per_image.csv only: a test set of 36,500 images would make metrics.json megabytes long.
    """
    results = dict(results)
    images = results.pop("images", None)
    clash = set(extra) & {"num_images", *results}
    if clash:
        raise ValueError(f"extra fields {sorted(clash)} would overwrite results")
    run_dir = Path(run_dir)
    record = {
        "method": method,
        "dataset": dataset,
        "mask": mask,
        "checkpoint": None if checkpoint is None else str(checkpoint),
        "split": split,
        **extra,
        "num_images": results["overall"]["count"],
        **results,
    }
    markdown = _markdown(record)
    write_text(run_dir / RESULTS_FILE, json.dumps(record, indent=2) + "\n")
    write_text(run_dir / "metrics.csv", _csv(record))
    write_text(run_dir / "metrics.md", markdown)
    if images:
        write_text(run_dir / PER_IMAGE_FILE, _per_image_csv(images))
    return markdown


def read_results(run_dir: str | os.PathLike) -> dict:
    return json.loads((Path(run_dir) / RESULTS_FILE).read_text())


def _metrics_of(record: dict) -> list[str]:
    return [name for name in ALL_METRICS if name in record["overall"]]


def _rows(record: dict) -> list[tuple[str, dict]]:
    return [("overall", record["overall"]), *record["buckets"].items()]


def results_rows(record: dict) -> tuple[list[str], list[list]]:
    """Column names and one row per mask-area bucket (overall first); None where a value is n/a."""
    metrics = _metrics_of(record)
    rows = [[label, row["count"], *(row.get(m) for m in metrics)] for label, row in _rows(record)]
    return ["bucket", "count", *metrics], rows


def _csv(record: dict) -> str:
    columns, rows = results_rows(record)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows([["" if value is None else value for value in row] for row in rows])
    return out.getvalue()


def _per_image_csv(images: list[dict]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(images[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(images)
    return out.getvalue()


def _markdown(record: dict) -> str:
    metrics = _metrics_of(record)
    lines = [
        f"**{record['method']}** on {record['dataset']} ({record['split']}), masks {record['mask']}, "
        f"{record['num_images']} images, checkpoint `{record['checkpoint']}`",
        "",
        "| Hole ratio | Images | " + " | ".join(column_title(m) for m in metrics) + " |",
        "|---|---:|" + "---:|" * len(metrics),
    ]
    for label, row in _rows(record):
        # FID exists overall only: an empty cell in bucket rows, "n/a" only where it is unavailable.
        cells = [format_value(m, row[m]) if m in row else "" for m in metrics]
        lines.append(f"| {label} | {row['count']} | " + " | ".join(cells) + " |")
    if record["unavailable"]:
        lines.append("")
        lines += [f"- {METRIC_SPECS[m].label} n/a: {reason}" for m, reason in record["unavailable"].items()]
    return "\n".join(lines) + "\n"
