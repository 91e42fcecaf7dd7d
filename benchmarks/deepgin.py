"""DeepGIN speed at 256²: Lightning training steps per second in the main stage (a G step on all losses,
then a D step) and in the warm-up (G on L1 only), and inference images per second.

    python benchmarks/deepgin.py                                    # CPU, full width 32, batch 1
    python benchmarks/deepgin.py --device gpu --precision bf16-mixed --batch-size 12
    python benchmarks/deepgin.py --profile 15                       # + the top ops of one main-stage step

Batches come from memory (training_speed.py), so the figures are the model's speed alone. VGG19 has random weights here
(speed does not depend on them, and no weights file is needed).
"""

from __future__ import annotations

import argparse

from training_speed import (
    build_model,
    fixed_batch,
    inference_images_per_second,
    profile_step,
    training_batches_per_second,
)

MAIN_STAGE = ["model.warmup_epochs=0", "model.constant_epochs=1", "model.decay_epochs=0"]


def training_rate(overrides: list[str], args: argparse.Namespace, warmup_stage: bool) -> float:
    """Batches per second in one stage (one epoch of it)."""
    stage = [f"model.warmup_epochs={int(warmup_stage)}", *MAIN_STAGE[1:]]
    return training_batches_per_second(
        build_model([*overrides, *stage]),
        fixed_batch(args.size, args.batch_size),
        args.batches,
        args.warmup,
        args.device,
        args.precision,
    )


def profile_main_stage_step(overrides: list[str], args: argparse.Namespace) -> str:
    """The `args.profile` ops with the most self time in one main-stage step, after `args.warmup` others."""
    model, batch = build_model([*overrides, *MAIN_STAGE]), fixed_batch(args.size, args.batch_size)
    return profile_step(model, batch, args.warmup, args.device, args.precision, args.profile)


def inference_rate(overrides: list[str], args: argparse.Namespace) -> float:
    batch = fixed_batch(args.size, args.batch_size)
    return inference_images_per_second(
        build_model(overrides), batch, args.batches, args.warmup, args.device, args.precision
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--batch-size", type=int, default=1, help="samples (the paper: 4 images × 3 masks)")
    parser.add_argument("--width", type=int, default=32, help="generator width (32: the paper's 42.930M)")
    parser.add_argument("--batches", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=2, help="untimed batches first")
    parser.add_argument("--device", default="cpu", choices=["cpu", "gpu"])
    parser.add_argument("--precision", default="32-true")
    parser.add_argument(
        "--profile", type=int, metavar="ROWS", help="also print one main-stage step's top ops"
    )
    args = parser.parse_args()

    overrides = ["model=deepgin", f"model.generator.width={args.width}", "model.perceptual.weights=random"]
    main_stage = training_rate(overrides, args, warmup_stage=False)
    warmup_stage = training_rate(overrides, args, warmup_stage=True)
    inference = inference_rate(overrides, args)
    print(
        f"DeepGIN width={args.width} {args.size}² batch {args.batch_size} on {args.device} ({args.precision}): "
        f"main stage {main_stage:.3f} steps/s ({1000 / main_stage:.0f} ms/step, G and D), "
        f"warm-up {warmup_stage:.3f} steps/s ({1000 / warmup_stage:.0f} ms/step, G on L1), "
        f"inference {inference:.2f} images/s"
    )
    if args.profile:
        print(profile_main_stage_step(overrides, args))


if __name__ == "__main__":
    main()
