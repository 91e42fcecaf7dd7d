"""Multi-scale feature image translation at inference (§3.4): seconds to inpaint a batch of 512² images with
the paper's 224² centre hole (G1 at 128, then VGG19, patch-swap and G2 at 128, 256, 512), at the widths of
conf/model/feature_translation.yaml, and the share patch-swap takes at each scale. The paper: a batch of
16 in about 10 s on a GTX 1080Ti, most of it in patch-swap (§4.3).

    python benchmarks/feature_translation.py [--device cuda] [--batch-size 16]

Random weights (VGG19 included): speed does not depend on them, and no weights file is needed.
"""

from __future__ import annotations

import argparse
import time

import torch
from training_speed import build_model

import lightning_modules.feature_translation.module as translation
from lightning_modules.feature_translation.multiscale_inference import MultiScaleFeatureTranslation

SCALES = (128, 256, 512)


def stage(name: str, size: int) -> torch.nn.Module:
    overrides = [
        "model=feature_translation",
        f"model/feature_translation_stage={name}",
        f"model.generator.image_size={size}",
        "model.vgg_weights=random",
    ]
    return build_model(overrides).eval()


def synchronize(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--batch-size", type=int, default=1)
    args = parser.parse_args()
    model = MultiScaleFeatureTranslation.from_stages(
        stage("image2feature", SCALES[0]), [stage("feature2image", size) for size in SCALES]
    ).to(args.device)
    image = torch.rand(args.batch_size, 3, 512, 512, generator=torch.Generator().manual_seed(0)).to(
        args.device
    )
    mask = torch.zeros(args.batch_size, 1, 512, 512, device=args.device)
    mask[..., 144:368, 144:368] = 1  # §4.1: 224² at the centre of 512²
    swaps: list[tuple[int, float]] = []
    swap = translation.patch_swap

    def timed_swap(features: torch.Tensor, *rest, **options) -> torch.Tensor:
        synchronize(args.device)
        start = time.perf_counter()
        result = swap(features, *rest, **options)
        synchronize(args.device)
        swaps.append((features.shape[-1], time.perf_counter() - start))
        return result

    with torch.no_grad():
        model.inpaint(image, mask)  # warm-up
        translation.patch_swap = timed_swap
        synchronize(args.device)
        start = time.perf_counter()
        model.inpaint(image, mask)
        synchronize(args.device)
        total = time.perf_counter() - start
    per_side: dict[int, float] = {}
    for side, seconds in swaps:  # one call per image and scale
        per_side[side] = per_side.get(side, 0.0) + seconds
    share = ", ".join(f"{side}² maps {seconds:.2f} s" for side, seconds in sorted(per_side.items()))
    print(
        f"feature translation, batch {args.batch_size} of 512² with a 224² hole on {args.device}: "
        f"{total:.2f} s ({total / args.batch_size:.2f} s per image); patch-swap: {share}"
    )


if __name__ == "__main__":
    main()
