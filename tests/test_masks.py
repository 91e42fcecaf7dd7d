"""Mask generators: hole-ratio statistics against the reference algorithms, determinism, configs, folders.

Statistics use N masks per generator. Box-like generators are compared with exact expectations; the stroke
and cellular-automata generators with independent transcriptions of the official algorithms below, drawn by
distance-to-segment rasterization and scipy filters instead of the generators' PIL drawing and numpy majority
votes. Means (and standard deviations) must agree within 4 standard errors (a correct generator fails one
with probability about 1e-4) plus a 2 % allowance for rasterization: PIL and the exact pixel-centre
rule differ by < 1.5 % of a stroke's area for radii ≥ 3 px.
"""

from __future__ import annotations

import functools
import math
import pickle
from pathlib import Path

import numpy as np
import pytest
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate
from PIL import Image, ImageDraw
from scipy import ndimage

from datamodules.masks.aim2020 import AIMBox, AIMFreeForm, CellularAutomata
from datamodules.masks.center_square import CenterSquare
from datamodules.masks.free_form_strokes import DeepFillBox, FreeFormStrokes, draw_capsules
from datamodules.masks.mask_folder import MaskFolder
from datamodules.masks.mixture import MaskMixture
from datamodules.masks.rectangles import RandomRectangles
from datamodules.masks.union import MaskUnion
from datamodules.seeding import MASK_STREAM, rng_for

CONF = Path(__file__).resolve().parents[1] / "conf"
N = 300
SIZES = [(256, 256), (240, 400)]  # training size, and a non-square one with a larger diagonal
Z = 4.0
RASTER = 0.02


def pixel_factor(h: int, w: int) -> float:
    """Widths and lengths are pixels at 256², scaled with the image diagonal (the generators' convention)."""
    return math.hypot(h, w) / math.hypot(256, 256)


# ---------------------------------------------------------------- statistics


def standard_errors(x: np.ndarray) -> tuple[float, float]:
    """Standard errors of the sample mean and standard deviation (the latter from the sample kurtosis)."""
    std = x.std()
    if std == 0:
        return 0.0, 0.0
    kurtosis = ((x - x.mean()) ** 4).mean() / std**4
    return std / math.sqrt(len(x)), std * math.sqrt(max(kurtosis - 1, 0) / (4 * len(x)))


def assert_same_distribution(sample: np.ndarray, reference: np.ndarray) -> None:
    (se_m, se_s), (re_m, re_s) = standard_errors(sample), standard_errors(reference)
    assert abs(sample.mean() - reference.mean()) <= Z * math.hypot(se_m, re_m) + RASTER * reference.mean()
    assert abs(sample.std() - reference.std()) <= Z * math.hypot(se_s, re_s) + RASTER * reference.std()


def assert_matches_expectation(sample: np.ndarray, mean: float, std: float) -> None:
    assert abs(sample.mean() - mean) <= Z * std / math.sqrt(len(sample)) + 1e-9
    assert abs(sample.std() - std) <= Z * standard_errors(sample)[1] + 1e-9


def hole_ratios(generator, size: tuple[int, int], seed: int = 0) -> np.ndarray:
    return np.array([generator(*size, rng_for(seed, MASK_STREAM, i)).mean() for i in range(N)])


# ---------------------------------------------------------------- exact expectations of boxes


def box_moments(h_sides: np.ndarray, w_sides: np.ndarray, size: tuple[int, int]) -> tuple[float, float]:
    """Mean and std of the ratio of one box whose sides are uniform over the given integers."""
    area = size[0] * size[1]
    mean = h_sides.mean() * w_sides.mean() / area
    second = (h_sides.astype(float) ** 2).mean() * (w_sides.astype(float) ** 2).mean() / area**2
    return mean, math.sqrt(max(second - mean**2, 0))


def interval_coverage(n: int, sides: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For an interval with a side uniform over `sides` and a uniform start in [0, n − side]: p[x] = P(x in
    it) and q[x, x'] = P(x and x' in it) = the share of starts with hi − side < start <= lo."""
    lo = np.minimum.outer(np.arange(n), np.arange(n))
    hi = np.maximum.outer(np.arange(n), np.arange(n))
    q = np.zeros((n, n))
    for side in sides:
        q += np.clip(np.minimum(lo, n - side) - np.maximum(hi - side + 1, 0) + 1, 0, None) / (n - side + 1)
    q /= len(sides)
    return np.diag(q).copy(), q


def rectangles_moments(fraction: tuple[float, float], counts: tuple[int, ...], size) -> tuple[float, float]:
    """Mean and std of the hole ratio of the union of k i.i.d. random rectangles, k uniform over `counts`.

    For pixels u, v: p_u = P(u in a rectangle), q_uv = P(u, v in it); both factor into row and column terms.
    |A| has E = Σp, E|A|² = Σq; a union of two has E = 2Σp − Σp² and E[(|A| + |B| − |A∩B|)²] = 2Σq + 2(Σp)²
    + Σq² − 4Σ_uv p_v q_uv.
    """
    axes = []
    for n in size:
        sides = np.arange(math.ceil(fraction[0] * n), math.floor(fraction[1] * n) + 1)
        axes.append(interval_coverage(n, sides))
    (px, qx), (py, qy) = axes
    p1, p2 = px.sum() * py.sum(), (px**2).sum() * (py**2).sum()
    q1, q2 = qx.sum() * qy.sum(), (qx**2).sum() * (qy**2).sum()
    c = (qx @ px).sum() * (qy @ py).sum()
    moments = {1: (p1, q1), 2: (2 * p1 - p2, 2 * q1 + 2 * p1**2 + q2 - 4 * c)}
    area = size[0] * size[1]
    mean = np.mean([moments[k][0] for k in counts]) / area
    second = np.mean([moments[k][1] for k in counts]) / area**2
    return mean, math.sqrt(second - mean**2)


def deepfill_box_sides(n: int) -> np.ndarray:
    """Official bbox2mask at 256²: a 128 box shrunk by U{0..16} on both ends; relative to n."""
    return round(0.5 * n) - 2 * np.arange(round(0.125 * n) // 2 + 1)


def aim_box_sides(n: int) -> np.ndarray:
    return np.arange(math.ceil(0.3 * n), math.floor(0.7 * n) + 1)


@pytest.mark.parametrize("size", SIZES)
def test_deepfill_box_matches_official_sizes(size):
    mean, std = box_moments(deepfill_box_sides(size[0]), deepfill_box_sides(size[1]), size)
    assert_matches_expectation(hole_ratios(DeepFillBox(), size), mean, std)
    if size == (256, 256):
        assert mean == pytest.approx(112**2 / 256**2)


@pytest.mark.parametrize("size", SIZES)
def test_aim_box_matches_uniform_sides(size):
    mean, std = box_moments(aim_box_sides(size[0]), aim_box_sides(size[1]), size)
    assert_matches_expectation(hole_ratios(AIMBox(), size), mean, std)
    assert mean == pytest.approx(0.25, abs=0.005)  # E[U(0.3, 0.7)]² = 0.25


@pytest.mark.parametrize("size", SIZES)
def test_rectangles_match_exact_union_moments(size):
    mean, std = rectangles_moments((0.25, 0.5), (1, 2), size)
    assert_matches_expectation(hole_ratios(RandomRectangles(), size), mean, std)
    one = rectangles_moments((0.25, 0.5), (1,), size)
    assert_matches_expectation(hole_ratios(RandomRectangles(min_count=1, max_count=1), size), *one)
    assert one[0] == pytest.approx(0.375**2, rel=0.02)


@pytest.mark.parametrize("size", [*SIZES, (63, 101)])
def test_center_square_is_exact_and_centred(size):
    mask = CenterSquare(0.5)(*size, rng_for(0, MASK_STREAM, 0))
    rows, cols = np.nonzero(mask)
    assert mask.sum() == round(size[0] / 2) * round(size[1] / 2)
    assert (
        abs(rows.min() - (size[0] - 1 - rows.max())) <= 1
        and abs(cols.min() - (size[1] - 1 - cols.max())) <= 1
    )
    assert mask.sum() == (rows.max() - rows.min() + 1) * (cols.max() - cols.min() + 1)  # one solid block


# ---------------------------------------------------------------- independent references for drawn masks


def paint_capsule(mask: np.ndarray, p0, p1, radius: float) -> None:
    """Set the pixels whose centres lie within `radius` of the segment p0–p1 (x, y)."""
    (x0, y0), (x1, y1) = p0, p1
    left, top = np.maximum(np.floor(np.minimum(p0, p1) - radius).astype(int), 0)
    right, bottom = np.minimum(np.ceil(np.maximum(p0, p1) + radius).astype(int) + 1, mask.shape[::-1])
    if top >= bottom or left >= right:
        return
    y, x = np.mgrid[top:bottom, left:right].astype(float)
    dx, dy = x1 - x0, y1 - y0
    t = np.clip(((x - x0) * dx + (y - y0) * dy) / max(dx * dx + dy * dy, 1e-12), 0, 1)
    mask[top:bottom, left:right] |= (x - x0 - t * dx) ** 2 + (y - y0 - t * dy) ** 2 <= radius**2


def reference_deepfill(h: int, w: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """DeepFill v2 strokes, and strokes ∪ the box, in the loop structure of the official code
    (github.com/JiahuiYu/generative_inpainting, branch v2.0.0, inpaint_ops.py: brush_stroke_mask, random_bbox,
    bbox2mask; inpaint.yml)."""
    R = math.hypot(h, w) / 8
    mask = np.zeros((h, w), bool)
    for _ in range(1 + rng.integers(3)):
        vertices = 4 + rng.integers(8)
        angle_min = 2 * math.pi / 5 - rng.uniform(0, 2 * math.pi / 15)
        angle_max = 2 * math.pi / 5 + rng.uniform(0, 2 * math.pi / 15)
        brush = rng.uniform(12, 40) * pixel_factor(h, w)
        x, y = rng.uniform(0, w - 1), rng.uniform(0, h - 1)
        for i in range(vertices):
            angle = rng.uniform(angle_min, angle_max)
            if i % 2 == 0:
                angle = 2 * math.pi - angle
            r = min(max(rng.normal(R, R / 2), 0), 2 * R)
            nx, ny = min(max(x + r * math.cos(angle), 0), w - 1), min(max(y + r * math.sin(angle), 0), h - 1)
            paint_capsule(mask, (x, y), (nx, ny), brush / 2)
            x, y = nx, ny
    # Official random_bbox + bbox2mask: a half-size box, then the same shrink on opposite sides.
    union = mask.copy()
    top, left = rng.integers(h - h // 2 + 1), rng.integers(w - w // 2 + 1)
    dh, dw = rng.integers(h // 16 + 1), rng.integers(w // 16 + 1)
    union[top + dh : top + h // 2 - dh, left + dw : left + w // 2 - dw] = True
    return mask, union


def reference_aim_free_form(h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    """AIM 2020 free-form strokes in the loop structure of the challenge's code
    (github.com/vglsd/AIM2020-Image-Inpainting-Challenge, masks.py, Masks.get_ff_mask)."""
    mask = np.zeros((h, w), bool)
    for i in range(15 + rng.integers(9)):
        x, y = rng.uniform(0, w), rng.uniform(0, h)
        for _ in range(1 + rng.integers(5)):
            angle = 0.01 + rng.integers(4)
            if i % 2 == 0:
                angle = 2 * math.pi - angle
            length = (10 + rng.integers(60)) * pixel_factor(h, w)
            brush = (10 + rng.integers(15)) * pixel_factor(h, w)
            nx, ny = x + length * math.cos(angle), y + length * math.sin(angle)
            paint_capsule(mask, (x, y), (nx, ny), brush / 2)
            x, y = nx, ny
    return mask


def reference_cellular_automata(h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    """AIM 2020 cellular automata as the challenge's code draws them, with scipy's filters, at the
    256²-diagonal size (github.com/vglsd/AIM2020-Image-Inpainting-Challenge, masks.py, Masks.get_ca_mask)."""
    ref_h, ref_w = round(h / pixel_factor(h, w)), round(w / pixel_factor(h, w))
    scale = int(rng.choice([1, 2, 4, 8]))
    grid = rng.integers(0, 2, (ref_h // scale, ref_w // scale)).astype(np.uint8)
    for _ in range(rng.integers(2, 7)):
        grid = ndimage.median_filter(grid, size=3, mode="constant")
    grid = np.asarray(Image.fromarray(grid).resize((ref_w, ref_h), Image.NEAREST))
    if scale > 1:
        grid = ndimage.binary_dilation(grid, ndimage.generate_binary_structure(2, 1)).astype(np.uint8)
    return np.asarray(Image.fromarray(grid).resize((w, h), Image.NEAREST)) > 0


@functools.cache
def reference_ratios(size: tuple[int, int]) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(12345)
    strokes, union = np.array([[m.mean() for m in reference_deepfill(*size, rng)] for _ in range(N)]).T
    free_form = np.array([reference_aim_free_form(*size, rng).mean() for _ in range(N)])
    automata = np.array([reference_cellular_automata(*size, rng).mean() for _ in range(N)])
    box = np.array(
        [rng.choice(aim_box_sides(size[0])) * rng.choice(aim_box_sides(size[1])) for _ in range(N)]
    )
    # One reference mixture sample: mask i from component choice[i], each component sample used once.
    choice = rng.integers(3, size=N)
    mixture = np.stack([box / (size[0] * size[1]), automata, free_form])[choice, np.arange(N)]
    return {
        "strokes": strokes,
        "deepfill_v2": union,
        "aim_free_form": free_form,
        "aim_ca": automata,
        "aim2020": mixture,
    }


DRAWN = {
    "strokes": FreeFormStrokes(),
    "deepfill_v2": MaskUnion([FreeFormStrokes(), DeepFillBox()]),
    "aim_free_form": AIMFreeForm(),
    "aim_ca": CellularAutomata(),
    "aim2020": MaskMixture({"box": AIMBox(), "ca": CellularAutomata(), "ff": AIMFreeForm()}),
}


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("name", DRAWN)
def test_drawn_generators_match_reference_transcription(name, size):
    assert_same_distribution(hole_ratios(DRAWN[name], size), reference_ratios(size)[name])


def test_capsules_cover_the_pixel_centres_within_the_radius():
    """PIL's drawing of a stroke and the distance rule differ only along the stroke's outline."""
    rng = np.random.default_rng(3)
    for radius in (3.0, 8.0, 20.0):
        points = rng.uniform(20, 236, (6, 2))
        exact = np.zeros((256, 256), bool)
        for p0, p1 in zip(points[:-1], points[1:]):
            paint_capsule(exact, p0, p1, radius)
        image = Image.new("L", (256, 256), 0)
        draw_capsules(ImageDraw.Draw(image), points[:-1], points[1:], np.full(5, radius))
        drawn = np.asarray(image) > 0
        outline = 2 * np.linalg.norm(np.diff(points, axis=0), axis=1).sum() + 2 * math.pi * radius
        assert abs(drawn.sum() / exact.sum() - 1) < 0.03
        assert (drawn ^ exact).sum() < outline


# ---------------------------------------------------------------- the generator contract


def make_folder(root: Path) -> Path:
    """Six 32×32 masks, white = hole; file i has i + 1 hole rows so it can be recognised by its ratio."""
    root.mkdir(parents=True, exist_ok=True)
    for i in range(6):
        array = np.zeros((32, 32), np.uint8)
        array[: i + 1, : 20 - i] = 255
        Image.fromarray(array).save(root / f"{i:05d}.png")
    return root


GENERATORS = {
    **DRAWN,
    "deepfill_box": DeepFillBox(),
    "aim_box": AIMBox(),
    "rectangles": RandomRectangles(),
    "center_square": CenterSquare(),
}


@pytest.mark.parametrize("size", [(256, 256), (64, 96)])
@pytest.mark.parametrize("name", [*GENERATORS, "mask_folder"])
def test_masks_are_binary_float32_and_reproducible(name, size, tmp_path):
    generator = MaskFolder(make_folder(tmp_path / "m")) if name == "mask_folder" else GENERATORS[name]
    mask = generator(*size, rng_for(7, MASK_STREAM, 3))
    assert mask.dtype == np.float32 and mask.shape == size and mask.flags.c_contiguous
    assert set(np.unique(mask)) <= {0.0, 1.0} and mask.any()
    assert np.array_equal(mask, generator(*size, rng_for(7, MASK_STREAM, 3)))
    clone = pickle.loads(pickle.dumps(generator))
    assert np.array_equal(mask, clone(*size, rng_for(7, MASK_STREAM, 3)))
    if name != "center_square":
        others = [generator(*size, rng_for(7, MASK_STREAM, i)) for i in range(4, 12)]
        assert any(not np.array_equal(mask, other) for other in others)


def test_union_is_the_pixelwise_or_of_its_parts():
    strokes, box = FreeFormStrokes(), DeepFillBox()
    rng = np.random.default_rng(5)
    expected = np.maximum(strokes(128, 128, rng), box(128, 128, rng))
    assert np.array_equal(MaskUnion([strokes, box])(128, 128, np.random.default_rng(5)), expected)


def test_mixture_hits_its_weights():
    small, large = CenterSquare(0.25), CenterSquare(0.75)
    for mixture in (
        MaskMixture([small, large], [3, 1]),
        MaskMixture({"s": small, "l": large}, {"l": 1, "s": 3}),
    ):
        picks = np.array([mixture(16, 16, rng_for(0, MASK_STREAM, i)).mean() < 0.5 for i in range(2000)])
        assert abs(picks.mean() - 0.75) <= Z * math.sqrt(0.75 * 0.25 / 2000)
    assert MaskMixture([small, large]).probabilities.tolist() == [0.5, 0.5]
    with pytest.raises(ValueError, match="name exactly"):
        MaskMixture({"s": small, "l": large}, {"s": 1})


# ---------------------------------------------------------------- mask folders


def test_mask_folder_pairs_index_with_file_and_resizes(tmp_path):
    folder = MaskFolder(make_folder(tmp_path / "m"), augment=False)
    rng = np.random.default_rng(0)
    for index in (0, 4, 6 + 2):
        mask = folder(64, 64, rng, index=index)
        i = index % 6
        expected = np.zeros((64, 64), np.float32)
        expected[: 2 * (i + 1), : 2 * (20 - i)] = 1  # nearest-neighbour ×2 of the 32×32 file
        assert np.array_equal(mask, expected)
    assert folder(20, 48, rng, index=1).shape == (20, 48)


def test_mask_folder_polarity(tmp_path):
    root = tmp_path / "m"
    root.mkdir()
    hole = np.zeros((16, 16), np.uint8)
    hole[:4] = 1
    Image.fromarray(hole * 255).save(root / "white_holes.png")
    Image.fromarray((1 - hole) * 255).save(root / "black_holes.png")
    for name in ("white_holes.png", "black_holes.png"):
        auto = MaskFolder(root, polarity="auto", augment=False)
        index = auto.names.index(name)
        assert np.array_equal(auto(16, 16, None, index=index), hole.astype(np.float32))
    white = MaskFolder(root, polarity="white_is_hole")
    assert white(16, 16, None, index=white.names.index("black_holes.png")).mean() == 0.75


def test_mask_folder_buckets_and_hole_ratio_filter(tmp_path):
    root = make_folder(tmp_path / "m")
    folder = MaskFolder(root, buckets=[2], files_per_bucket=2)  # files 2 and 3
    assert folder.names == ["00002.png", "00003.png"]
    assert folder(32, 32, None, index=3).sum() == 4 * (20 - 3)  # index 3 → the second of them, file 3
    assert MaskFolder(root, buckets=[1, 3], files_per_bucket=2).names == [
        "00000.png",
        "00001.png",
        "00004.png",
        "00005.png",
    ]
    ratios = {i: (i + 1) * (20 - i) / 1024 for i in range(6)}
    kept = MaskFolder(root, hole_ratio=[0.05, 0.07]).names
    assert kept == [f"{i:05d}.png" for i in range(6) if 0.05 < ratios[i] <= 0.07]
    with pytest.raises(ValueError, match="buckets"):
        MaskFolder(root, buckets=[4], files_per_bucket=2)


def test_mask_folder_random_draws_are_augmented_files(tmp_path):
    folder = MaskFolder(make_folder(tmp_path / "m"))
    file_masks = [folder(32, 32, None, index=i) for i in range(6)]
    variants = {
        np.rot90(m[:, ::-1] if flip else m, k).tobytes()
        for m in file_masks
        for k in range(4)
        for flip in (0, 1)
    }
    drawn = [folder(32, 32, rng_for(1, MASK_STREAM, i)) for i in range(60)]
    assert all(m.tobytes() in variants for m in drawn)
    assert len({m.tobytes() for m in drawn}) > 12  # several files in several orientations


def test_mask_folder_sorts_numbers_numerically(tmp_path):
    root = tmp_path / "m"
    root.mkdir()
    for name in ("10.png", "2.png", "1.png", "notes.txt"):
        (root / name).write_bytes(b"") if name.endswith(".txt") else Image.new("L", (4, 4)).save(root / name)
    assert MaskFolder(root).names == ["1.png", "2.png", "10.png"]


@pytest.mark.parametrize("make", ["missing", "empty"])
def test_mask_folder_without_masks_says_what_to_put_there(tmp_path, make):
    root = tmp_path / "masks"
    if make == "empty":
        root.mkdir()
    with pytest.raises(FileNotFoundError, match="00000.png") as error:
        MaskFolder(root)
    assert str(root) in str(error.value)


# ---------------------------------------------------------------- configs


@pytest.mark.parametrize("name", sorted(p.stem for p in (CONF / "mask").glob("*.yaml")))
def test_mask_configs_instantiate(name, tmp_path):
    root = make_folder(tmp_path / "irregular_mask" / "testing_mask_dataset")
    # by order: called with an index alone here, no image name (by stem: tests/test_early_errors.py)
    folder_root = [f"mask.eval.root={root}", "mask.eval.pairing=by_order"] if name == "folder" else []
    with initialize_config_dir(version_base=None, config_dir=str(CONF)):
        cfg = compose(overrides=[f"+mask={name}", f"+paths.data_dir={tmp_path}", *folder_root])
    assert set(cfg.mask) == {"train", "eval"}
    for part in ("train", "eval"):
        generator = instantiate(cfg.mask[part])
        mask = pickle.loads(pickle.dumps(generator))(64, 64, rng_for(0, MASK_STREAM, 1), index=1)
        assert mask.shape == (64, 64) and mask.dtype == np.float32
    if name == "nvidia_irregular":
        assert isinstance(instantiate(cfg.mask.eval), MaskFolder)
