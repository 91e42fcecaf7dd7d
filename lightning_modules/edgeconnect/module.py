"""EdgeConnect (Nazeri et al., "EdgeConnect: Structure Guided Image Inpainting using Edge Prediction",
ICCV-W 2019) as a LightningModule with two G/D pairs: the edge model (G1, D1) and the inpainting model
(G2, D2), trained in the stages of the official code (knazeri/edge-connect, src/edge_connect.py, MODEL):

- `edge` (MODEL 1): G1 learns the Canny edges of the whole image from the gray image, its known edges and
  the mask; D1 judges (gray, edges).
- `inpaint` (MODEL 2): G2 learns the image from the image with holes and the ground truth's Canny edges.
- `edge_inpaint` (MODEL 3): G2 learns from G1's edges in the hole (G1 frozen), the composite edge map.
- `joint` (MODEL 4): both models train; G2's loss reaches G1 through the edges, as in the official code.
- `edge_and_inpaint`: MODEL 1 and MODEL 2 in one run (they are independent), the suite's single-run form;
  with `edge_inpaint_after` the run goes on as MODEL 3 from that optimizer step: the three published
  stages in one run.

A stage starts from the previous one's checkpoint with `init_from` (weights only, fresh optimizers: each
official stage is a new run that loads the saved generators and discriminators). Each official iteration
computes every loss before any step, so each network's step here uses the other networks' weights of
the start of the batch: the generators step first, the discriminators then judge the same outputs.

At inference G1 predicts the hole's edges from the known region's Canny edges, and G2 fills the hole.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import torch
from hydra.utils import instantiate
from omegaconf import DictConfig
from torch import Tensor

from lightning_modules.edgeconnect.canny_edges import (
    WholeImageEdges,
    canny_edges,
    edge_gray,
    known_region_edges,
)
from lightning_modules.edgeconnect.losses import (
    PerceptualStyleLoss,
    discriminator_loss,
    feature_matching_loss,
    generator_adversarial_loss,
    inpainting_l1,
)
from lightning_modules.gan import GANInpaintingModule, WeightedLoss

log = logging.getLogger(__name__)

STAGES = ("edge", "inpaint", "edge_inpaint", "joint", "edge_and_inpaint")


def edge_accuracy(target: Tensor, predicted: Tensor, threshold: float = 0.5) -> tuple[Tensor, Tensor]:
    """Precision and recall of the predicted edges above `threshold` (the official EdgeAccuracy, logged
    in the edge and joint stages; 1, 1 when neither map has an edge)."""
    labels, outputs = target > threshold, predicted > threshold
    relevant, selected = labels.sum().float(), outputs.sum().float()
    if relevant == 0 and selected == 0:
        return predicted.new_ones(()), predicted.new_ones(())
    true_positives = (labels & outputs).sum().float()
    return true_positives / (selected + 1e-8), true_positives / (relevant + 1e-8)


class EdgeConnectInpainting(GANInpaintingModule):
    """conf/model/edgeconnect.yaml gives every value and its source. `generator` / `discriminator` (the
    base's pair) are G2 / D2, whose channels follow the bottleneck; `edge_generator` / `edge_discriminator`
    are G1 / D1 on the gray image and edges, alike in both forms. `gan` holds the arguments of
    GANInpaintingModule (networks, optimizers, bottleneck, metrics)."""

    networks = ("edge_g", "edge_d", "g", "d")
    network_attributes = {
        "edge_g": "edge_generator",
        "edge_d": "edge_discriminator",
        "g": "generator",
        "d": "discriminator",
    }
    generator_extra_channels = 1  # G2 sees the image with white holes and the composite edge map
    size_multiple = 4  # two stride-2 convs, undone by two transposed convs

    def __init__(
        self,
        edge_generator: DictConfig | dict,
        edge_discriminator: DictConfig | dict,
        perceptual: DictConfig | dict,
        stage: str = "edge",
        sigma: float = 2.0,
        canny_thresholds: Sequence[float] = (0.1, 0.2),
        gan_loss: str = "nsgan",
        edge_adversarial_weight: float = 1.0,
        feature_matching_weight: float = 10.0,
        l1_weight: float = 1.0,
        adversarial_weight: float = 0.1,
        perceptual_weight: float = 0.1,
        style_weight: float = 250.0,
        inference_edges: str = "composite",
        edge_threshold: float = 0.5,
        edge_inpaint_after: int | None = None,
        **gan: Any,
    ):
        super().__init__(**gan)
        if stage not in STAGES:
            raise ValueError(f"model.stage must be one of {STAGES}, got {stage!r}")
        if edge_inpaint_after is not None and (
            stage != "edge_and_inpaint" or edge_inpaint_after <= 0 or edge_inpaint_after % 4
        ):
            # 4 optimizer steps per edge_and_inpaint batch: the switch falls on a batch's first step
            raise ValueError(
                "model.edge_inpaint_after needs model.stage=edge_and_inpaint and a positive multiple of 4, "
                f"got {edge_inpaint_after!r} with stage {stage!r}"
            )
        if inference_edges not in ("composite", "predicted"):
            raise ValueError(
                f"model.inference_edges must be 'composite' or 'predicted', got {inference_edges!r}"
            )
        self.edge_generator = instantiate(edge_generator)
        self.edge_discriminator = instantiate(edge_discriminator)
        self._perceptual_loss: PerceptualStyleLoss | None = None

    def discriminator_channels(self, out_channels: int) -> int:
        return out_channels  # D2 judges the image alone (official InpaintingModel: in_channels=3)

    # --- networks ------------------------------------------------------------------------------------
    def edge_inputs(self, image: Tensor, mask: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """The gray image and its Canny edges: of the whole image (training, as the official dataset), or
        of the known region alone when `mask` is given (inference, the official test mode)."""
        gray = edge_gray(image)
        sigma, (low, high) = self.hparams.sigma, self.hparams.canny_thresholds
        if mask is None:
            return gray, canny_edges(gray, sigma, low, high).to(gray.dtype)
        return gray, known_region_edges(gray, mask, sigma, low, high).to(gray.dtype)

    def predict_edges(self, gray: Tensor, edges: Tensor, mask: Tensor) -> Tensor:
        """G1 on [gray with white holes, the known edges, mask] (official EdgeModel.forward)."""
        known = 1 - mask
        return self.edge_generator(torch.cat([gray * known + mask, edges * known, mask], dim=1))

    def complete(self, image: Tensor, edges: Tensor, mask: Tensor) -> Tensor:
        """G2 on [image with white holes, edge map] (official InpaintingModel.forward), in [0, 1]."""
        holes_white = self.bottleneck.network_image(image) * (1 - mask) + mask
        return self.generator(torch.cat([holes_white, edges], dim=1))

    def forward(self, image: Tensor, mask: Tensor) -> Tensor:
        gray, edges = self.edge_inputs(image, mask)
        predicted = self.predict_edges(gray, edges, mask)
        if self.hparams.inference_edges == "composite":  # the paper's C_comp, as G2 was trained on
            predicted = predicted * mask + edges * (1 - mask)
        return self.complete(image, predicted, mask)

    @property
    def perceptual_loss(self) -> PerceptualStyleLoss:
        if self._perceptual_loss is None:
            # Not a submodule: VGG19 is no part of the model (small checkpoints, no weights file needed
            # to evaluate). Built on first use, on the module's device.
            loss = PerceptualStyleLoss(**self.hparams.perceptual).to(self.device)
            object.__setattr__(self, "_perceptual_loss", loss)
        return self._perceptual_loss

    def on_fit_start(self) -> None:
        super().on_fit_start()  # model.init_from: the previous stage's weights
        if self.hparams.stage != "edge":
            self.perceptual_loss  # noqa: B018 -- a missing VGG19 file fails now, not at the first batch

    # --- training ------------------------------------------------------------------------------------
    def sample_extras(self) -> WholeImageEdges:
        """Each training sample's whole-image Canny edges (`edge`), computed in the DataLoader workers."""
        low, high = self.hparams.canny_thresholds
        return WholeImageEdges(self.hparams.sigma, low, high)

    def current_stage(self) -> str:
        """`model.stage`, or `edge_inpaint` from the step `edge_inpaint_after` on."""
        switch = self.hparams.edge_inpaint_after
        return "edge_inpaint" if switch is not None and self.global_step >= switch else self.hparams.stage

    def on_train_batch_start(self, batch: dict[str, Any], batch_idx: int) -> None:
        super().on_train_batch_start(batch, batch_idx)
        # The official MODEL 3 is a new run that loads the saved networks: G2's and D2's Adam start afresh.
        # global_step equals edge_inpaint_after at the first MODEL 3 batch only.
        if self.global_step == self.hparams.edge_inpaint_after:
            for name in ("g", "d"):
                self.optimizers()[self.networks.index(name)].optimizer.state.clear()

    def training_step(self, batch: dict[str, Any], batch_idx: int) -> None:
        image, mask = batch["image"], batch["mask"]
        if "edge" in batch:  # from the loader's workers (sample_extras)
            gray, edges = edge_gray(image), batch["edge"].to(image.dtype)
        else:  # a batch from elsewhere (in-memory batches of tests and benchmarks)
            gray, edges = self.edge_inputs(image)
        stage = self.current_stage()
        if stage == "joint":
            self.joint_step(image, gray, edges, mask)
            return
        if stage in ("edge", "edge_and_inpaint"):
            self.edge_step(gray, edges, mask)
        if stage in ("inpaint", "edge_and_inpaint"):
            self.inpaint_step(image, edges, mask)
        if stage == "edge_inpaint":
            with torch.no_grad():
                predicted = self.predict_edges(gray, edges, mask)
            self.inpaint_step(image, predicted * mask + edges * (1 - mask), mask)

    # `judge`: one discriminator forward on the fakes serves both steps where it can
    def edge_step(self, gray: Tensor, edges: Tensor, mask: Tensor) -> None:
        predicted = self.predict_edges(gray, edges, mask)
        real, real_features = self.edge_discriminator(torch.cat([gray, edges], dim=1))
        fake = self.judge(self.edge_discriminator, torch.cat([gray, predicted], dim=1))
        with self.optimizing("edge_g", retain_graph=fake.retain_graph) as loss:
            self.edge_generator_terms(loss, edges, predicted, fake.for_generator(), real_features, mask)
        with self.optimizing("edge_d") as loss:
            loss.add(
                "edge_d_adv", discriminator_loss(real, fake.for_discriminator()[0], self.hparams.gan_loss)
            )

    def inpaint_step(self, image: Tensor, edges: Tensor, mask: Tensor) -> None:
        target = self.bottleneck.target(image)
        output = self.complete(image, edges, mask)
        real, _ = self.discriminator(target)
        fake = self.judge(self.discriminator, output)
        with self.optimizing("g", retain_graph=fake.retain_graph) as loss:
            self.inpaint_generator_terms(loss, output, fake.for_generator()[0], target, mask)
        with self.optimizing("d") as loss:
            loss.add("d_adv", discriminator_loss(real, fake.for_discriminator()[0], self.hparams.gan_loss))

    def joint_step(self, image: Tensor, gray: Tensor, edges: Tensor, mask: Tensor) -> None:
        target = self.bottleneck.target(image)
        predicted = self.predict_edges(gray, edges, mask)
        output = self.complete(image, predicted * mask + edges * (1 - mask), mask)
        edge_real, edge_real_features = self.edge_discriminator(torch.cat([gray, edges], dim=1))
        edge_fake = self.judge(self.edge_discriminator, torch.cat([gray, predicted], dim=1))
        real, _ = self.discriminator(target)
        fake = self.judge(self.discriminator, output)
        with self.optimizing_together(("edge_g", "g"), retain_graph=fake.retain_graph) as (edge_loss, loss):
            judged = edge_fake.for_generator()
            self.edge_generator_terms(edge_loss, edges, predicted, judged, edge_real_features, mask)
            self.inpaint_generator_terms(loss, output, fake.for_generator()[0], target, mask)
        with self.optimizing("edge_d") as loss:
            edge_fake_logits = edge_fake.for_discriminator()[0]
            loss.add("edge_d_adv", discriminator_loss(edge_real, edge_fake_logits, self.hparams.gan_loss))
        with self.optimizing("d") as loss:
            loss.add("d_adv", discriminator_loss(real, fake.for_discriminator()[0], self.hparams.gan_loss))

    def edge_generator_terms(
        self,
        loss: WeightedLoss,
        edges: Tensor,
        predicted: Tensor,
        judged: tuple[Tensor, list],
        real_features: list,
        mask: Tensor,
    ) -> None:
        """Eq. 2's generator side: nsgan adversarial × 1 + feature matching × 10 (official EdgeModel), on
        D1's logits and features of the predicted edges."""
        hp = self.hparams
        fake, fake_features = judged
        loss.add("edge_adv", generator_adversarial_loss(fake, hp.gan_loss), hp.edge_adversarial_weight)
        loss.add("edge_fm", feature_matching_loss(fake_features, real_features), hp.feature_matching_weight)
        with torch.no_grad():
            precision, recall = edge_accuracy(edges * mask, predicted * mask, hp.edge_threshold)
        self.log_dict({"train/edge_precision": precision, "train/edge_recall": recall})

    def inpaint_generator_terms(
        self, loss: WeightedLoss, output: Tensor, fake: Tensor, target: Tensor, mask: Tensor
    ) -> None:
        """Eq. 7: L1 / mean(mask) × 1, adversarial × 0.1 on the raw output (D2's logits `fake`),
        perceptual × 0.1 on the raw output, style × 250 on the hole alone (output · mask against
        target · mask), official InpaintingModel."""
        hp = self.hparams
        loss.add("g_adv", generator_adversarial_loss(fake, hp.gan_loss), hp.adversarial_weight)
        loss.add("l1", inpainting_l1(output, target, mask), hp.l1_weight)
        perceptual, style = self.perceptual_loss(output, target, mask)
        loss.add("perceptual", perceptual, hp.perceptual_weight)
        loss.add("style", style, hp.style_weight)
