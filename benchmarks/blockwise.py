"""Block-wise procedural training speed: Lightning training batches per second (a D step on three
PatchGAN scales, then a G step with the patch perceptual loss) for the generator head and for the grown
model (r1…r3 active), and inference images per second, at 256² and 512² (the paper's two sizes).

    python benchmarks/blockwise.py                                  # CPU, batch 1
    python benchmarks/blockwise.py --device gpu --precision bf16-mixed --batch-size 8

Batches come from memory (training_speed.py); LPIPS' AlexNet has random weights here (speed does not
depend on them, and no weights file is needed).
"""

from __future__ import annotations

import argparse

from training_speed import build_model, fixed_batch, inference_images_per_second, training_batches_per_second

from lightning_modules.blockwise.module import BlockwiseInpainting


def build(iteration: int) -> BlockwiseInpainting:
    """The model at `iteration` of Algorithm 1 (0: the head; past the head's 150,000: grown)."""
    model = build_model(["experiment=blockwise", "model.patch_perceptual.backbone_weights=random"])
    model.iteration.fill_(iteration)
    phase = model.phase()
    model.generator.grow(phase.blocks, phase.fade)  # what training's first batch would do; inference too
    return model


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[256, 512])
    parser.add_argument("--batch-size", type=int, default=1, help="the paper: 8")
    parser.add_argument("--batches", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=2, help="untimed batches first")
    parser.add_argument("--device", default="cpu", choices=["cpu", "gpu"])
    parser.add_argument("--precision", default="32-true")
    args = parser.parse_args()
    grown_from = 150_000 + 2 * 1_500 + 750  # inside r3's phase: every block active
    for size in args.sizes:
        batch = fixed_batch(size, args.batch_size)
        rates = {
            name: training_batches_per_second(
                build(iteration), batch, args.batches, args.warmup, args.device, args.precision
            )
            for name, iteration in (("head", 0), ("grown", grown_from))
        }
        inference = inference_images_per_second(
            build(grown_from), batch, args.batches, args.warmup, args.device, args.precision
        )
        print(
            f"block-wise {size}² batch {args.batch_size} on {args.device} ({args.precision}): training "
            f"head {rates['head']:.3f} batches/s, grown {rates['grown']:.3f} batches/s; "
            f"inference {inference:.2f} images/s"
        )


if __name__ == "__main__":
    main()
