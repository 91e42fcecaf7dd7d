"""InpaintingMetrics: known values, hole-ratio buckets, and LPIPS/FID with and without weights files."""

import math

import pytest
import torch
import torchvision
from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

from evaluation.metrics import BUCKETS, FAST_METRICS, PSNR_CAP_DB, InpaintingMetrics, hole_ratio_bucket

SIZE = 64


@pytest.fixture(scope="module")
def random_weights(tmp_path_factory):
    """Random-weight files under the cache names (the cache does not check hashes), built once."""
    folder = tmp_path_factory.mktemp("random_weights")
    torch.save(torchvision.models.alexnet(weights=None).state_dict(), folder / "alexnet-owt-7be5be79.pth")
    # torch-fidelity loads its own FeatureExtractorInceptionV3 state dict (strictly); build one with
    # random weights by skipping its load once.
    empty = folder / "empty.pth"
    torch.save({}, empty)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(FeatureExtractorInceptionV3, "load_state_dict", lambda self, state_dict: None)
        inception = FeatureExtractorInceptionV3("random", ["2048"], feature_extractor_weights_path=str(empty))
    torch.save(inception.state_dict(), folder / "weights-inception-2015-12-05-6726825d.pth")
    empty.unlink()
    return folder


@pytest.fixture
def seeded_home(torch_home, random_weights, no_network):
    for path in random_weights.iterdir():
        (torch_home / "hub" / "checkpoints" / path.name).symlink_to(path)
    return torch_home


def mask_with_ratio(ratio: float) -> torch.Tensor:
    mask = torch.zeros(SIZE * SIZE)
    mask[: round(ratio * SIZE * SIZE)] = 1
    return mask.view(1, SIZE, SIZE)


def batch(ratios, offset=0.1, seed=0):
    """Images in [0, 0.9] and composites brighter by `offset` inside the hole."""
    image = torch.rand(len(ratios), 3, SIZE, SIZE, generator=torch.Generator().manual_seed(seed)) * 0.9
    mask = torch.stack([mask_with_ratio(r) for r in ratios])
    return image + offset * mask, image, mask


def test_identical_images_have_capped_psnr_ssim_one_l1_zero(torch_home):
    metrics = InpaintingMetrics(FAST_METRICS)
    image = torch.rand(3, 3, SIZE, SIZE)
    metrics.update(image.clone(), image, torch.ones(3, 1, SIZE, SIZE))
    overall = metrics.compute()["overall"]
    assert overall["psnr"] == PSNR_CAP_DB and math.isfinite(overall["psnr"])
    assert overall["ssim"] == pytest.approx(1.0, abs=1e-5)
    assert overall["l1"] == 0.0
    assert overall["count"] == 3


def test_constant_offset_gives_known_psnr_and_l1(torch_home):
    metrics = InpaintingMetrics(FAST_METRICS)
    metrics.update(*batch([1.0, 1.0], offset=0.1))
    overall = metrics.compute()["overall"]
    assert overall["psnr"] == pytest.approx(20.0, abs=1e-3)  # 10·log10(1 / 0.1²)
    assert overall["l1"] == pytest.approx(0.1, abs=1e-5)
    assert overall["ssim"] < 1.0


def test_summed_errors_of_the_block_wise_table(torch_home):
    """ℓ1 and ℓ2 summed over every pixel and channel of each image (values in [0, 1]), then averaged over
    images: a hole of a quarter of a SIZE² image, 0.1 too bright, sums 0.1 and 0.01 over its 3·SIZE²/4
    values."""
    metrics = InpaintingMetrics(["l1_sum", "l2_sum"])
    metrics.update(*batch([0.25, 0.25], offset=0.1))
    overall = metrics.compute()["overall"]
    values = 3 * SIZE * SIZE / 4
    assert overall["l1_sum"] == pytest.approx(0.1 * values, rel=1e-4)
    assert overall["l2_sum"] == pytest.approx(0.01 * values, rel=1e-4)


def test_hole_l1_of_the_feature_translation_table(torch_home):
    """ℓ1 averaged over the hole's values only: a hole of a quarter of the image, 0.1 too bright, has a
    hole error of 0.1 whatever its share of the image (the whole-image l1 is a quarter of it)."""
    metrics = InpaintingMetrics(["l1_hole", "l1"])
    metrics.update(*batch([0.25, 0.5], offset=0.1))
    overall = metrics.compute()["overall"]
    assert overall["l1_hole"] == pytest.approx(0.1, abs=1e-5)
    assert overall["l1"] == pytest.approx(0.1 * (0.25 + 0.5) / 2, abs=1e-5)


def test_bucket_boundaries():
    masks = torch.stack([mask_with_ratio(r) for r in (0.0, 0.0999, 0.1, 0.15, 0.5, 0.95, 1.0)])
    assert hole_ratio_bucket(masks).tolist() == [0, 0, 1, 1, 5, 9, 9]


def test_buckets_counts_and_overall_is_their_weighted_mean(torch_home):
    metrics = InpaintingMetrics(FAST_METRICS)
    metrics.update(*batch([0.05, 0.12, 0.15, 0.55], seed=1))
    metrics.update(*batch([0.18, 1.0, 0.95], offset=0.05, seed=2))
    result = metrics.compute()
    buckets = result["buckets"]
    assert list(buckets) == ["0-10%", "10-20%", "50-60%", "90-100%"]  # empty buckets left out
    assert [b["count"] for b in buckets.values()] == [1, 3, 1, 2]
    assert set(buckets["10-20%"]) == {"psnr", "ssim", "l1", "count"}
    overall = result["overall"]
    assert overall["count"] == 7
    for name in FAST_METRICS:
        weighted = sum(b[name] * b["count"] for b in buckets.values()) / overall["count"]
        assert overall[name] == pytest.approx(weighted, rel=1e-6)
    assert result["unavailable"] == {}
    assert "lpips" not in overall and "fid" not in overall  # not asked for is not "unavailable"


def test_bucket_value_is_the_mean_of_its_images(torch_home):
    metrics = InpaintingMetrics(["l1"])
    metrics.update(*batch([0.12, 0.15], offset=0.1))
    expected = (0.1 * (0.12 * SIZE * SIZE) + 0.1 * round(0.15 * SIZE * SIZE)) / 2 / (SIZE * SIZE)
    assert metrics.compute()["buckets"]["10-20%"]["l1"] == pytest.approx(expected, rel=1e-3)


def test_reset_and_empty_compute(torch_home):
    metrics = InpaintingMetrics(FAST_METRICS)
    assert metrics.compute()["overall"] == {"psnr": None, "ssim": None, "l1": None, "count": 0}
    metrics.update(*batch([0.5]))
    metrics.reset()
    metrics.update(*batch([0.95, 0.95]))
    assert metrics.compute()["overall"]["count"] == 2


def test_per_image_rows_are_every_image_s_values_in_dataset_order(torch_home):
    metrics = InpaintingMetrics(FAST_METRICS, per_image_rows=True)
    first, second = batch([0.05, 0.55], seed=1), batch([0.2], offset=0.05, seed=2)
    metrics.update(*first, index=torch.tensor([7, 2]))
    metrics.update(*second, index=torch.tensor([4]))
    result = metrics.compute()
    rows = result["images"]
    assert [row["index"] for row in rows] == [2, 4, 7]
    assert [row["hole_ratio"] for row in rows] == pytest.approx([0.55, 0.2, 0.05], abs=1 / SIZE**2)
    alone = InpaintingMetrics(FAST_METRICS)
    alone.update(*second)
    assert {name: rows[1][name] for name in FAST_METRICS} == pytest.approx(
        {name: alone.compute()["overall"][name] for name in FAST_METRICS}, rel=1e-6
    )
    for name in FAST_METRICS:
        assert result["overall"][name] == pytest.approx(sum(row[name] for row in rows) / 3, rel=1e-6)
    with pytest.raises(ValueError, match="dataset indices"):
        metrics.update(*second)
    assert "images" not in InpaintingMetrics(FAST_METRICS).compute()


def test_bf16_autocast_matches_float32(torch_home):
    composite, image, mask = batch([0.3, 0.7])
    reference = InpaintingMetrics(FAST_METRICS)
    reference.update(composite, image, mask)
    metrics = InpaintingMetrics(FAST_METRICS)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        metrics.update(composite.bfloat16(), image, mask)
    got, want = metrics.compute()["overall"], reference.compute()["overall"]
    assert got["psnr"] == pytest.approx(want["psnr"], abs=0.1)
    assert got["ssim"] == pytest.approx(want["ssim"], abs=1e-2)


def test_unknown_metric_is_rejected(torch_home):
    with pytest.raises(ValueError, match="unknown metrics"):
        InpaintingMetrics(["psnr", "niqe"])


def test_lpips_and_fid_unavailable_without_weights(torch_home, no_network):
    metrics = InpaintingMetrics()
    metrics.update(*batch([0.25, 0.4, 0.6]))
    result = metrics.compute()
    assert result["overall"]["lpips"] is None and result["overall"]["fid"] is None
    assert math.isfinite(result["overall"]["psnr"])
    assert result["buckets"]["20-30%"]["lpips"] is None and "fid" not in result["buckets"]["20-30%"]
    folder = str(torch_home / "hub" / "checkpoints")
    assert "alexnet-owt-7be5be79.pth" in result["unavailable"]["lpips"]
    assert "weights-inception-2015-12-05-6726825d.pth" in result["unavailable"]["fid"]
    assert folder in result["unavailable"]["lpips"] and folder in result["unavailable"]["fid"]


def test_lpips_and_fid_with_cached_random_weights(seeded_home):
    metrics = InpaintingMetrics()
    metrics.update(*batch([0.2, 0.4, 0.6], seed=3))
    metrics.update(*batch([0.25, 0.9], seed=4))
    result = metrics.compute()
    assert result["unavailable"] == {}
    overall = result["overall"]
    assert overall["count"] == 5
    assert math.isfinite(overall["lpips"]) and overall["lpips"] > 0
    assert math.isfinite(overall["fid"])
    buckets = result["buckets"]
    weighted = sum(b["lpips"] * b["count"] for b in buckets.values()) / 5
    assert overall["lpips"] == pytest.approx(weighted, rel=1e-5)


def test_fid_with_one_image_is_unavailable_not_an_error(seeded_home):
    metrics = InpaintingMetrics(["psnr", "fid"], fid_feature=64)
    metrics.update(*batch([0.5]))
    result = metrics.compute()
    assert result["overall"]["fid"] is None
    assert result["unavailable"]["fid"] == "needs at least 2 images, got 1"
    assert result["overall"]["psnr"] is not None


def test_buckets_cover_zero_to_hundred_percent():
    assert BUCKETS[0] == "0-10%" and BUCKETS[-1] == "90-100%" and len(BUCKETS) == 10


def test_networks_stay_out_of_checkpoints_and_float32(seeded_home):
    metrics = InpaintingMetrics(["psnr", "lpips"])
    assert metrics.state_dict() == {}  # a LightningModule's .ckpt holds no AlexNet/InceptionV3
    model = torch.nn.Module()
    model.metrics = metrics
    model.load_state_dict({}, strict=True)
    model.to(torch.bfloat16)  # Lightning's "bf16-true" casts the whole module
    metrics.update(*batch([0.5, 0.6]))
    assert math.isfinite(metrics.compute()["overall"]["lpips"])
