"""Transforms: exact polyphase inverses, sizes, and randomness drawn only from the given rng."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch

from datamodules.transforms import (
    CenterCrop,
    Compose,
    PolyphaseSubsample,
    RandomCrop,
    RandomHorizontalFlip,
    RandomRot90,
    Resize,
    polyphase_merge,
    polyphase_split,
)


def image(height: int = 12, width: int = 16, seed: int = 0) -> torch.Tensor:
    return torch.rand(3, height, width, generator=torch.Generator().manual_seed(seed))


def rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


@pytest.mark.parametrize("factor", [1, 2, 3, (2, 3), (4, 1)])
@pytest.mark.parametrize("size", [(12, 18), (13, 17), (5, 4)])
def test_polyphase_merge_inverts_split_exactly(factor, size):
    x = torch.rand(2, 3, *size)
    parts = polyphase_split(x, factor)
    fh, fw = (factor, factor) if isinstance(factor, int) else factor
    hs, ws = -(-size[0] // fh), -(-size[1] // fw)
    assert parts.shape == (2 * fh * fw, 3, hs, ws)
    assert torch.equal(polyphase_merge(parts, factor, size=size), x)


def test_polyphase_split_order_and_inverse_the_other_way():
    x = torch.rand(2, 3, 8, 10)
    parts = polyphase_split(x, 2)
    for b in range(2):
        for i in range(2):
            for j in range(2):
                assert torch.equal(parts[b * 4 + i * 2 + j], x[b, :, i::2, j::2])
    assert torch.equal(polyphase_split(polyphase_merge(parts, 2), 2), parts)
    with pytest.raises(ValueError, match="not a multiple of the 2×2 phases"):
        polyphase_merge(parts[:3], 2)


def test_polyphase_split_with_one_factor_per_axis():
    """DeepGIN §6.1 at 1024×1536: 4×6 sub-images of 256², each every 4th row and every 6th column."""
    x = torch.rand(1, 3, 1024, 1536)
    parts = polyphase_split(x, (4, 6))
    assert parts.shape == (24, 3, 256, 256)
    assert torch.equal(parts[1 * 6 + 5], x[0, :, 1::4, 5::6])
    assert torch.equal(polyphase_merge(parts, (4, 6)), x)


def test_polyphase_subsample_takes_one_phase():
    x = image(9, 11)
    even = x[:, :8, :10]
    phases = {(i, j): even[:, i::2, j::2] for i in range(2) for j in range(2)}
    seen = set()
    for seed in range(24):
        out = PolyphaseSubsample(2)(x, rng(seed))
        assert out.shape == (3, 4, 5)
        seen |= {k for k, p in phases.items() if torch.equal(out, p)}
        assert torch.equal(out, PolyphaseSubsample(2)(x, rng(seed)))
    assert seen == set(phases)
    assert torch.equal(PolyphaseSubsample(2, random_phase=False)(x, rng(5)), phases[(0, 0)])


def test_random_crop_is_a_slice_determined_by_the_rng():
    x = image(20, 30)
    out = RandomCrop((8, 10))(x, rng(3))
    assert out.shape == (3, 8, 10)
    assert torch.equal(out, RandomCrop([8, 10])(x, rng(3)))
    corners = {
        (top, left)
        for seed in range(30)
        for top in range(13)
        for left in range(21)
        if torch.equal(RandomCrop((8, 10))(x, rng(seed)), x[:, top : top + 8, left : left + 10])
    }
    assert len(corners) > 10  # positions vary with the rng


def test_crops_resize_small_images_up_and_say_so():
    x = image(6, 12)
    with pytest.warns(UserWarning, match=r"image 12×6 is smaller than the 8×8 crop; resizing it to 16×8"):
        assert RandomCrop(8)(x, rng()).shape == (3, 8, 8)
    with pytest.warns(UserWarning, match="CenterCrop"):
        assert CenterCrop(8)(x).shape == (3, 8, 8)


def test_center_crop_and_resize_sizes():
    x = image(10, 20)
    assert torch.equal(CenterCrop(4)(x), x[:, 3:7, 8:12])
    assert Resize(16)(x).shape == (3, 16, 16)
    assert Resize([5, 7])(x).shape == (3, 5, 7)
    assert Resize(15, mode="shorter_side")(x).shape == (3, 15, 30)
    assert Resize(4, mode="shorter_side")(image(30, 10)).shape == (3, 12, 4)
    bicubic = Resize(37, interpolation="bicubic")(torch.randint(0, 2, (3, 10, 20)).float())
    assert bicubic.min() >= 0 and bicubic.max() <= 1  # overshoot clamped
    flat = torch.full((3, 40, 40), 0.25)
    assert torch.allclose(Resize(7)(flat), torch.full((3, 7, 7), 0.25))
    with pytest.raises(ValueError, match="shorter_side"):
        Resize([4, 5], mode="shorter_side")


def test_resize_is_antialiased():
    stripes = torch.zeros(3, 64, 64)
    stripes[:, :, ::2] = 1.0  # one-pixel stripes: a plain subsampling would keep only one of the colors
    inner = Resize(16)(stripes)[:, :, 1:-1]  # the border columns see a truncated filter
    assert torch.allclose(inner, torch.full_like(inner, 0.5), atol=1e-5)


def test_flip_and_rot90():
    x = image(6, 6)
    assert torch.equal(RandomHorizontalFlip(p=1.0)(x, rng()), x.flip(-1))
    assert torch.equal(RandomHorizontalFlip(p=0.0)(x, rng()), x)
    assert torch.equal(RandomRot90(p=0.0)(x, rng()), x)
    rotations = {k: torch.rot90(x, k, dims=(1, 2)) for k in range(4)}
    seen = set()
    for seed in range(40):
        out = RandomRot90()(x, rng(seed))
        seen |= {k for k, r in rotations.items() if torch.equal(out, r)}
        assert torch.equal(out, RandomRot90()(x, rng(seed)))
    assert seen == {0, 1, 2, 3}
    assert RandomRot90()(image(4, 6), rng(1)).shape in {(3, 4, 6), (3, 6, 4)}


def test_randomness_comes_only_from_the_given_rng():
    pipeline = Compose(
        [Resize(20), RandomCrop(12), RandomHorizontalFlip(), RandomRot90(), PolyphaseSubsample()]
    )
    x = image(30, 40)
    np.random.seed(1)
    torch.manual_seed(1)
    first = pipeline(x, rng(7))
    np.random.seed(2)
    torch.manual_seed(2)
    assert torch.equal(first, pipeline(x, rng(7)))
    assert first.shape == (3, 6, 6)
    outputs = {pipeline(x, rng(seed)).numpy().tobytes() for seed in range(10)}
    assert len(outputs) > 5


def test_transforms_pickle_for_dataloader_workers():
    pipeline = Compose([Resize([8, 9]), CenterCrop(6), RandomCrop(4), RandomHorizontalFlip(0.3)])
    restored = pickle.loads(pickle.dumps(pipeline))
    x = image()
    assert torch.equal(restored(x, rng(4)), pipeline(x, rng(4)))
    assert "RandomCrop((4, 4))" in repr(restored)
