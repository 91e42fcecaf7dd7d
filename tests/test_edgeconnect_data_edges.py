"""EdgeConnect trains on Canny edges computed in the DataLoader workers (the model's `sample_extras`, as the
official src/dataset.py computes them in its loader): the train batches of the composed configs carry
`edge`, pixel for pixel the edges the training step computed itself before, on the final cropped and
flipped image; the step takes them without running Canny; other methods' batches carry none."""

from __future__ import annotations

import copy
import pickle
from pathlib import Path
from typing import Any

import kornia
import pytest
import pytorch_lightning as pl
import torch
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate
from omegaconf import DictConfig

from benchmarks.training_speed import bare_trainer
from lightning_modules.base import InpaintingModule
from lightning_modules.edgeconnect.module import EdgeConnectInpainting
from overfitting import fit_repeated
from suite.train import build_datamodule
from test_configs import TINY_MODELS
from test_edgeconnect_stages import batch as stage_batch

CONF = Path(__file__).resolve().parents[1] / "conf"
# 40² textures randomly cropped to 32² and flipped: edges taken before the transforms would not match
DATA = [
    "data=synthetic",
    "data.source.size=40",
    "data.source.num_train=8",
    "data.batch_size=2",
    "data.pin_memory=false",
    "data.train_transform.transforms=[{_target_:datamodules.transforms.RandomCrop,size:32},"
    "{_target_:datamodules.transforms.RandomHorizontalFlip}]",
]
# the inpainting stages' perceptual and style losses on VGG19 up to relu2_1 only (test cost)
SMALL_VGG = [
    "model.perceptual.perceptual_layers=[relu1_1,relu2_1]",
    "model.perceptual.perceptual_weights=[1.0,1.0]",
    "model.perceptual.style_layers=[relu1_2]",
]
pytestmark = pytest.mark.filterwarnings(
    "ignore:.*does not have many workers", "ignore:The number of training batches"
)


def composed(model: str, *overrides: str) -> DictConfig:
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        return compose("train", overrides=[f"model={model}", *TINY_MODELS[model], *DATA, *overrides])


class TrainBatches(pl.Callback):
    """Copies of the batches the training step receives."""

    def __init__(self) -> None:
        self.batches: list[dict[str, Any]] = []

    def on_train_batch_start(self, trainer, module, batch, batch_idx) -> None:
        self.batches.append({key: value.clone() for key, value in batch.items() if torch.is_tensor(value)})


def train_batches(model: str, *overrides: str, batches: int = 2) -> tuple[InpaintingModule, list[dict]]:
    """The batches a real fit on the composed config's datamodule hands the model's training step."""
    cfg = composed(model, *overrides)
    torch.manual_seed(0)
    module = instantiate(cfg.model)
    seen = TrainBatches()
    trainer = bare_trainer(
        limit_train_batches=batches, limit_val_batches=0, num_sanity_val_steps=0, callbacks=[seen]
    )
    trainer.fit(module, datamodule=build_datamodule(cfg))
    assert len(seen.batches) == batches
    return module, seen.batches


@pytest.mark.parametrize("workers", [0, 2])
def test_train_batches_carry_the_edges_the_step_computed(workers: int) -> None:
    model, batches = train_batches("edgeconnect", "model.stage=edge", f"data.num_workers={workers}")
    extras = pickle.loads(pickle.dumps(model.sample_extras()))  # as workers started by spawn receive it
    assert torch.equal(extras({"image": batches[0]["image"][0]})["edge"], batches[0]["edge"][0])
    for batch in batches:
        image = batch["image"]
        assert image.shape == (2, 3, 32, 32)
        _, expected = model.edge_inputs(image)  # the step's own path: the whole image's Canny edges
        assert batch["edge"].dtype == torch.float32 and batch["edge"].shape == (2, 1, 32, 32)
        assert expected.sum() > 0  # not vacuous: the textures have edges
        assert torch.equal(batch["edge"], expected)


def test_evaluation_samples_keep_their_own_edges() -> None:
    # Validation and test take the known region's edges in the step (forward); their samples carry none.
    cfg = composed("edgeconnect", "data.num_workers=0")
    datamodule = build_datamodule(cfg)
    datamodule.setup("fit")
    assert "edge" not in datamodule.dataset("val")[0]


def losses(trainer: pl.Trainer) -> dict[str, torch.Tensor]:
    return {key: value for key, value in trainer.callback_metrics.items() if key.startswith("train/")}


@pytest.mark.filterwarnings("ignore:You defined a `validation_step` but have no `val_dataloader`")
@pytest.mark.parametrize("stage", ["edge_and_inpaint", "edge_inpaint", "joint"])
def test_the_step_takes_the_batch_edges_without_running_canny(stage: str, monkeypatch) -> None:
    cfg = composed("edgeconnect", f"model.stage={stage}", *SMALL_VGG)
    torch.manual_seed(0)
    computing: EdgeConnectInpainting = instantiate(cfg.model)
    given = copy.deepcopy(computing)
    batch = stage_batch()
    with_edges = {**batch, "edge": computing.edge_inputs(batch["image"])[1]}

    torch.manual_seed(1)  # the same draws for both runs (VGG19's random weights)
    computed = losses(fit_repeated(computing, batch, 2))

    def no_canny(*args, **kwargs):
        raise AssertionError("Canny ran in the training step")

    monkeypatch.setattr(kornia.filters, "canny", no_canny)
    torch.manual_seed(1)
    taken = losses(fit_repeated(given, with_edges, 2))

    assert {"train/l1", "train/style"} <= computed.keys()
    assert computed.keys() == taken.keys()
    for key in computed:
        assert torch.equal(computed[key], taken[key]), key
    for name in computing.networks:
        assert all(
            torch.equal(a, b)
            for a, b in zip(
                computing.network(name).state_dict().values(), given.network(name).state_dict().values()
            )
        ), name


def test_other_methods_batches_carry_no_edges() -> None:
    model, batches = train_batches("gatedconv", "data.num_workers=0", batches=1)
    assert model.sample_extras() is None
    assert "edge" not in batches[0] and batches[0]["image"].shape == (2, 3, 32, 32)
