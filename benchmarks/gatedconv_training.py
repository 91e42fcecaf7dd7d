"""GatedConv (DeepFill v2) training speed at 256²: full Lightning training steps (D then G) per second.

    python benchmarks/gatedconv_training.py                          # CPU, default width, batch 4
    python benchmarks/gatedconv_training.py --device gpu --precision bf16-mixed --batch-size 16

Batches come from memory (training_speed.py), so the figure is the model's speed alone; compare it with
benchmarks/data_loading.py (images/s = batches/s × batch size).
"""

from __future__ import annotations

import argparse

from hydra import compose, initialize_config_dir
from hydra.utils import instantiate
from training_speed import fixed_batch, training_batches_per_second

from utils.resolvers import REPO_ROOT


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--cnum", type=int, default=48, help="generator width (48: the paper's 4.05M)")
    parser.add_argument("--batches", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--device", default="cpu", choices=["cpu", "gpu"])
    parser.add_argument("--precision", default="32-true")
    args = parser.parse_args()

    with initialize_config_dir(config_dir=str(REPO_ROOT / "conf"), version_base="1.3"):
        cfg = compose("train", overrides=["model=gatedconv", f"model.generator.cnum={args.cnum}"])
    model = instantiate(cfg.model)
    batch = fixed_batch(args.size, args.batch_size)
    rate = training_batches_per_second(model, batch, args.batches, args.warmup, args.device, args.precision)
    print(
        f"GatedConv cnum={args.cnum} {args.size}² batch {args.batch_size} on {args.device} ({args.precision}): "
        f"{rate:.3f} steps/s, {rate * args.batch_size:.1f} images/s, {1000 / rate:.0f} ms/step"
    )


if __name__ == "__main__":
    main()
