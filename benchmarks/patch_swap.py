"""Patch-swap speed (feature-translation paper §3.3.2) on a 64×64×256 map (relu3_1 of a 256² image) with
the paper's centre hole (224 of 512 px → 28 of 64 positions), against three other computations of the same
swap on the same features, in the same run:
- convolution style-swap (Chen & Schmidt 2016, the paper's ref. [7], which §3.3.2 follows): the normalized
  known patches as the filters of one convolution over the whole map, the argmax over its channels as a
  one-hot volume, a transposed convolution with the patches as weights to paste, divided by the overlap
  counts; one image at a time (each has its own filters);
- per location: each hole location in turn scores its patch against every known patch (one matrix-vector
  product, already vectorized over the candidates), then pastes its winner;
- per pair: the definition as written (the tests' reference), one normalized cross-correlation per
  (hole patch, known patch) pair, on CPU; timed on the first `--pair-sample` locations of the first image
  and scaled to all locations of the batch (the loop over all of them takes minutes).
Each time is the median of `--repeats` runs; each ratio is that median over the layer's. The convolution
style-swap is the baseline the layer's speed-up should be read against. The paper reports about 0.1 s per
64×64×256 map on its 2017 GPU.

    python benchmarks/patch_swap.py [--device cuda] [--batch 1 16] [--repeats 3]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
import torch.nn.functional as F

from lightning_modules.feature_translation.patch_swap import PATCH, patch_swap


def direct_patch_swap(features: torch.Tensor, hole: torch.Tensor) -> torch.Tensor:
    """One hole location at a time (the reference the layer replaces)."""
    out = features.clone()
    for b in range(features.shape[0]):
        f, h = features[b], hole[b : b + 1]
        channels, height, width = f.shape
        known = (F.max_pool2d(h, PATCH, stride=1)[0, 0] == 0).flatten()
        candidates = F.unfold(f[None], PATCH)[0].T[known]
        norms = candidates.norm(dim=1)
        padded = F.pad(f, (1, 1, 1, 1))
        total = torch.zeros_like(padded)
        count = torch.zeros_like(padded[:1])
        swapped = F.max_pool2d(h, PATCH, stride=1, padding=1)[0, 0] > 0
        for i, j in swapped.nonzero().tolist():
            patch = padded[:, i : i + PATCH, j : j + PATCH].flatten()
            best = candidates[int(((candidates @ patch) / norms).argmax())]
            total[:, i : i + PATCH, j : j + PATCH] += best.view(channels, PATCH, PATCH)
            count[:, i : i + PATCH, j : j + PATCH] += 1
        filled = (total / count.clamp_min(1))[:, 1:-1, 1:-1]
        out[b] = torch.where(h[0].bool(), filled, f)
    return out


def convolution_style_swap(features: torch.Tensor, hole: torch.Tensor) -> torch.Tensor:
    """Chen & Schmidt's style swap applied to the hole: search and paste as (transposed) convolutions."""
    out = features.clone()
    for b in range(features.shape[0]):
        f, h = features[b : b + 1], hole[b : b + 1]
        channels = f.shape[1]
        known = (F.max_pool2d(h, PATCH, stride=1)[0, 0] == 0).flatten()
        patches = F.unfold(f, PATCH)[0].T[known].view(-1, channels, PATCH, PATCH)
        filters = patches / patches.flatten(1).norm(dim=1).view(-1, 1, 1, 1)
        scores = F.conv2d(f, filters, padding=1)
        swapped = (F.max_pool2d(h, PATCH, stride=1, padding=1) > 0).to(f.dtype)
        one_hot = torch.zeros_like(scores).scatter_(1, scores.argmax(dim=1, keepdim=True), 1) * swapped
        total = F.conv_transpose2d(one_hot, patches, padding=1)
        count = F.conv_transpose2d(swapped, torch.ones_like(filters[:1, :1]), padding=1)
        out[b] = torch.where(h[0].bool(), total[0] / count[0].clamp_min(1), f[0])
    return out


def per_pair_seconds(features: torch.Tensor, hole: torch.Tensor, sample: int) -> float:
    """Seconds of the per-pair search for all hole locations of the batch, from `sample` of them."""
    f, h = features[0], hole[:1]
    channels = f.shape[0]
    known = (F.max_pool2d(h, PATCH, stride=1)[0, 0] == 0).flatten()
    candidates = [c.view(channels, PATCH, PATCH) for c in F.unfold(f[None], PATCH)[0].T[known]]
    padded = F.pad(f, (1, 1, 1, 1))
    locations = (F.max_pool2d(h, PATCH, stride=1, padding=1)[0, 0] > 0).nonzero().tolist()
    start = time.perf_counter()
    for i, j in locations[:sample]:
        p = padded[:, i : i + PATCH, j : j + PATCH]
        scores = [float((p * q).sum() / (p.norm() * q.norm())) for q in candidates]
        max(range(len(scores)), key=scores.__getitem__)
    per_location = (time.perf_counter() - start) / min(sample, len(locations))
    return per_location * len(locations) * features.shape[0]


def timed(function, *args, device: str) -> tuple[float, torch.Tensor]:
    if device == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    result = function(*args)
    if device == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - start, result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument(
        "--batch", type=int, nargs="+", help="batch sizes (default: 1 16 on CUDA, 1 2 on CPU, under a minute)"
    )
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--channels", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=3, help="runs of each computation; times are medians")
    parser.add_argument("--pair-sample", type=int, default=10, help="hole locations timed per pair")
    args = parser.parse_args()
    batches = args.batch or ([1, 16] if args.device == "cuda" else [1, 2])
    size, side = args.size, round(args.size * 224 / 512)
    print(
        f"patch-swap on {args.channels}×{size}×{size} features, {side}×{side} centre hole, {args.device}; "
        f"medians of {args.repeats} runs, ratios = median / the layer's median"
    )
    print(
        "batch  layer (s)  conv style-swap (s)  ratio  per location (s)  ratio  per pair (s, scaled)  ratio  "
        "max |difference|"
    )
    for batch in batches:
        generator = torch.Generator().manual_seed(0)
        features = torch.randn(batch, args.channels, size, size, generator=generator).to(args.device)
        hole = torch.zeros(batch, 1, size, size, device=args.device)
        top = (size - side) // 2
        hole[..., top : top + side, top : top + side] = 1
        for warm_up in (patch_swap, convolution_style_swap):  # kernels, allocator
            warm_up(features[:1], hole[:1])
        times: dict[str, list[float]] = {"layer": [], "conv": [], "location": [], "pair": []}
        for _ in range(args.repeats):
            seconds, fast = timed(patch_swap, features, hole, device=args.device)
            times["layer"].append(seconds)
            seconds, conv = timed(convolution_style_swap, features, hole, device=args.device)
            times["conv"].append(seconds)
            seconds, slow = timed(direct_patch_swap, features, hole, device=args.device)
            times["location"].append(seconds)
            times["pair"].append(per_pair_seconds(features.cpu(), hole.cpu(), args.pair_sample))
        layer, conv_s, location, pair = (statistics.median(times[key]) for key in times)
        difference = max(float((fast - conv).abs().max()), float((fast - slow).abs().max()))
        print(
            f"{batch:5d}  {layer:9.3f}  {conv_s:19.3f}  {conv_s / layer:4.1f}×  {location:16.2f}  "
            f"{location / layer:4.1f}×  {pair:20.0f}  {pair / layer:4.0f}×  {difference:.2e}"
        )


if __name__ == "__main__":
    main()
