"""EdgeConnect speed at 256²: Lightning training steps per second per stage (edge: G1 and D1; inpaint: G2
and D2 with VGG19 losses; joint: all four networks) and inference images per second (Canny, G1, G2).

    python benchmarks/edgeconnect.py                                          # CPU, published widths, batch 1
    python benchmarks/edgeconnect.py --device cuda --precision bf16-mixed --batch-size 8

Batches come from memory (training_speed.py), so the figures are the model's speed alone. VGG19 has random
weights here (speed does not depend on them, and no weights file is needed).
"""

from __future__ import annotations

import argparse

from training_speed import build_model, fixed_batch, inference_images_per_second, training_batches_per_second


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--batch-size", type=int, default=1, help="config.yml.example BATCH_SIZE: 8")
    parser.add_argument("--cnum", type=int, default=64, help="generator width (64: the published 10.8M each)")
    parser.add_argument("--bottleneck", default="rgb", choices=["rgb", "mono"])
    parser.add_argument("--stages", default="edge,inpaint,joint", help="comma-separated model.stage values")
    parser.add_argument("--batches", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=1, help="untimed batches first")
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda", "gpu"])
    parser.add_argument("--precision", default="32-true")
    args = parser.parse_args()
    accelerator = "gpu" if args.device in ("cuda", "gpu") else "cpu"

    overrides = [
        "model=edgeconnect",
        f"model.bottleneck={args.bottleneck}",
        f"model.generator.cnum={args.cnum}",
        f"model.edge_generator.cnum={args.cnum}",
        "model.perceptual.weights=random",
    ]
    setting = f"EdgeConnect cnum={args.cnum} {args.bottleneck} {args.size}² batch {args.batch_size} on {args.device} ({args.precision})"
    for stage in args.stages.split(","):
        model = build_model([*overrides, f"model.stage={stage}"])
        batch = fixed_batch(args.size, args.batch_size)
        rate = training_batches_per_second(
            model, batch, args.batches, args.warmup, accelerator, args.precision
        )
        print(f"{setting}: stage {stage} {rate:.3f} steps/s ({1000 / rate:.0f} ms per batch)", flush=True)
    batch = fixed_batch(args.size, args.batch_size)
    rate = inference_images_per_second(
        build_model(overrides), batch, args.batches, args.warmup, accelerator, args.precision
    )
    print(f"{setting}: inference {rate:.2f} images/s ({1000 / rate:.0f} ms per image)")


if __name__ == "__main__":
    main()
