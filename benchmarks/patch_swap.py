"""Patch-swap speed (feature-translation paper §3.3.2) on a 64×64×256 map (relu3_1 of a 256² image) with
the paper's centre hole (224 of 512 px → 28 of 64 positions), against a direct per-patch computation.

Two direct computations run beside the layer on the same features, in the same run:
- per location: each hole location in turn scores its patch against every known patch (one matrix-vector
  product, already vectorized over the candidates), then pastes its winner;
- per pair: the definition as written (the tests' reference), one normalized cross-correlation per
  (hole patch, known patch) pair; timed on the first `--pair-sample` locations of the first image and
  scaled to all locations of the batch (the loop over all of them takes minutes).
The paper reports about 0.1 s per 64×64×256 map on its 2017 GPU.

    python benchmarks/patch_swap.py [--device cuda] [--batch 1 16]
"""

from __future__ import annotations

import argparse
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
    parser.add_argument("--batch", type=int, nargs="+", default=[1, 16])
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--channels", type=int, default=256)
    parser.add_argument("--pair-sample", type=int, default=10, help="hole locations timed per pair")
    args = parser.parse_args()
    size, side = args.size, round(args.size * 224 / 512)
    print(f"patch-swap on {args.channels}×{size}×{size} features, {side}×{side} centre hole, {args.device}")
    print("batch  layer (s)  per location (s)  ratio  per pair (s, scaled)  ratio  max |difference|")
    for batch in args.batch:
        generator = torch.Generator().manual_seed(0)
        features = torch.randn(batch, args.channels, size, size, generator=generator).to(args.device)
        hole = torch.zeros(batch, 1, size, size, device=args.device)
        top = (size - side) // 2
        hole[..., top : top + side, top : top + side] = 1
        patch_swap(features[:1], hole[:1])  # warm-up (kernels, allocator)
        layer_s, fast = timed(patch_swap, features, hole, device=args.device)
        direct_s, slow = timed(direct_patch_swap, features, hole, device=args.device)
        difference = float((fast - slow).abs().max())
        pair_s = per_pair_seconds(features.cpu(), hole.cpu(), args.pair_sample)
        print(
            f"{batch:5d}  {layer_s:9.3f}  {direct_s:16.2f}  {direct_s / layer_s:5.0f}×  {pair_s:20.0f}  "
            f"{pair_s / layer_s:5.0f}×  {difference:.2e}"
        )


if __name__ == "__main__":
    main()
