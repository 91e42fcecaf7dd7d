"""Multi-scale inference of feature image translation (Song et al. 2018, §3.4, Fig. 4) as one InpaintingModule,
so evaluate.py / predict.py run it like any method.

G_1 runs only at the smallest scale s_0; at each G_2 scale s_i the previous scale's output is upsampled,
its known pixels replaced by the input's at s_i (the "high-resolution boundary" patch-swap copies from,
§3.2), then VGG19 → patch-swap → G_2; each scale's output is colour-aligned with the input over the
boundary (color_alignment.py) and composited with the known pixels. A hole of any shape and place is
bounded by a square window (§3.1, "cropping or padding") in which it takes the training share of the
side, hole_fraction; the window is resized to each scale and the result pasted back.

Join trained stages into one checkpoint for evaluate.py / predict.py (§4.1: G_1 at 128, G_2 at 128, 256,
512): the jobs of an experiment=feature_translation_stages sweep (their last.ckpt), or checkpoints named
one by one:
    python -m lightning_modules.feature_translation.multiscale_inference --multirun <sweep dir>
    python -m lightning_modules.feature_translation.multiscale_inference --image2feature <G_1 ckpt> \
        --feature2image <G_2@128 ckpt> <G_2@256 ckpt> <G_2@512 ckpt> --out multiscale.ckpt
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from lightning_modules.base import (
    TEST_METRICS,
    VAL_METRICS,
    InpaintingModule,
    composite,
    load_inpainting_module,
)
from lightning_modules.feature_translation.color_alignment import align_colors
from lightning_modules.feature_translation.image2feature import hole_box
from lightning_modules.feature_translation.module import (
    Feature2ImageInpainting,
    Image2FeatureInpainting,
    resized,
)
from lightning_modules.feature_translation.patch_swap import feature_hole


def inference_hparams(hparams: dict[str, Any]) -> dict[str, Any]:
    """A stage's hyper-parameters without what only its training reads (G_2's training input)."""
    if "input" not in hparams:
        return dict(hparams)
    return {**hparams, "input": "ground_truth", "image2feature_ckpt": None, "init_from": None}


class MultiScaleFeatureTranslation(InpaintingModule):
    """image2feature / feature2image: the stages' hyper-parameters (their checkpoints' `hyper_parameters`),
    G_2 in any order (run from the smallest scale up). hole_fraction: the hole's share of its window's side
    (§4.1: 224 / 512). color_band: the boundary band of the colour alignment in pixels at each scale
    (suite choice; null: no alignment). iterations: G_2 passes per scale (§4.3's iterative inference: the
    output goes through VGG, patch-swap and G_2 again; 1 is the paper's single pass)."""

    method = "feature_translation"  # evaluate.py's row label for a joined checkpoint

    def __init__(
        self,
        image2feature: dict[str, Any],
        feature2image: Sequence[dict[str, Any]],
        hole_fraction: float = 0.4375,
        color_band: int | None = 8,
        iterations: int = 1,
        bottleneck: str = "rgb",
        colorization: dict | None = None,
        val_metrics: Sequence[str] = VAL_METRICS,
        test_metrics: Sequence[str] = TEST_METRICS,
    ):
        super().__init__(bottleneck, colorization, val_metrics, test_metrics)
        self.save_hyperparameters(logger=False)  # for the checkpoint; loggers get the run's config once
        if not 0 < hole_fraction <= 1:
            raise ValueError(f"hole_fraction must be in (0, 1], got {hole_fraction}")
        if iterations < 1:
            raise ValueError(
                f"iterations (Feature2Image passes per scale) must be at least 1, got {iterations}"
            )
        if not feature2image:
            raise ValueError("multi-scale inference needs at least one Feature2Image network")
        stages = [image2feature, *feature2image]
        if any(stage.get("bottleneck", "rgb") != bottleneck for stage in stages):
            raise ValueError(f"every stage must use model.bottleneck={bottleneck}")
        self.image2feature = Image2FeatureInpainting(**inference_hparams(image2feature))
        networks = [Feature2ImageInpainting(**inference_hparams(stage)) for stage in feature2image]
        self.feature2image = nn.ModuleList(sorted(networks, key=lambda stage: stage.generator.image_size))
        sizes = [stage.generator.image_size for stage in self.feature2image]
        if len(set(sizes)) != len(sizes):
            raise ValueError(f"one Feature2Image network per scale, got scales {sizes}")

    @classmethod
    def from_stages(
        cls,
        image2feature: Image2FeatureInpainting,
        feature2image: Sequence[Feature2ImageInpainting],
        **options: Any,
    ) -> MultiScaleFeatureTranslation:
        """The inference model of trained stage modules (their weights copied)."""
        hp = image2feature.hparams
        model = cls(
            dict(hp),
            [dict(stage.hparams) for stage in feature2image],
            bottleneck=hp.bottleneck,
            colorization=hp.colorization,
            test_metrics=hp.test_metrics,
            **options,
        )
        model.image2feature.load_state_dict(image2feature.state_dict())
        by_size = sorted(feature2image, key=lambda stage: stage.generator.image_size)
        for target, source in zip(model.feature2image, by_size):
            target.load_state_dict(source.state_dict())
        return model.eval()

    def save(self, path: str | Path) -> None:
        """A checkpoint that `load_inpainting_module` (evaluate.py, predict.py) rebuilds this model from."""
        torch.save(
            {
                "state_dict": self.state_dict(),
                "hyper_parameters": dict(self.hparams),
                "inpainting_module": f"{type(self).__module__}.{type(self).__qualname__}",
                "pytorch-lightning_version": pl.__version__,
            },
            path,
        )

    def training_step(self, batch: dict[str, Any], batch_idx: int) -> None:
        raise RuntimeError(
            "the multi-scale model only infers: train its stages (conf/model/feature_translation.yaml)"
        )

    def forward(self, image: Tensor, mask: Tensor) -> Tensor:
        return torch.cat([self.inpaint_one(one[None], hole[None]) for one, hole in zip(image, mask)])

    def style_transfer(self) -> Callable[..., Tensor]:
        """predict.py's style= (style_transfer.py's transfer_style with the largest scale's G_2)."""
        # style_transfer.py imports this module: imported when the hook is called
        from lightning_modules.feature_translation.style_transfer import transfer_style

        return partial(transfer_style, self)

    def inpaint_one(self, image: Tensor, mask: Tensor) -> Tensor:
        """One 1×3×H×W image: its hole's square window through the scales, pasted back."""
        target = self.bottleneck.target(image)
        if not bool(mask.any()):
            return target
        top, bottom, left, right = hole_box(mask[0])
        side = math.ceil(max(bottom - top, right - left) / self.hparams.hole_fraction)
        top, left = (top + bottom - side) // 2, (left + right - side) // 2
        height, width = image.shape[-2:]
        # padding where the window leaves the image: replicated pixels, known
        pads = (max(0, -left), max(0, left + side - width), max(0, -top), max(0, top + side - height))
        crop = (slice(top + pads[2], top + pads[2] + side), slice(left + pads[0], left + pads[0] + side))
        window = F.pad(image, pads, mode="replicate")[..., crop[0], crop[1]]
        window_mask = F.pad(mask, pads)[..., crop[0], crop[1]]
        output = F.interpolate(self.multiscale(window, window_mask), size=(side, side), mode="bilinear")
        result = target.clone()
        inside = (slice(max(top, 0), min(top + side, height)), slice(max(left, 0), min(left + side, width)))
        result[..., inside[0], inside[1]] = output[
            ..., inside[0].start - top : inside[0].stop - top, inside[1].start - left : inside[1].stop - left
        ]
        return composite(result, target, mask)

    def multiscale(self, window: Tensor, mask: Tensor) -> Tensor:
        """§3.4 on a square window: I_1 from G_1 at s_0, then VGG → patch-swap → G_2 at every scale."""
        size = self.image2feature.generator.image_size
        current = self.image2feature(resized(window, size), feature_hole(mask, (size, size)))
        for stage in self.feature2image:
            size = stage.generator.image_size
            image, hole = resized(window, size), feature_hole(mask, (size, size))
            known = self.bottleneck.target(image)
            upsampled = F.interpolate(current, size=(size, size), mode="bilinear", align_corners=False)
            current = composite(upsampled, known, hole)  # I_1^{s_i}
            for _ in range(self.hparams.iterations):
                output = stage.translate(stage.swapped(current * 2 - 1, hole))
                if self.hparams.color_band:
                    output = align_colors(output, known, hole, self.hparams.color_band)
                current = composite(output, known, hole)
        return current


def sweep_stages(sweep: Path) -> tuple[Image2FeatureInpainting, list[Feature2ImageInpainting]]:
    """G_1 and the G_2 of every scale from the jobs of a sweep folder (<job>/checkpoints/last.ckpt)."""
    paths = sorted(sweep.glob("*/checkpoints/last.ckpt"))
    stages = [load_inpainting_module(path) for path in paths]
    image2feature = [s for s in stages if isinstance(s, Image2FeatureInpainting)]
    feature2image = [s for s in stages if isinstance(s, Feature2ImageInpainting)]
    if len(image2feature) != 1 or not feature2image:
        found = ", ".join(f"{path.parents[1].name}: {type(s).__name__}" for path, s in zip(paths, stages))
        raise SystemExit(
            f"{sweep} must hold one Image2Feature job and Feature2Image jobs, each with checkpoints/last.ckpt "
            f"(an experiment=feature_translation_stages sweep); found {found or 'no checkpoint'}"
        )
    return image2feature[0], feature2image


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    stages = parser.add_mutually_exclusive_group(required=True)
    stages.add_argument("--multirun", type=Path, help="a feature_translation_stages sweep folder")
    stages.add_argument("--image2feature", help="G_1's checkpoint")
    parser.add_argument("--feature2image", nargs="+", help="G_2's checkpoints, one per scale")
    parser.add_argument(
        "--out", type=Path, help="the joined checkpoint (default: <multirun>/multiscale.ckpt)"
    )
    parser.add_argument("--hole-fraction", type=float, default=0.4375)
    parser.add_argument("--color-band", type=int, default=8, help="0: no colour alignment")
    parser.add_argument("--iterations", type=int, default=1, help="G_2 passes per scale (§4.3)")
    args = parser.parse_args(argv)
    if args.multirun is None and (not args.feature2image or args.out is None):
        parser.error("--image2feature needs --feature2image and --out")
    # Run with `python -m`, this file is __main__: the checkpoint must name the importable class.
    from lightning_modules.feature_translation import multiscale_inference

    if args.multirun is not None:
        image2feature, feature2image = multiscale_inference.sweep_stages(args.multirun)
    else:
        image2feature = load_inpainting_module(args.image2feature)
        feature2image = [load_inpainting_module(path) for path in args.feature2image]
    model = multiscale_inference.MultiScaleFeatureTranslation.from_stages(
        image2feature,
        feature2image,
        hole_fraction=args.hole_fraction,
        color_band=args.color_band or None,
        iterations=args.iterations,
    )
    args.out = args.out or args.multirun / "multiscale.ckpt"
    model.save(args.out)
    print(
        f"wrote {args.out}: G_1 at {model.image2feature.generator.image_size}, G_2 at "
        f"{[stage.generator.image_size for stage in model.feature2image]}"
    )


if __name__ == "__main__":
    main()
