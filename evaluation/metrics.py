"""Inpainting metrics on the composite, overall and per hole-ratio bucket, correct under DDP.

Per-image values (PSNR, SSIM, L1, LPIPS) are summed per bucket in torchmetrics `SumMetric`s, so every
rank's images count once when Lightning syncs them; overall values are the count-weighted mean of the
buckets. With `per_image_rows` the per-image values are also kept with the dataset index and hole ratio
(torchmetrics `CatMetric`s, gathered from every rank), for paired comparisons of methods image by image.
FID is a set statistic and is reported overall only. LPIPS and FID need pretrained weights: when a file
is missing the metric is reported unavailable with the reason, and the rest still runs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import Tensor, nn
from torchmetrics import Metric
from torchmetrics.aggregation import CatMetric, SumMetric
from torchmetrics.functional.image import peak_signal_noise_ratio, structural_similarity_index_measure

from evaluation.metric_specs import ALL_METRICS
from utils.pretrained import MissingWeightsError, fid_metric, lpips_metric

FAST_METRICS = ("psnr", "ssim", "l1")  # no pretrained network: cheap enough for every validation epoch
BUCKETS = tuple(f"{10 * k}-{10 * (k + 1)}%" for k in range(10))
# An identical image (an empty mask) has infinite PSNR; capping keeps one such image from making
# the mean infinite.
PSNR_CAP_DB = 100.0
FID_MIN_IMAGES = 2  # a covariance needs two samples


def hole_ratio_bucket(mask: Tensor) -> Tensor:
    """Bucket index 0..9 of each mask's hole ratio: [0, 10 %) -> 0, ..., [90 %, 100 %] -> 9.

    Counted in integers so that a ratio of exactly 10 % lands in "10-20%" whatever the image size.
    """
    holes = (mask > 0.5).flatten(1).sum(1)
    return torch.div(holes * 10, mask[0].numel(), rounding_mode="floor").clamp(max=len(BUCKETS) - 1)


class InpaintingMetrics(nn.Module):
    """`update(composite, image, mask)` per batch, then `compute()` for the results dict.

    `metrics` picks what to compute (FAST_METRICS for validation, ALL_METRICS for evaluation);
    `per_image_rows`: also return every image's values ("images" in `compute()`; update needs `index`).
    """

    def __init__(
        self,
        metrics: Sequence[str] = ALL_METRICS,
        lpips_net: str = "alex",
        fid_feature: int = 2048,
        per_image_rows: bool = False,
    ) -> None:
        super().__init__()
        unknown = sorted(set(metrics) - set(ALL_METRICS))
        if unknown:
            raise ValueError(f"unknown metrics {unknown}; known: {', '.join(ALL_METRICS)}")
        self.metrics = tuple(name for name in ALL_METRICS if name in metrics)
        self.unavailable: dict[str, str] = {}
        # A plain dict, not submodules: fixed pretrained networks are not model state, so they stay out
        # of checkpoints (no ~100 MB InceptionV3 in every .ckpt, and a checkpoint loads whether or not
        # this machine has the weights files), out of DDP's broadcast, and float32 (see _apply).
        self.networks: dict[str, Metric] = {}
        builders = {
            "lpips": lambda: lpips_metric(lpips_net, reduction="none"),
            "fid": lambda: fid_metric(fid_feature),
        }
        for name, build in builders.items():
            if name in self.metrics:
                try:
                    self.networks[name] = build()
                except MissingWeightsError as err:
                    self.unavailable[name] = err.reason
        self.per_image = tuple(name for name in self.metrics if name not in ("fid", *self.unavailable))
        self.sums = nn.ModuleDict(
            {
                name: nn.ModuleList(SumMetric(nan_strategy="disable") for _ in BUCKETS)
                for name in (*self.per_image, "count")
            }
        )
        self.rows = nn.ModuleDict(
            {name: CatMetric(nan_strategy="disable") for name in ("index", "hole_ratio", *self.per_image)}
            if per_image_rows
            else {}
        )

    def _apply(self, fn: Callable, recurse: bool = True) -> InpaintingMetrics:
        """Follow `.to()`/`.cuda()` with the networks too, moving device only."""
        super()._apply(fn, recurse)
        device = self.sums["count"][0].device  # where the sums have just been moved
        for metric in self.networks.values():
            metric.to(device)
        return self

    @torch.no_grad()
    def update(self, composite: Tensor, image: Tensor, mask: Tensor, index: Tensor | None = None) -> None:
        """Add a batch: composite = output·mask + image·(1−mask) and the ground truth `image`, both
        B×3×H×W in [0, 1], `mask` B×1×H×W (1 = missing), which picks each image's bucket, and the images'
        dataset indices (needed with per_image_rows)."""
        with torch.autocast(composite.device.type, enabled=False):  # metrics in float32 under bf16 runs
            # Clamped: a network may overshoot [0, 1], and FID's uint8 conversion would wrap around.
            composite = composite.float().clamp(0, 1)
            image = image.float()
            values = self._per_image_values(composite, image, mask)
            if "fid" in self.networks:
                self.networks["fid"].update(image, real=True)
                self.networks["fid"].update(composite, real=False)
        bucket = hole_ratio_bucket(mask)
        values["count"] = torch.ones_like(bucket, dtype=torch.float32)
        for name, per_image in values.items():
            sums = torch.zeros(len(BUCKETS), device=bucket.device).index_add_(0, bucket, per_image)
            for metric, value in zip(self.sums[name], sums):
                metric.update(value)
        if self.rows:
            if index is None:
                raise ValueError("per_image_rows needs the images' dataset indices: update(..., index=...)")
            values.pop("count")
            # CatMetric stores float32, which holds indices exactly below 2^24 images
            values["index"] = torch.as_tensor(index, device=bucket.device).reshape(-1).float()
            values["hole_ratio"] = (mask > 0.5).flatten(1).float().mean(1)
            for name, per_image in values.items():
                self.rows[name].update(per_image)

    def _per_image_values(self, composite: Tensor, image: Tensor, mask: Tensor) -> dict[str, Tensor]:
        values = {}
        if "psnr" in self.per_image:
            psnr = peak_signal_noise_ratio(composite, image, data_range=1.0, reduction="none", dim=(1, 2, 3))
            values["psnr"] = psnr.clamp(max=PSNR_CAP_DB)
        if "ssim" in self.per_image:
            values["ssim"] = structural_similarity_index_measure(
                composite, image, data_range=1.0, reduction="none"
            )
        if "l1" in self.per_image:
            values["l1"] = (composite - image).abs().mean(dim=(1, 2, 3))
        if "l1_hole" in self.per_image:
            hole = (mask > 0.5).to(composite.dtype)
            errors = ((composite - image).abs() * hole).sum(dim=(1, 2, 3))
            values["l1_hole"] = errors / (hole.sum(dim=(1, 2, 3)) * image.shape[1]).clamp_min(1)
        if "l1_sum" in self.per_image:
            values["l1_sum"] = (composite - image).abs().sum(dim=(1, 2, 3))
        if "l2_sum" in self.per_image:
            values["l2_sum"] = ((composite - image) ** 2).sum(dim=(1, 2, 3))
        if "lpips" in self.per_image:
            lpips = self.networks["lpips"]
            values["lpips"] = lpips(composite, image).reshape(-1)
            lpips.reset()  # the per-image values live in our sums, not in the metric's own list
        return values

    def reset(self) -> None:
        sums = (m for sums in self.sums.values() for m in sums)
        for metric in [*self.networks.values(), *sums, *self.rows.values()]:
            metric.reset()

    def compute(self) -> dict:
        """{"overall": {metric: value, "count": n}, "buckets": {label: {...}}, "unavailable": {...}}, and
        with per_image_rows "images": [{"index", "hole_ratio", metric: value, ...}] in dataset order.

        Buckets without images are left out; unavailable metrics are None, with their reason under
        "unavailable".
        """
        unavailable = dict(self.unavailable)
        if self.sums["count"][0].update_count == 0:
            counts, sums = [0] * len(BUCKETS), {}
        else:  # every rank calls compute on the same metrics in the same order (each one syncs)
            counts = [int(metric.compute()) for metric in self.sums["count"]]
            sums = {name: [float(metric.compute()) for metric in self.sums[name]] for name in self.per_image}
        total = sum(counts)

        overall: dict[str, float | int | None] = {}
        for name in self.metrics:
            if name in unavailable or (name != "fid" and total == 0):
                overall[name] = None
            elif name == "fid":
                if total < FID_MIN_IMAGES:
                    overall[name] = None
                    unavailable[name] = f"needs at least {FID_MIN_IMAGES} images, got {total}"
                else:
                    overall[name] = float(self.networks["fid"].compute())
            else:
                overall[name] = sum(sums[name]) / total
        overall["count"] = total

        buckets = {}
        for k, (label, count) in enumerate(zip(BUCKETS, counts)):
            if count:
                row = {name: sums[name][k] / count if name in sums else None for name in self.metrics}
                row.pop("fid", None)
                buckets[label] = {**row, "count": count}
        results = {"overall": overall, "buckets": buckets, "unavailable": unavailable}
        if self.rows:
            results["images"] = self._image_rows() if total else []
        return results

    def _image_rows(self) -> list[dict]:
        columns = {name: metric.compute().reshape(-1).tolist() for name, metric in self.rows.items()}
        rows = [dict(zip(columns, values)) for values in zip(*columns.values(), strict=True)]
        for row in rows:
            row["index"] = int(row["index"])
        return sorted(rows, key=lambda row: row["index"])
