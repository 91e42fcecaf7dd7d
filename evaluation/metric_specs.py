"""What the tables need to know of each metric (label, direction, decimals), apart from the torch code that
computes them (evaluation/metrics.py), so that the report tool and the results files start without torch."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class MetricSpec:
    label: str
    higher_is_better: bool
    decimals: int  # for tables; files keep full precision


METRIC_SPECS: dict[str, MetricSpec] = {
    "psnr": MetricSpec("PSNR", True, 2),
    "ssim": MetricSpec("SSIM", True, 4),
    "l1": MetricSpec("L1", False, 4),
    # feature translation's Table 1 (§4.2), after Context Encoder's: the mean ℓ1 error over the hole's pixels
    "l1_hole": MetricSpec("L1 (hole)", False, 4),
    # the block-wise paper's Table 3 (§4.2): errors of values in [0, 1] summed over the whole image (every
    # pixel and channel), not averaged
    "l1_sum": MetricSpec("ℓ1 sum", False, 1),
    "l2_sum": MetricSpec("ℓ2 sum", False, 1),
    "lpips": MetricSpec("LPIPS", False, 4),
    "fid": MetricSpec("FID", False, 2),
}
ALL_METRICS = tuple(METRIC_SPECS)
