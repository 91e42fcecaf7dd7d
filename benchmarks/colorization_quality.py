"""EII Table 3's protocol (§4.4.3) on the same images and masks for several colorizations: each one's PSNR,
its seconds per image, and its paired PSNR difference to `paper` with a 95 % bootstrap interval.

The ground truth is decolorized inside the mask and each method restores the colors from the known ones
(rectangles: one or two, sides 1/4-1/2; free_form: DeepFill v2 strokes, the masks of ext_int_table3).
Images: procedural textures and real photos, the colour photos scikit-image ships (astronaut, chelsea,
coffee, hubble_deep_field, ihc, motorcycle_left, motorcycle_right, retina, rocket) and matplotlib's
grace_hopper, centre-cropped to the aspect and resized.

    python benchmarks/colorization_quality.py --size 256x256 --textures 20 --photos 10
    python benchmarks/colorization_quality.py --device cuda --size 512x640 --textures 0
    python benchmarks/colorization_quality.py --reference fast_paper \
        --methods fast_paper "fast_paper channels=16" "fast_paper lower_pyramids={1:{iterations:[250],lrs:[0.01]}}"

Per-image results are kept under --out (<size>/<method>/<mask>/<image>.json) and reused by the next run
with the same --out: a long CPU measurement can be stopped and continued, also in another session. The
default --out is in the repository (benchmarks/results/), so the results of a measurement spread over
several sessions or machines are committed with the code that produced them. Images are processed
textures and photos alternately, both masks and every method on one before the next, so a stopped run is
a balanced sample; --report prints the tables over the images that every method has finished.

On a CPU with few cores, one process per mask type with one thread each keeps the cores busier than one
process with all of them: two such processes on 2 cores finish 1.2× as many `paper` fits per hour at 256².

    OMP_NUM_THREADS=1 python benchmarks/colorization_quality.py --masks rectangles &
    OMP_NUM_THREADS=1 python benchmarks/colorization_quality.py --masks free_form &
"""

from __future__ import annotations

import argparse
import importlib.util
import itertools
import json
import logging
import time
from pathlib import Path

import numpy as np
import torch
from colorization import scale_iterations
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate
from PIL import Image

from datamodules.datasets.synthetic import SyntheticTextures
from datamodules.seeding import rng_for
from evaluation.metrics import PSNR_CAP_DB
from evaluation.paired import paired_differences, paired_markdown
from lightning_modules.colorization.color_conversions import to_gray
from utils.resolvers import REPO_ROOT

SKIMAGE_PHOTOS = (
    "astronaut.png",
    "chelsea.png",
    "coffee.png",
    "hubble_deep_field.jpg",
    "ihc.png",
    "motorcycle_left.png",
    "motorcycle_right.png",
    "retina.jpg",
    "rocket.jpg",
)
MASK_TYPES = ("rectangles", "free_form")  # ext_int_table3's
MASK_SEED = 7  # the masks are a function of (seed, mask type, image): the same for every method


def photo_paths() -> list[Path]:
    """The real photos: scikit-image's colour samples and matplotlib's grace_hopper (files shipped in the
    packages' wheels; found without importing them)."""
    paths = []
    for package, folder, names in (
        ("skimage", "data", SKIMAGE_PHOTOS),
        ("matplotlib", "mpl-data/sample_data", ("grace_hopper.jpg",)),
    ):
        spec = importlib.util.find_spec(package)
        if spec is None or not spec.submodule_search_locations:
            raise SystemExit(f"the real photos need {package} installed (pip install -e '.[dev]')")
        paths += [Path(spec.submodule_search_locations[0]) / folder / name for name in names]
    return paths


def load_photo(path: Path, size: tuple[int, int]) -> torch.Tensor:
    """3×H×W in [0, 1]: the largest centred crop of the target aspect, resized (bicubic)."""
    photo = Image.open(path).convert("RGB")
    height, width = size
    scale = min(photo.width / width, photo.height / height)
    crop_w, crop_h = round(width * scale), round(height * scale)
    left, top = (photo.width - crop_w) // 2, (photo.height - crop_h) // 2
    photo = photo.crop((left, top, left + crop_w, top + crop_h)).resize((width, height), Image.BICUBIC)
    return torch.from_numpy(np.asarray(photo).copy()).permute(2, 0, 1).float() / 255


def test_images(size: tuple[int, int], textures: int, photos: int) -> dict[str, torch.Tensor]:
    """{name: 3×H×W} of `textures` procedural textures and the first `photos` real photos, alternating
    (texture, photo, texture, …) while both last."""
    split = SyntheticTextures(size=size).split("test") if textures else None
    kinds = (
        [(f"texture{n:03d}", lambda n=n: split.load(n)) for n in range(textures)],
        [(path.stem, lambda path=path: load_photo(path, size)) for path in photo_paths()[:photos]],
    )
    order = [item for pair in itertools.zip_longest(*kinds) for item in pair if item is not None]
    return {name: load() for name, load in order}


def masks_of(kind: str, count: int, size: tuple[int, int]) -> list[torch.Tensor]:
    """The evaluation masks of a mask type (conf/mask/) for images 0 … count-1, each 1×H×W."""
    with initialize_config_dir(str(REPO_ROOT / "conf"), version_base="1.3"):
        generator = instantiate(compose("evaluate", overrides=[f"mask={kind}"]).mask.eval)
    draws = (generator(*size, rng_for(MASK_SEED, MASK_TYPES.index(kind), n)) for n in range(count))
    return [torch.as_tensor(mask, dtype=torch.float32)[None] for mask in draws]


def colorizer(method: str, iterations_scale: float):
    """A colorization preset (conf/colorization/) or a baseline colorizer (conf/colorizer/) by name, with
    Hydra overrides after spaces: `fast_paper channels=16 lower_pyramids={1:{iterations:[250],lrs:[0.01]}}`."""
    name, *overrides = method.split()
    group = (
        "colorization" if (REPO_ROOT / "conf" / "colorization" / f"{name}.yaml").is_file() else "colorizer"
    )
    with initialize_config_dir(str(REPO_ROOT / "conf" / group), version_base="1.3"):
        config = compose(name, overrides=overrides)
    if group == "colorization" and iterations_scale != 1:
        scale_iterations(config, iterations_scale)
    return instantiate(config)


def psnr(output: torch.Tensor, target: torch.Tensor) -> list[float]:
    error = ((output - target) ** 2).flatten(1).mean(1)
    return (-10 * torch.log10(error.clamp_min(1e-12))).clamp(max=PSNR_CAP_DB).tolist()


def measure(
    methods: list[str],
    iterations_scale: float,
    images: dict[str, torch.Tensor],
    masks: dict[str, torch.Tensor],
    batch: int,
    device: torch.device,
    out: Path,
    compute: bool = True,
) -> dict[str, dict[str, dict]]:
    """{method: {image key: {"psnr", "seconds"}}} for every method × image × mask, computing only what `out`
    does not hold (nothing when not `compute`: then only the held results). Every method finishes a batch
    of images before the next batch starts, so a stopped run leaves the same images done by all."""
    results = {method: {} for method in methods}
    for method, key in itertools.product(methods, images):
        path = out / method / f"{key}.json"
        if path.is_file():
            results[method][key] = json.loads(path.read_text())
    if not compute:
        return results
    todo = [key for key in images if any(key not in results[method] for method in methods)]
    colorizers = {}
    for start in range(0, len(todo), batch):
        for method in methods:
            keys = [key for key in todo[start : start + batch] if key not in results[method]]
            if not keys:
                continue
            image = torch.stack([images[k] for k in keys]).to(device)
            mask = torch.stack([masks[k] for k in keys]).to(device)
            if method not in colorizers:
                colorizers[method] = colorizer(method, iterations_scale)
            began = time.perf_counter()
            colors = colorizers[method](to_gray(image), image, mask)
            if device.type == "cuda":
                torch.cuda.synchronize(device)
            seconds = (time.perf_counter() - began) / len(keys)
            composite = colors * mask + image * (1 - mask)
            for key, value in zip(keys, psnr(composite, image), strict=True):
                results[method][key] = {"psnr": value, "seconds": seconds}
                path = out / method / f"{key}.json"
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(json.dumps(results[method][key]))
            print(f"  {method}: {', '.join(keys)}: {seconds:.1f} s/image", flush=True)
    return results


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--methods",
        nargs="+",
        default=["paper", "fast_paper", "levin"],
        help="presets or colorizers, each with optional Hydra overrides after spaces",
    )
    parser.add_argument("--reference", default="paper", help="the method the others are paired with")
    parser.add_argument("--size", default="256x256", help="HEIGHTxWIDTH")
    parser.add_argument("--textures", type=int, default=20)
    parser.add_argument("--photos", type=int, default=len(SKIMAGE_PHOTOS) + 1)
    parser.add_argument("--masks", nargs="+", default=list(MASK_TYPES), choices=MASK_TYPES)
    parser.add_argument("--batch", type=int, default=1, help="images colorized together")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument(
        "--out", type=Path, default=Path(__file__).parent / "results" / "colorization_quality"
    )
    parser.add_argument(
        "--iterations-scale", type=float, default=1.0, help="a fraction of every schedule: smoke runs only"
    )
    parser.add_argument(
        "--report", action="store_true", help="compute nothing: the tables over the images all methods hold"
    )
    args = parser.parse_args(argv)
    if args.reference not in args.methods:
        parser.error(f"--reference {args.reference!r} is not among --methods {args.methods}: add it")
    # each fit's level, iteration and known-pixel loss every 30 s (stderr): a paper fit takes minutes on CPU
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    size = tuple(int(side) for side in args.size.split("x"))
    device = torch.device(args.device)
    base = test_images(size, args.textures, args.photos)
    kind_masks = {kind: masks_of(kind, len(base), size) for kind in args.masks}
    images, masks = {}, {}
    for n, (name, image) in enumerate(base.items()):
        for kind in args.masks:
            images[f"{kind}/{name}"], masks[f"{kind}/{name}"] = image, kind_masks[kind][n]
    run = f"{args.size}" + (f"_x{args.iterations_scale:g}" if args.iterations_scale != 1 else "")
    print(
        f"EII Table 3 protocol, {len(base)} images ({args.textures} textures, {len(base) - args.textures} "
        f"photos) at {args.size}, masks {args.masks}, batch {args.batch}, {device}"
    )
    results = measure(
        args.methods,
        args.iterations_scale,
        images,
        masks,
        args.batch,
        device,
        args.out / run,
        compute=not args.report,
    )
    keys = [k for k in images if all(k in rows for rows in results.values())]
    if not keys:
        raise SystemExit(f"no image is finished by every method under {args.out / run}")
    print(f"\nover the {len(keys)} of {len(images)} images × masks that every method has finished")
    references = list(dict.fromkeys(m for m in (args.reference, "levin") if m in results))
    print(report(results, keys, args.masks, references))


# EII Table 3 (Places2 at 512×640, PSNR): the suite's presets and colorizers by the paper's column names
PUBLISHED = {
    "rectangles": {"paper": 38.45, "levin": 36.68, "base": 37.04, "domain_transform": 29.35, "zhang": 36.12},
    "free_form": {"paper": 39.50, "levin": 39.24, "base": 39.21, "domain_transform": 39.26, "zhang": 38.77},
}


def image_kind(key: str) -> str:
    """photos (the paper's claim is about natural photos) or textures (procedural, the suite's addition)."""
    return "textures" if key.split("/", 1)[1].startswith("texture") else "photos"


def report(
    results: dict[str, dict[str, dict]], keys: list[str], masks: list[str], references: list[str]
) -> str:
    """Markdown: per kind of image (photos first), per mask type and over both, each method's mean PSNR
    and seconds beside EII Table 3's published PSNR, then every method paired against each reference."""
    blocks = []
    for kind in ("photos", "textures"):
        for mask in [*masks, None] if len(masks) > 1 else masks:
            chosen = [k for k in keys if image_kind(k) == kind and (mask is None or k.startswith(f"{mask}/"))]
            if not chosen:
                continue
            published = PUBLISHED.get(mask, {})
            lines = [
                f"### {kind}, {mask or 'both masks'} ({len(chosen)} images × masks)",
                "",
                "| method | PSNR | EII Table 3 (Places2, 512×640) | s/image |",
                "|---|---:|---:|---:|",
            ]
            for method, rows in results.items():
                values = [rows[k] for k in chosen]
                paper = published.get(method.split()[0]) if len(method.split()) == 1 else None
                lines.append(
                    f"| {method} | {np.mean([r['psnr'] for r in values]):.2f} | "
                    f"{'—' if paper is None else f'{paper:.2f}'} | {np.mean([r['seconds'] for r in values]):.2f} |"
                )
            as_rows = {
                method: {i: {"psnr": results[method][k]["psnr"]} for i, k in enumerate(chosen)}
                for method in results
            }
            for reference in references:
                paired = [
                    (method, paired_differences(as_rows[reference], as_rows[method], ["psnr"]))
                    for method in results
                    if method != reference
                ]
                lines += ["", paired_markdown(reference, paired).rstrip()]
            blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + "\n"


if __name__ == "__main__":
    main()
