"""The speed options of every method's training (conf/model_base/gan.yaml): `model.compile`,
`model.channels_last` and `trainer.precision=bf16-mixed`, on CPU. Each trains one batch of every method
(and of each training phase that runs other losses: EdgeConnect's edge and inpainting models, GMCNN's
pre-training and fine-tuning) from the same weights as eager float32, with finite losses that agree
with eager float32 within the option's tolerance; compiled networks compile once and never again."""

from __future__ import annotations

import functools
import math

import pytest
import pytorch_lightning as pl
import torch

from benchmarks.training_speed import build_model
from overfitting import fit_repeated
from test_configs import TINY_MODELS

# torch.compile on 2 CPU cores (tens of seconds a method) and one batch of each method per option
pytestmark = pytest.mark.slow

# case: (method, overrides besides its tiny widths, image size)
CASES = {
    "gatedconv": ("gatedconv", (), 64),
    "edgeconnect_edge": ("edgeconnect", (), 64),
    "edgeconnect_inpaint": ("edgeconnect", ("model.stage=inpaint",), 64),
    "gmcnn_pretrain": ("gmcnn", (), 32),
    "gmcnn_finetune": ("gmcnn", ("model.pretrain_steps=0",), 32),
    "hifill": ("hifill", (), 64),
    "deepgin": ("deepgin", ("model.warmup_epochs=0",), 64),
    "blockwise": ("blockwise", (), 64),
    "feature_translation": ("feature_translation", ("model.generator.image_size=64",), 64),
}
# option: (model overrides, trainer precision, relative and absolute tolerance on each loss term against
# eager float32 after one batch). Compiled kernels and NHWC convolutions sum in another order (float32
# rounding); bf16 keeps 8 bits of mantissa through every layer.
OPTIONS = {
    "compile": (("model.compile=true",), "32-true", 1e-3, 1e-4),
    "channels_last": (("model.channels_last=true",), "32-true", 1e-3, 1e-4),
    "bf16": ((), "bf16-mixed", 0.05, 0.02),
}


def one_batch(size: int) -> dict:
    image = torch.rand(2, 3, size, size, generator=torch.Generator().manual_seed(0))
    mask = torch.zeros(2, 1, size, size)
    mask[..., size // 4 : 3 * size // 4, size // 4 : 3 * size // 4] = 1
    return {"image": image, "mask": mask}


def build(case: str, overrides: tuple[str, ...] = ()) -> pl.LightningModule:
    method, extra, _ = CASES[case]
    torch.manual_seed(0)  # the same initial weights for every option
    return build_model([f"model={method}", *TINY_MODELS[method], *extra, *overrides])


# logged, but counts of thresholded pixels rather than losses: a rounding flips them
THRESHOLDED = {"train/edge_precision", "train/edge_recall"}


def losses(trainer: pl.Trainer) -> dict[str, float]:
    return {
        key: float(value)
        for key, value in trainer.callback_metrics.items()
        if key.startswith("train/") and not key.endswith("_lr") and key not in THRESHOLDED
    }


def train_one_batch(model: pl.LightningModule, batch: dict, precision: str = "32-true") -> dict[str, float]:
    torch.manual_seed(1)  # the same random draws in the step (WGAN-GP's interpolation, masks)
    return losses(fit_repeated(model, batch, 1, precision=precision))


@functools.cache
def eager_losses(case: str) -> dict[str, float]:
    """Eager float32 losses of the case's first batch, computed once."""
    return train_one_batch(build(case), one_batch(CASES[case][2]))


def assert_agrees_with_eager(case: str, option: str, trained: dict[str, float]) -> None:
    _, _, rtol, atol = OPTIONS[option]
    expected = eager_losses(case)
    assert trained.keys() == expected.keys()
    assert all(math.isfinite(value) for value in trained.values()), trained
    for term, value in trained.items():
        assert value == pytest.approx(expected[term], rel=rtol, abs=atol), (term, trained, expected)


@pytest.mark.parametrize("option", ["bf16", "channels_last"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_option_trains_one_batch_as_eager_float32(case, option):
    overrides, precision, _, _ = OPTIONS[option]
    trained = train_one_batch(build(case, overrides), one_batch(CASES[case][2]), precision)
    assert_agrees_with_eager(case, option, trained)


def compiled_frames() -> int:
    return torch._dynamo.utils.counters["frames"]["ok"]


@pytest.mark.parametrize("case", sorted(CASES))
def test_compiled_training_agrees_with_eager_and_compiles_once(case):
    """The first batch compiles each network's graphs (training, and frozen while the other network
    steps) and trains as eager float32 does; the next batch of that shape compiles nothing more."""
    torch._dynamo.reset()
    model = build(case, OPTIONS["compile"][0])
    batch = one_batch(CASES[case][2])
    assert_agrees_with_eager(case, "compile", train_one_batch(model, batch))
    compiled = compiled_frames()
    assert compiled > 0
    fit_repeated(model, batch, 1)
    assert compiled_frames() == compiled
