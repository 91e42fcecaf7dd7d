"""Why EII's internal colorization loses to Levin on real photos (issue: EII Table 3 on photos): the paper's
fit probed on the quality benchmark's images and masks (colorization_quality.py), one pair at a time.

Per image × mask it records, from one fit:
- the hole's PSNR every 100 iterations of the last level (the network's training-mode output then), and
  the known pixels' PSNR at the end (how closely the fit matches what it was trained on);
- the final output in eval mode (BatchNorm's running statistics instead of the image's own);
- the output's chroma alone on the given gray (YIQ), the only part the bottleneck needs;
and with `--oracle`, the same fit trained on every pixel, the hole's true colours included: what the
networks can represent, apart from what the known pixels teach them. Levin (EII's strongest baseline) is
scored beside. Results are one JSON per pair under --out; a stopped run resumes. The committed results
ran one thread per process (OMP_NUM_THREADS=1), two processes side by side.

    python benchmarks/colorization_diagnosis.py --size 128x128 --textures 4
    python benchmarks/colorization_diagnosis.py --size 128x128 --textures 4 --oracle
    python benchmarks/colorization_diagnosis.py --size 128x128 --textures 2 --masks rectangles \
        --overrides seed=1 --only chelsea coffee
    python benchmarks/colorization_diagnosis.py --report --size 128x128
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import colorization_quality as quality
import numpy as np
import torch
from scipy import ndimage

from lightning_modules.colorization import progressive_colorization
from lightning_modules.colorization.color_conversions import rgb_to_yiq, to_gray, yiq_to_rgb
from lightning_modules.colorization.colorization_network import ColorizationNetwork

SNAPSHOT_EVERY = 100  # iterations


class Probe(ColorizationNetwork):
    """The level's network, keeping its training-mode output every SNAPSHOT_EVERY forwards and its last
    input, so the fit runs exactly as in the preset."""

    latest: Probe | None = None

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.calls, self.snapshots, self.inputs = 0, {}, None
        Probe.latest = self

    def forward(self, inputs):
        output = super().forward(inputs)
        if self.training and torch.is_grad_enabled():
            self.calls += 1
            self.inputs = inputs.detach()
            if self.calls % SNAPSHOT_EVERY == 0:
                self.snapshots[self.calls] = output.detach().float()
        return output


@contextmanager
def probing() -> Iterator[None]:
    """The preset's levels build Probes while inside."""
    progressive_colorization.ColorizationNetwork = Probe
    try:
        yield
    finally:
        progressive_colorization.ColorizationNetwork = ColorizationNetwork


def hole_psnr(colors: torch.Tensor, image: torch.Tensor, hole: torch.Tensor) -> float:
    return quality.psnr(colors.clamp(0, 1) * hole + image * (1 - hole), image)[0]


def known_psnr(colors: torch.Tensor, image: torch.Tensor, hole: torch.Tensor) -> float:
    error = (((colors.clamp(0, 1) - image) ** 2) * (1 - hole)).sum() / ((1 - hole).sum() * 3)
    return float(-10 * torch.log10(error.clamp_min(1e-12)))


def chroma_only(colors: torch.Tensor, gray: torch.Tensor) -> torch.Tensor:
    return yiq_to_rgb(gray, rgb_to_yiq(colors.clamp(0, 1))[:, 1:])


def probe(preset, image: torch.Tensor, hole: torch.Tensor, oracle: bool) -> dict:
    gray = to_gray(image)
    began = time.perf_counter()
    colors = preset(gray, image, torch.zeros_like(hole) if oracle else hole)
    seconds = time.perf_counter() - began
    network = Probe.latest
    with torch.no_grad():
        network.eval()
        evaluated = network(network.inputs).float()
    return {
        "psnr": hole_psnr(colors, image, hole),
        "known_psnr": known_psnr(colors, image, hole),
        "by_iteration": {n: hole_psnr(out, image, hole) for n, out in network.snapshots.items()},
        "eval_mode": hole_psnr(evaluated, image, hole),
        "chroma_only": hole_psnr(chroma_only(colors, gray), image, hole),
        "levin": hole_psnr(quality.colorizer("levin", 1)(gray, image, hole), image, hole),
        "seconds": seconds,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--preset", default="paper")
    parser.add_argument("--overrides", nargs="*", default=[], help="Hydra overrides of the preset")
    parser.add_argument("--oracle", action="store_true", help="train on every pixel, the hole's included")
    parser.add_argument("--erode", type=int, default=0, help="shrink every hole by this many px per side")
    parser.add_argument("--size", default="128x128")
    parser.add_argument("--textures", type=int, default=4)
    parser.add_argument("--photos", type=int, default=10)
    parser.add_argument("--masks", nargs="+", default=list(quality.MASK_TYPES), choices=quality.MASK_TYPES)
    parser.add_argument("--only", nargs="*", default=[], help="image names (the masks stay the set's own)")
    parser.add_argument(
        "--out", type=Path, default=Path(__file__).parent / "results" / "colorization_diagnosis"
    )
    parser.add_argument("--report", action="store_true", help="compute nothing: print the held results")
    args = parser.parse_args(argv)
    size = tuple(int(side) for side in args.size.split("x"))
    out = args.out / args.size
    if args.report:
        print(report(out))
        return
    condition = " ".join(
        [
            args.preset,
            *args.overrides,
            *(["oracle"] if args.oracle else []),
            *([f"erode={args.erode}"] * bool(args.erode)),
        ]
    )
    preset = quality.colorizer(" ".join([args.preset, *args.overrides]), 1)
    images = quality.test_images(size, args.textures, args.photos)
    for kind in args.masks:
        for (name, image), mask in zip(
            images.items(), quality.masks_of(kind, len(images), size), strict=True
        ):
            path = out / condition / kind / f"{name}.json"
            if path.is_file() or (args.only and name not in args.only):
                continue
            hole = mask.numpy() > 0.5
            if args.erode:
                hole = ndimage.binary_erosion(hole[0], iterations=args.erode)[None]
            hole = torch.from_numpy(hole.astype(np.float32))[None]
            with probing():
                result = probe(preset, image[None], hole, args.oracle)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(result))
            print(
                f"{condition} {kind}/{name}: {result['psnr']:.2f} dB (Levin {result['levin']:.2f})",
                flush=True,
            )


def report(out: Path, reference: str = "paper") -> str:
    """Per condition and kind of image: the mean hole PSNR, its gap to Levin on the same holes, its change
    against the `reference` condition on the pairs both hold, and the probes."""
    conditions = {
        folder.name: {f"{p.parent.name}/{p.stem}": json.loads(p.read_text()) for p in folder.glob("*/*.json")}
        for folder in sorted(path for path in out.iterdir() if path.is_dir())
    }
    lines = [
        f"| condition | images | pairs | hole | − Levin | − {reference} (same pairs) | known | eval mode | "
        "chroma only | hole by iteration |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for condition, results in conditions.items():
        for kind in ("photos", "textures"):
            keys = [key for key in results if quality.image_kind(key) == kind]
            if not keys:
                continue
            rows = [results[key] for key in keys]
            mean = {
                k: np.mean([r[k] for r in rows])
                for k in ("psnr", "levin", "known_psnr", "eval_mode", "chroma_only")
            }
            same = [key for key in keys if key in conditions.get(reference, {})]
            change = (
                np.mean([results[k]["psnr"] - conditions[reference][k]["psnr"] for k in same])
                if same
                else None
            )
            steps = sorted({int(n) for r in rows for n in r["by_iteration"]})
            trend = ", ".join(
                f"{n}: {np.mean([r['by_iteration'][str(n)] for r in rows if str(n) in r['by_iteration']]):.2f}"
                for n in steps[:: max(1, len(steps) // 5)] + steps[-1:]
            )
            lines.append(
                f"| {condition} | {kind} | {len(rows)} | {mean['psnr']:.2f} | {mean['psnr'] - mean['levin']:+.2f} | "
                + (f"{change:+.2f} ({len(same)})" if change is not None else "—")
                + f" | {mean['known_psnr']:.2f} | {mean['eval_mode']:.2f} | {mean['chroma_only']:.2f} | {trend} |"
            )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
