"""Forward time of contextual attention at DeepFill v2's 256x256 setting: whole batch vs one sample at a time.

The refine network matches 64x64x96 features (1/4 of a 256 image) at rate 2. ContextualAttention takes
every sample under its own mask in one grouped convolution; the loop calls it once per sample, which is
what per-sample masks cost without batching (and how the official code and its ports run).

    python benchmarks/contextual_attention.py [--device cuda] [--batch 4]
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

import torch
from torch.utils.benchmark import Timer

from lightning_modules.common.contextual_attention import ContextualAttention


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--image-size", type=int, default=256)
    parser.add_argument("--channels", type=int, default=96)
    parser.add_argument("--backward", action="store_true", help="time forward + backward")
    args = parser.parse_args()

    torch.manual_seed(0)
    device = torch.device(args.device)
    size = args.image_size // 4
    features = torch.relu(torch.randn(args.batch, args.channels, size, size, device=device))
    features.requires_grad_(args.backward)
    mask = torch.zeros(args.batch, 1, args.image_size, args.image_size, device=device)
    for n in range(args.batch):  # a different box per sample
        top, left = (16 + 24 * n) % 128, (96 - 16 * n) % 160
        mask[n, :, top : top + 128, left : left + 96] = 1
    layer = ContextualAttention().to(device)

    def batched() -> torch.Tensor:
        return layer(features, features, mask)[0]

    def per_sample() -> torch.Tensor:
        samples = [layer(f, f, m)[0] for f, m in zip(features.split(1), mask.split(1))]
        return torch.cat(samples)

    def timed(run: Callable[[], torch.Tensor]) -> Callable[[], object]:
        return (lambda: run().sum().backward()) if args.backward else run

    deviation = (batched() - per_sample()).abs().max().item()
    print(
        f"contextual attention {'forward + backward' if args.backward else 'forward'}, "
        f"{args.batch}x{args.channels}x{size}x{size} features ({args.image_size}^2 images), {device}, "
        f"{torch.get_num_threads()} CPU threads, torch {torch.__version__}; "
        f"max |batched - loop| {deviation:.1e}"
    )
    with torch.set_grad_enabled(args.backward):
        for name, run in {"batched": batched, "per-sample loop": per_sample}.items():
            timing = Timer("run()", globals={"run": timed(run)}).blocked_autorange(min_run_time=3.0)
            best = min(timing.raw_times) / timing.number_per_run
            print(f"  {name:<16} median {timing.median * 1e3:8.2f} ms   best {best * 1e3:8.2f} ms")


if __name__ == "__main__":
    main()
