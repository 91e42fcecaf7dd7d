"""Runs compared image by image (their per_image.csv) against a reference run.

A difference of means over different hard images says little when two methods are scored on the same
images: the paired differences do. For each metric: the mean of (run − reference) over the images both
runs scored, its 95 % percentile bootstrap interval (scipy.stats.bootstrap, seeded: the same interval on
every call), and on how many images the run is better or worse.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from evaluation.metric_specs import METRIC_SPECS
from evaluation.results import PER_IMAGE_FILE

BOOTSTRAP_SAMPLES = 10_000
CONFIDENCE = 0.95


@dataclass(frozen=True)
class PairedDifference:
    metric: str
    count: int  # images both runs scored
    mean: float  # run − reference
    low: float  # percentile bootstrap interval of the mean
    high: float
    better: int  # images where the run is better than the reference (in the metric's direction)
    worse: int


def read_per_image(run_dir: Path) -> dict[int, dict[str, float]]:
    """{dataset index: {metric: value}} from a run's per_image.csv."""
    path = Path(run_dir) / PER_IMAGE_FILE
    if not path.is_file():
        raise SystemExit(
            f"{path} not found: a paired comparison needs the per-image results that evaluate.py and "
            "train.py's final test write; re-run the evaluation of this run"
        )
    with path.open() as file:
        return {
            int(row["index"]): {key: float(value) for key, value in row.items() if key != "index" and value}
            for row in csv.DictReader(file)
        }


def paired_differences(
    reference: dict[int, dict[str, float]],
    run: dict[int, dict[str, float]],
    metrics: Sequence[str],
    seed: int = 0,
) -> list[PairedDifference]:
    """One PairedDifference per metric both runs have, over the images both scored."""
    common = sorted(set(reference) & set(run))
    if not common:
        raise ValueError("the two runs share no image index: were they scored on the same split?")
    from scipy.stats import bootstrap  # half a second of imports, kept out of report.py's start

    differences = []
    for metric in metrics:
        if not all(metric in reference[i] and metric in run[i] for i in common):
            continue
        delta = np.array([run[i][metric] - reference[i][metric] for i in common])
        low = high = delta[0]  # one image: nothing to resample
        if len(delta) > 1:
            # every metric resamples the same images (one seed): its intervals are of the same draws
            interval = bootstrap(
                (delta,),
                np.mean,
                n_resamples=BOOTSTRAP_SAMPLES,
                confidence_level=CONFIDENCE,
                method="percentile",
                rng=np.random.default_rng(seed),
            ).confidence_interval
            low, high = interval.low, interval.high
        sign = 1 if METRIC_SPECS[metric].higher_is_better else -1
        differences.append(
            PairedDifference(
                metric,
                len(common),
                float(delta.mean()),
                float(low),
                float(high),
                better=int((sign * delta > 0).sum()),
                worse=int((sign * delta < 0).sum()),
            )
        )
    return differences


def paired_markdown(reference_label: str, rows: Sequence[tuple[str, list[PairedDifference]]]) -> str:
    """A table with one row per compared run and, per metric, the mean difference [interval] and the
    better / worse image counts."""
    metrics = list(dict.fromkeys(d.metric for _, differences in rows for d in differences))
    lines = [
        f"Paired differences against **{reference_label}** (run − reference, mean over the images both "
        f"scored, {CONFIDENCE:.0%} bootstrap interval; better / worse: images)",
        "",
        "| Run | Images | "
        + " | ".join(f"Δ {METRIC_SPECS[m].label} | better / worse" for m in metrics)
        + " |",
        "|---|---:|" + "---:|---:|" * len(metrics),
    ]
    for label, differences in rows:
        by_metric = {d.metric: d for d in differences}
        cells = []
        for metric in metrics:
            d = by_metric.get(metric)
            if d is None:
                cells += ["n/a", ""]
                continue
            decimals = METRIC_SPECS[metric].decimals
            cells += [
                f"{d.mean:+.{decimals}f} [{d.low:+.{decimals}f}, {d.high:+.{decimals}f}]",
                f"{d.better} / {d.worse}",
            ]
        count = differences[0].count if differences else 0
        lines.append(f"| {label} | {count} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
