"""The GAN training base of every method: a generator and a discriminator trained by manual optimization.

Lightning 2 trains GANs with manual optimization; this module writes its step sequence once. A method
builds its losses inside `with self.optimizing("g") as loss:` (or "d"), adding each term with its weight;
the other networks' parameters get no gradients inside it, and on leaving it the weighted sum is
back-propagated, the gradients are clipped when `gradient_clip_norm` asks for it, and the optimizer
steps. Every term is logged as `train/<term>`, the weighted sum as `train/<g|d>_loss` and the learning
rate as `train/<g|d>_lr`.

Optimizers and learning-rate schedules are Hydra `_partial_` configs (`model.optimizer.g`, `.d`,
`model.scheduler.g`, `.d`), so a sweep can vary them like any other setting. Schedules step once per
epoch.

Speed options, the same for every method: `compile` (torch.compile of each network with an optimizer, in
place, so checkpoints keep their keys) and `channels_last` (NHWC weights, whose activations follow).
Mixed precision is the trainer's (`trainer.precision=bf16-mixed`, CPU or GPU); the terms that need
float32 keep it where they are computed (spectral norm's power iteration, WGAN-GP's penalty, ID-MRF, the
colorization fits).
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch
from hydra.utils import instantiate
from omegaconf import DictConfig
from torch import Tensor, nn

from lightning_modules.base import TEST_METRICS, VAL_METRICS, InpaintingModule
from lightning_modules.released_weights import fresh_networks

log = logging.getLogger(__name__)


class WeightedLoss:
    """The terms of one network's loss, each with its weight, in the order they were added."""

    def __init__(self) -> None:
        self.terms: dict[str, tuple[float, Tensor]] = {}

    def add(self, name: str, value: Tensor, weight: float = 1.0) -> Tensor:
        """Adds `weight · value` to the loss under `name`; returns value."""
        if name in self.terms:
            raise ValueError(f"loss term {name!r} added twice")
        self.terms[name] = (weight, value)
        return value

    def total(self) -> Tensor:
        weighted = [weight * value for weight, value in self.terms.values()]
        if not weighted:
            raise ValueError("an optimizer step needs at least one loss term")
        return sum(weighted[1:], weighted[0])


class FakeVerdict:
    """A discriminator's output on the fake, for the generator's step and then for the discriminator's own
    (on the detached fake). The two are equal, the discriminator not having stepped in between, so one
    forward serves both when `shared`: the generator's step then keeps the graph (`retain_graph`) and
    each step's backward reaches its own network alone. Two forwards where that cannot work: compiled
    backward graphs free their buffers and cannot be kept, and DDP's reducer waits for a gradient of
    every parameter in the graph of a backward."""

    def __init__(self, discriminator: nn.Module, fake: Tensor, shared: bool) -> None:
        self.discriminator, self.fake = discriminator, fake
        self.shared = discriminator(fake) if shared else None

    @property
    def retain_graph(self) -> bool:
        """What the generator's step passes on: a shared forward's graph serves the discriminator's next."""
        return self.shared is not None

    def for_generator(self) -> Any:
        return self.shared if self.shared is not None else self.discriminator(self.fake)

    def for_discriminator(self) -> Any:
        return self.shared if self.shared is not None else self.discriminator(self.fake.detach())


class GANInpaintingModule(InpaintingModule):
    """generator / discriminator: Hydra configs of the networks without their channel counts, which follow
    the bottleneck (so a checkpoint alone rebuilds the model); optimizer / scheduler: {g: ..., d: ...} of
    `_partial_` configs (a scheduler may be null); gradient_clip_norm: {g: ..., d: ...}, the gradient norm
    each network is clipped to (null: not clipped). A method sets `generator_extra_channels` and
    `discriminator_channels` and implements `forward` and `training_step`.

    init_from: a checkpoint (a run's last.ckpt or a converted release, import_release.py) whose weights
    training starts from, with fresh optimizers (fine-tuning, or the next stage of a staged method), or
    {network: checkpoint} to take each network from its own; ignored when a run resumes.

    compile: false, true, or torch.compile's keyword arguments (e.g. {mode: max-autotune}) for every
    network in `networks`; channels_last: NHWC memory format for those networks (their convolutions'
    outputs follow)."""

    generator_extra_channels: int = 1  # generator input channels besides the image (e.g. the mask)
    generator_outputs: int = 1  # images the generator predicts (the block-wise guided model: two)
    # The networks with an optimizer each, in optimizer order; a method with more (EdgeConnect's edge and
    # inpainting models) names them here and maps each name to its module in `network`.
    networks: tuple[str, ...] = ("g", "d")
    # the attribute of each network, whose prefix its weights carry in a checkpoint
    network_attributes: Mapping[str, str] = {"g": "generator", "d": "discriminator"}
    # torch.compile's arguments under those `compile` gives. Inductor's re-layout of convolutions to NHWC
    # breaks DeepGIN's graph in torch 2.14 (a stride mismatch in replication_pad2d_backward): graphs keep
    # eager's layout, and `channels_last` is the option that asks for NHWC. (It also crashed HiFill, through
    # oneDNN's strided 1×1 NHWC backward, which HiFill's gates no longer use.)
    compile_defaults: Mapping[str, Any] = {"options": {"layout_optimization": False}}

    def __init__(
        self,
        generator: DictConfig | dict,
        discriminator: DictConfig | dict,
        optimizer: dict[str, Any],
        scheduler: dict[str, Any] | None = None,
        gradient_clip_norm: dict[str, float | None] | None = None,
        init_from: str | dict[str, str] | None = None,
        compile: bool | dict[str, Any] = False,
        channels_last: bool = False,
        bottleneck: str = "rgb",
        colorization: dict | None = None,
        val_metrics: Sequence[str] = VAL_METRICS,
        test_metrics: Sequence[str] = TEST_METRICS,
    ):
        super().__init__(bottleneck, colorization, val_metrics, test_metrics)
        # with the arguments of the method's own __init__, for checkpoints; loggers get the whole config once
        # (suite/train.py), not these again at its root
        self.save_hyperparameters(logger=False)
        for name, mapping in (("optimizer", optimizer), ("scheduler", scheduler or {})):
            unknown = set(mapping) - set(self.networks)
            if unknown or (name == "optimizer" and set(mapping) != set(self.networks)):
                raise ValueError(
                    f"model.{name} maps the networks {self.networks} to configs, got {sorted(mapping)}"
                )
        space = self.bottleneck
        self.generator = instantiate(
            generator,
            in_channels=space.image_channels + self.generator_extra_channels,
            out_channels=space.out_channels * self.generator_outputs,
        )
        self.discriminator = instantiate(
            discriminator, in_channels=self.discriminator_channels(space.out_channels)
        )

    def discriminator_channels(self, out_channels: int) -> int:
        """The discriminator's input channels for a generator predicting `out_channels`."""
        return out_channels + 1  # the image and the mask

    def network(self, name: str) -> nn.Module:
        return getattr(self, self.network_attributes[name])

    # --- speed options -------------------------------------------------------------------------------
    def configure_model(self) -> None:
        # Lightning calls this at the start of every fit / validate / test: the options apply once.
        if getattr(self, "_speed_options_applied", False):
            return
        self._speed_options_applied = True
        compile_ = self.hparams.compile
        options = {**self.compile_defaults, **(compile_ if isinstance(compile_, Mapping) else {})}
        for name in self.networks:
            network = self.network(name)
            if self.hparams.channels_last:
                network.to(memory_format=torch.channels_last)
            if compile_:
                network.compile(**options)

    # --- starting from other weights -----------------------------------------------------------------
    def on_fit_start(self) -> None:
        if self.hparams.init_from and self.trainer.ckpt_path is None:  # a resumed run has its own weights
            self.load_networks(self.hparams.init_from)

    def load_networks(self, init_from: str | Mapping[str, str]) -> None:
        """Weights from other checkpoints: one path for every network, or {network: path} (e.g. EdgeConnect's
        G1 / D1 from an edge run and G2 / D2 from an inpaint run trained side by side). A network that a
        converted release leaves out (e.g. a discriminator the authors did not publish) starts fresh."""
        sources = (
            {name: init_from for name in self.networks} if isinstance(init_from, str) else dict(init_from)
        )
        unknown = set(sources) - set(self.networks)
        if unknown:
            raise ValueError(
                f"model.init_from names unknown networks {sorted(unknown)}; known: {self.networks}"
            )
        checkpoints: dict[str, dict[str, Any]] = {}
        for name, path in sources.items():
            if path not in checkpoints:
                if not Path(path).is_file():
                    raise FileNotFoundError(
                        f"model.init_from: checkpoint not found: {path}. Pass a run's checkpoint, e.g. "
                        "logs/train/runs/<run>/checkpoints/last.ckpt, or a release converted by import_release.py"
                    )
                checkpoints[path] = torch.load(path, map_location="cpu", weights_only=True)
            attribute = self.network_attributes[name]
            fresh = [
                reason
                for prefix, reason in fresh_networks(checkpoints[path]).items()
                if prefix == f"{attribute}."
            ]
            if fresh:
                log.info("model.init_from: %s starts fresh: %s has none (%s)", attribute, path, fresh[0])
                continue
            weights = {
                key.removeprefix(f"{attribute}."): value
                for key, value in checkpoints[path]["state_dict"].items()
                if key.startswith(f"{attribute}.")
            }
            if not weights:
                raise ValueError(f"{path} holds no {attribute} weights: a checkpoint of another method?")
            self.network(name).load_state_dict(weights)
            log.info("model.init_from: %s from %s", attribute, path)

    # --- optimization --------------------------------------------------------------------------------
    def judge(self, discriminator: nn.Module, fake: Tensor) -> FakeVerdict:
        """`discriminator`'s verdict on `fake` for both steps: one forward unless compiled or distributed."""
        distributed = torch.distributed.is_available() and torch.distributed.is_initialized()
        return FakeVerdict(discriminator, fake, shared=not (self.hparams.compile or distributed))

    @contextmanager
    def optimizing(self, name: str, retain_graph: bool = False) -> Iterator[WeightedLoss]:
        """One optimizer step of network `name` (one of `networks`) on the loss terms added inside the block."""
        with self.optimizing_together((name,), retain_graph) as (loss,):
            yield loss

    @contextmanager
    def optimizing_together(
        self, names: Sequence[str], retain_graph: bool = False
    ) -> Iterator[list[WeightedLoss]]:
        """One backward of the sum of the named networks' losses, then a step of each (EdgeConnect's joint
        stage, where G2's loss reaches G1 through the predicted edges). The other networks' parameters get
        no gradients meanwhile, also through a graph built before the block (a shared `FakeVerdict`)."""
        optimizers = [self.optimizers()[self.networks.index(name)] for name in names]
        others = [p for name in self.networks if name not in names for p in self.network(name).parameters()]
        flags = [p.requires_grad for p in others]
        for parameter in others:
            parameter.requires_grad_(False)
        own = [p for name in names for p in self.network(name).parameters() if p.requires_grad]
        try:
            losses = [WeightedLoss() for _ in names]
            yield losses
            totals = [loss.total() for loss in losses]
            for optimizer in optimizers:
                optimizer.zero_grad(set_to_none=True)
            self.manual_backward(sum(totals[1:], totals[0]), inputs=own or None, retain_graph=retain_graph)
            for name, optimizer in zip(names, optimizers):
                clip = (self.hparams.gradient_clip_norm or {}).get(name)
                if clip is not None:
                    self.clip_gradient_norm(optimizer, clip)
                optimizer.step()
        finally:
            for parameter, flag in zip(others, flags):
                parameter.requires_grad_(flag)
        logs = {}
        for name, loss, total, optimizer in zip(names, losses, totals, optimizers):
            logs |= {f"train/{term}": value for term, (_, value) in loss.terms.items()}
            logs |= {f"train/{name}_loss": total, f"train/{name}_lr": optimizer.param_groups[0]["lr"]}
        self.log_dict(logs, prog_bar=False)

    def clip_gradient_norm(self, optimizer: Any, clip: float) -> None:
        """Lightning's clipping where a loss scaler (16-mixed) must unscale the gradients first; otherwise
        torch's own, which Lightning's AMP plugin refuses for fused optimizers even under bf16, where
        there is nothing to unscale."""
        if getattr(self.trainer.precision_plugin, "scaler", None) is not None:
            self.clip_gradients(optimizer, gradient_clip_val=clip, gradient_clip_algorithm="norm")
        else:
            parameters = [p for group in optimizer.param_groups for p in group["params"]]
            torch.nn.utils.clip_grad_norm_(parameters, clip)

    def configure_optimizers(self) -> list[torch.optim.Optimizer] | tuple[list, list]:
        hp = self.hparams
        optimizers = {
            name: instantiate(hp.optimizer[name], _convert_="all")(self.network(name).parameters())
            for name in self.networks
        }
        schedulers = [
            instantiate(config, _convert_="all")(optimizers[name])
            for name, config in (hp.scheduler or {}).items()
            if config is not None
        ]
        return (list(optimizers.values()), schedulers) if schedulers else list(optimizers.values())

    def on_train_batch_start(self, batch: dict[str, Any], batch_idx: int) -> None:
        # Manual optimization: Lightning does not step schedulers. They step once per epoch, catching up
        # with the epoch at any batch rather than counting epoch hooks: a run resumed from a checkpoint
        # written after an epoch's last batch enters the next epoch without its start hook (and without
        # the finished epoch's end hook).
        schedulers = self.lr_schedulers()
        if schedulers is None:
            return
        with warnings.catch_warnings():
            # A schedule keeps counting epochs in which its optimizer does not step (DeepGIN's D in the
            # warm-up).
            warnings.filterwarnings("ignore", "Detected call of `lr_scheduler.step\\(\\)` before")
            for scheduler in schedulers if isinstance(schedulers, list) else [schedulers]:
                while scheduler.last_epoch < self.current_epoch:
                    scheduler.step()
