"""GMCNN speed at 256²: Lightning training batches per second in each stage (pre-training: one G step on the
reconstruction losses; fine-tuning: 5 D steps, then a G step with ID-MRF and the adversarial terms), and
inference images per second through `inpaint`.

    python benchmarks/gmcnn.py                                      # CPU, published widths, batch 1
    python benchmarks/gmcnn.py --device cuda --precision bf16-mixed --batch-size 16

Batches come from memory (training_speed.py: a central 128² hole, the official crop for the local
discriminator), so the figures are the model's speed alone. VGG19 has random weights here (speed does not
depend on them, and no weights file is needed).
"""

from __future__ import annotations

import argparse

from training_speed import build_model, fixed_batch, inference_images_per_second, training_batches_per_second


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--size", type=int, default=256, help="image side (the discriminators are built for it)"
    )
    parser.add_argument("--batch-size", type=int, default=1, help="the official code: 16 (pre-training), 8")
    parser.add_argument("--cnum", type=int, default=32, help="generator width (32: the published 12.56M)")
    parser.add_argument("--bottleneck", default="rgb", choices=["rgb", "mono"])
    parser.add_argument("--batches", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=2, help="untimed batches first")
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--precision", default="32-true")
    args = parser.parse_args()

    overrides = [
        "model=gmcnn",
        f"model.generator.cnum={args.cnum}",
        f"model.bottleneck={args.bottleneck}",
        f"model.discriminator.image_size={args.size}",
        f"model.discriminator.local_size={args.size // 2}",
        "model.id_mrf.weights=random",
    ]
    batch = fixed_batch(args.size, args.batch_size)
    timing = (args.batches, args.warmup, args.device, args.precision)
    rates = {
        stage: training_batches_per_second(
            build_model([*overrides, f"model.pretrain_steps={steps}"]), batch, *timing
        )
        for stage, steps in (("pre-training", 10**9), ("fine-tuning", 0))
    }
    inference = inference_images_per_second(build_model(overrides), batch, *timing)
    print(
        f"GMCNN cnum={args.cnum} {args.bottleneck} {args.size}² batch {args.batch_size} on {args.device} "
        f"({args.precision}): "
        + ", ".join(
            f"{stage} {rate:.3f} steps/s ({1000 / rate:.0f} ms/batch)" for stage, rate in rates.items()
        )
        + f", inference {inference:.2f} images/s"
    )


if __name__ == "__main__":
    main()
