"""HiFill speed: Lightning training batches per second and inference images per second at 256², then
contextual residual aggregation (`inpaint_large`) of a 4096×4096 image: its time and peak memory.

    python benchmarks/hifill.py                                   # CPU, published widths, batch 1
    python benchmarks/hifill.py --device gpu --batch-size 4 --large-size 8192

A training batch is three WGAN-GP critic steps and one generator step (train.py). Training at --size
scales image_size and bottleneck_size together (sweeps/backbone/hifill.yaml: 256 and 32), keeping the
three refine levels. Residual aggregation runs first, in a fresh process: its peak memory is the
process's peak resident set (getrusage) after the call, with the peak before it (model built) beside it.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time

import torch
from training_speed import build_model, fixed_batch, inference_images_per_second, training_batches_per_second


def peak_rss_mib() -> float:
    """The process's peak resident set so far (ru_maxrss: KiB on Linux, bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10


def residual_aggregation(model: torch.nn.Module, size: int, device: torch.device) -> float:
    """Seconds of one `inpaint_large` call on a size² image with a hole over the central quarter."""
    image = torch.rand(1, 3, size, size, generator=torch.Generator().manual_seed(0)).to(device)
    mask = torch.zeros(1, 1, size, size, device=device)
    mask[..., size // 4 : 3 * size // 4, size // 4 : 3 * size // 4] = 1
    start = time.perf_counter()
    result = model.inpaint_large(image, mask)
    if device.type == "cuda":
        torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    assert torch.equal(result * (1 - mask), image * (1 - mask))
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--batch-size", type=int, default=1, help="training / inference batch (the code: 4)")
    parser.add_argument("--large-size", type=int, default=4096, help="side of the residual aggregation image")
    parser.add_argument("--batches", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=2, help="untimed batches first")
    parser.add_argument("--device", default="cpu", choices=["cpu", "gpu"])
    parser.add_argument("--precision", default="32-true")
    parser.add_argument("--threads", type=int, default=None, help="CPU threads (default: PyTorch's)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    device = torch.device("cuda" if args.device == "gpu" else "cpu")
    overrides = [
        f"model.generator.image_size={args.size}",
        f"model.generator.bottleneck_size={args.size // 8}",
    ]
    model = build_model(["model=hifill", *overrides]).to(device).eval()
    before = peak_rss_mib()
    seconds = residual_aggregation(model, args.large_size, device)
    peak = peak_rss_mib()
    if device.type == "cuda":
        peak_gpu = f", GPU peak {torch.cuda.max_memory_allocated() / 2**20:.0f} MiB"
    else:
        peak_gpu = ""
    print(
        f"HiFill residual aggregation {args.large_size}² on {args.device}: {seconds:.2f} s, "
        f"peak RSS {peak:.0f} MiB (model built: {before:.0f} MiB){peak_gpu}",
        flush=True,
    )
    batch = fixed_batch(args.size, args.batch_size)
    inference = inference_images_per_second(
        model, batch, args.batches, args.warmup, args.device, args.precision
    )
    training = training_batches_per_second(
        build_model(["model=hifill", *overrides]),
        fixed_batch(args.size, args.batch_size),
        args.batches,
        args.warmup,
        args.device,
        args.precision,
    )
    print(
        f"HiFill {args.size}² batch {args.batch_size} on {args.device} ({args.precision}): "
        f"training {training:.3f} batches/s ({1000 / training:.0f} ms: 3 critic steps + 1 G step), "
        f"inference {inference:.2f} images/s"
    )


if __name__ == "__main__":
    main()
