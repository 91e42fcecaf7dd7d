"""Multi-scale feature image translation at inference (§3.4): seconds to inpaint a batch of 512² images with
the paper's 224² centre hole (G1 at 128, then VGG19, patch-swap and G2 at 128, 256, 512), at the widths of
conf/model/feature_translation.yaml, and the share patch-swap takes at each scale. The paper: a batch of
16 in about 10 s on a GTX 1080Ti, most of it in patch-swap (§4.3). Then the training speed of each network
at 256² (Lightning batches per second: a D and a G step).

    python benchmarks/feature_translation.py [--device cuda] [--batch-size 16] [--precision bf16-mixed]

Random weights (VGG19 included): speed does not depend on them, and no weights file is needed.
"""

from __future__ import annotations

import argparse
import time

import torch
from training_speed import build_model, fixed_batch, training_batches_per_second

import lightning_modules.feature_translation.module as translation
from lightning_modules.feature_translation.multiscale_inference import MultiScaleFeatureTranslation

SCALES = (128, 256, 512)


def stage(name: str, size: int, channels: int = 64) -> torch.nn.Module:
    overrides = [
        "model=feature_translation",
        f"model/feature_translation_stage={name}",
        f"model.generator.image_size={size}",
        f"model.generator.channels={channels}",
        f"model.generator.max_channels={channels * 8}",
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
    parser.add_argument("--scales", type=int, nargs="+", default=list(SCALES), help="G1 at the first")
    parser.add_argument("--channels", type=int, default=64, help="U-Net width (64: the suite's default)")
    parser.add_argument("--train-size", type=int, default=256)
    parser.add_argument("--batches", type=int, default=5, help="timed training batches")
    parser.add_argument("--warmup", type=int, default=2, help="untimed training batches first")
    parser.add_argument("--precision", default="32-true", help="training precision")
    args = parser.parse_args()
    scales = sorted(args.scales)
    model = MultiScaleFeatureTranslation.from_stages(
        stage("image2feature", scales[0], args.channels),
        [stage("feature2image", size, args.channels) for size in scales],
    ).to(args.device)
    side = scales[-1]
    image = torch.rand(args.batch_size, 3, side, side, generator=torch.Generator().manual_seed(0)).to(
        args.device
    )
    mask = torch.zeros(args.batch_size, 1, side, side, device=args.device)
    hole = round(side * 0.4375)  # §4.1: 224² at the centre of 512²
    start = (side - hole) // 2
    mask[..., start : start + hole, start : start + hole] = 1
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
    for map_side, seconds in swaps:  # one call per image and scale
        per_side[map_side] = per_side.get(map_side, 0.0) + seconds
    share = ", ".join(f"{m}² maps {seconds:.2f} s" for m, seconds in sorted(per_side.items()))
    print(
        f"feature translation, batch {args.batch_size} of {side}² with a {hole}² hole on {args.device}: "
        f"{total:.2f} s ({total / args.batch_size:.2f} s per image); patch-swap: {share}"
    )
    accelerator = "gpu" if args.device == "cuda" else "cpu"
    batch = fixed_batch(args.train_size, args.batch_size)
    for name in ("image2feature", "feature2image"):
        rate = training_batches_per_second(
            stage(name, args.train_size, args.channels).train(),
            batch,
            args.batches,
            args.warmup,
            accelerator,
            args.precision,
        )
        print(
            f"{name} training at {args.train_size}², batch {args.batch_size}, {args.precision}: "
            f"{rate:.2f} batches/s ({rate * args.batch_size:.1f} images/s)"
        )


if __name__ == "__main__":
    main()
