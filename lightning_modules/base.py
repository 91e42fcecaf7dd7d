"""The shared base of every method.

It owns what all methods share: manual optimization (Lightning 2 GANs), the composite, `inpaint()` for
evaluate / predict, metric updates in validation and test, and the examples that callbacks turn into
image grids. A method adds its networks, its losses, `forward` and `training_step`.
"""

from __future__ import annotations

import importlib
import logging
import pickle
import warnings
import zipfile
from abc import abstractmethod
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch
import torch.nn.functional as F

from evaluation.metrics import InpaintingMetrics
from lightning_modules.colorization.colorizer import Hints
from lightning_modules.hole_crops import inpaint_in_crops
from lightning_modules.monochromic_bottleneck import RecoloredBottleneck, make_bottleneck
from lightning_modules.released_weights import fresh_networks

log = logging.getLogger(__name__)

VAL_METRICS = ("psnr", "ssim", "l1")
TEST_METRICS = ("psnr", "ssim", "l1", "lpips", "fid")


def composite(output: torch.Tensor, image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Known pixels from the image, missing ones from the output (mask: 1 = missing)."""
    return output * mask + image * (1 - mask)


def as_rgb(image: torch.Tensor) -> torch.Tensor:
    """Gray (monochromic bottleneck) images as 3 equal channels, for metrics and image grids."""
    return image.expand(-1, 3, -1, -1) if image.shape[1] == 1 else image


class InpaintingModule(pl.LightningModule):
    """Base LightningModule. Subclasses implement `forward(image, mask) -> output in [0, 1]` in the
    bottleneck's space (RGB, or gray for `bottleneck="mono"`): their generators take
    `self.bottleneck.image_channels` image channels and predict `self.bottleneck.out_channels`.

    size_multiple: inputs are padded (reflect) to a multiple of it inside `inpaint`, so any image size
    works for networks that downsample.
    Validation scores the bottleneck's own space (gray for mono: the external stage alone, cheap); test,
    evaluate and predict restore RGB (mono: the per-image internal colorization).
    """

    size_multiple: int = 1

    def __init__(
        self,
        bottleneck: str = "rgb",
        colorization: dict[str, Any] | None = None,
        val_metrics: Sequence[str] = VAL_METRICS,
        test_metrics: Sequence[str] = TEST_METRICS,
    ):
        super().__init__()
        self.automatic_optimization = False
        self.bottleneck = make_bottleneck(bottleneck, colorization)
        self.val_metrics = InpaintingMetrics(list(val_metrics))
        self.test_metric_names = list(test_metrics)
        self.test_metrics: InpaintingMetrics | None = None
        self.test_results: dict[str, Any] | None = None
        self.release: dict[str, Any] | None = None  # set by load_inpainting_module for a converted release

    @abstractmethod
    def forward(self, image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Raw prediction in the bottleneck's space, in [0, 1], for image B×3×H×W in [0, 1] and mask
        B×1×H×W (1 = missing)."""

    def use_colorization(self, colorization: dict[str, Any] | None, recolor: bool = False) -> None:
        """Pick the internal stage at inference (it runs per image): it colorizes a mono model's gray, or
        with `recolor` re-colors an RGB model's output from the known pixels (EII Fig. 3)."""
        if not recolor:
            self.bottleneck.use_colorization(colorization)
        elif self.bottleneck.name == "rgb":
            self.bottleneck = RecoloredBottleneck(colorization)
        else:
            raise ValueError(
                f"recolor=true re-colors an RGB model; this one uses bottleneck={self.bottleneck.name}"
            )

    def padded(self, image: torch.Tensor, *masks: torch.Tensor) -> list[torch.Tensor]:
        """The image reflect-padded (bottom, right) to a multiple of `size_multiple`, the masks with zeros."""
        height, width = image.shape[-2:]
        pad_h, pad_w = -height % self.size_multiple, -width % self.size_multiple
        if not (pad_h or pad_w):
            return [image, *masks]
        mode = "reflect" if pad_h < height and pad_w < width else "replicate"
        return [
            F.pad(image, (0, pad_w, 0, pad_h), mode=mode),
            *(F.pad(mask, (0, pad_w, 0, pad_h), mode="constant", value=0.0) for mask in masks),
        ]

    @torch.no_grad()
    def predict_output(self, image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """The raw output for any H×W (reflect-padded to `size_multiple`, then cropped back)."""
        height, width = image.shape[-2:]
        return self(*self.padded(image, mask))[..., :height, :width].float().clamp(0, 1)

    def inpaint(self, image: torch.Tensor, mask: torch.Tensor, hints: Hints | None = None) -> torch.Tensor:
        """The RGB composite for any H×W: the one call evaluate and predict use for every method.
        hints: the user's color hints, used by the monochromic bottleneck's colorization."""
        output = self.bottleneck.restore(self.predict_output(image, mask), image, mask, hints)
        return composite(output, image, mask)

    def inpaint_photo(
        self,
        image: torch.Tensor,
        mask: torch.Tensor,
        hints: Hints | None = None,
        max_side: int | None = 512,
        context: float = 0.5,
    ) -> torch.Tensor:
        """The composite of a photo of any size (predict.py): each hole region in a crop of at most
        `max_side` px (hole_crops.py). A method with its own path for large images overrides this."""
        return inpaint_in_crops(self.inpaint, image, mask, hints, max_side, context)

    # --- predict.py's other modes: a method that has one overrides its hook -------------------------
    def style_transfer(self) -> Callable[..., torch.Tensor]:
        """predict.py's style=: a function (content, style, max_side=...) -> the content stylized like the
        style image, B×3×H×W in [0, 1]. Called before any file is read, so that it refuses at once."""
        raise ValueError(
            f"this checkpoint holds a {type(self).__name__}, which does not support style=: style transfer "
            "needs a Feature2Image network, a model/feature_translation_stage=feature2image checkpoint or a "
            "joined multi-scale one"
        )

    def guided_inpainting(self) -> Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]:
        """predict.py's guide=: a function (composite, hole, object) -> the RGB result, the hole inpainted
        and the pasted object harmonized. Called before any file is read, so that it refuses at once."""
        raise ValueError(
            "guide= needs a guided-inpainting checkpoint (experiment=blockwise_guided): this checkpoint "
            f"holds a {type(self).__name__}, which does not support it"
        )

    def sample_extras(self) -> Callable[[dict[str, Any]], dict[str, torch.Tensor]] | None:
        """Per-sample inputs of `training_step` that are pure functions of a training sample (its image,
        mask, ...): a picklable function of the sample dict, which InpaintingDataModule applies in the
        DataLoader workers, where the work overlaps the step. None: the method needs none."""
        return None

    # --- validation and test -------------------------------------------------------------------------
    def _evaluation_step(
        self, batch: dict[str, Any], metrics: InpaintingMetrics, restore: bool
    ) -> dict[str, torch.Tensor]:
        image, mask = batch["image"], batch["mask"]
        output = self.predict_output(image, mask)
        if restore:
            output = self.bottleneck.restore(output, image, mask, Hints.from_batch(batch))
            target = image
        else:
            target = self.bottleneck.target(image)
        result = composite(output, target, mask)
        metrics.update(as_rgb(result), as_rgb(target), mask, batch.get("index"))
        return {"output": as_rgb(output), "composite": as_rgb(result)}

    def validation_step(self, batch: dict[str, Any], batch_idx: int) -> dict[str, torch.Tensor]:
        return self._evaluation_step(batch, self.val_metrics, restore=False)

    def on_validation_epoch_end(self) -> None:
        results = self.val_metrics.compute()
        self.val_metrics.reset()
        self._log_results("val", results)

    def on_test_epoch_start(self) -> None:
        # Built here, not in __init__: LPIPS / FID need weight files that training does not.
        self.test_metrics = InpaintingMetrics(self.test_metric_names, per_image_rows=True).to(self.device)

    def test_step(self, batch: dict[str, Any], batch_idx: int) -> dict[str, torch.Tensor]:
        return self._evaluation_step(batch, self.test_metrics, restore=True)

    def on_test_epoch_end(self) -> None:
        self.test_results = self.test_metrics.compute()
        self._log_results("test", self.test_results)

    def _log_results(self, stage: str, results: dict[str, Any]) -> None:
        values = {
            f"{stage}/{name}": float(value)
            for name, value in results["overall"].items()
            if value is not None and name != "count"
        }
        # Already reduced across ranks by torchmetrics: no sync_dist here.
        self.log_dict(values, prog_bar=stage == "val", rank_zero_only=True)

    # --- checkpoints ---------------------------------------------------------------------------------
    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        # Lets `load_inpainting_module` rebuild any method from its checkpoint alone.
        checkpoint["inpainting_module"] = f"{type(self).__module__}.{type(self).__qualname__}"


def load_inpainting_module(
    ckpt_path: str | Path, map_location: str | torch.device = "cpu", **hparams: Any
) -> InpaintingModule:
    """Any method's LightningModule from a checkpoint written by this suite (a training run's, or a release
    converted by import_release.py); `hparams` replace saved hyper-parameters, e.g. inference options such
    as DeepGIN's self_ensemble. A network that a converted release leaves out keeps its initialization."""
    path = Path(ckpt_path)
    if path.is_dir():
        raise IsADirectoryError(f"{path} is a folder, not a checkpoint. {foreign_checkpoint_hint(None)}")
    if not path.is_file():
        raise FileNotFoundError(
            f"checkpoint not found: {path}. Pass the file a training run wrote, "
            "e.g. ckpt_path=logs/train/runs/<run>/checkpoints/last.ckpt, or a release converted by "
            "import_release.py (releases/<method>_<dataset>.ckpt)"
        )
    header = read_checkpoint(path)
    qualname = header.get("inpainting_module") if isinstance(header, dict) else None
    if qualname is None:
        raise ValueError(f"{path} was not written by this suite. {foreign_checkpoint_hint(header)}")
    module_name, _, class_name = qualname.rpartition(".")
    cls = getattr(importlib.import_module(module_name), class_name)
    fresh = fresh_networks(header)
    with warnings.catch_warnings():  # the keys of the fresh networks, checked below
        warnings.filterwarnings(
            "ignore", "Found keys that are in the model state dict but not in the checkpoint"
        )
        model = cls.load_from_checkpoint(path, map_location=map_location, strict=not fresh, **hparams)
    if fresh:
        saved = set(header["state_dict"])
        absent = [key for key in model.state_dict() if key not in saved]
        unexplained = [key for key in absent if not key.startswith(tuple(fresh))]
        if unexplained:
            raise ValueError(f"{path} lacks {', '.join(unexplained[:5])}, which no release note explains")
        for prefix, reason in fresh.items():
            log.info(
                "%s: %s is not in the release (%s): initialized, unused at inference", path, prefix, reason
            )
    model.release = header.get("release")  # a converted release's name, files and notes
    return model.eval()


def read_checkpoint(path: Path) -> Any:
    """torch.load of a checkpoint, memory-mapped, with a clear error for a truncated or foreign file."""
    try:
        # mmap needs the zip format of PyTorch >= 1.6; the authors' older files are read whole
        return torch.load(path, map_location="cpu", weights_only=False, mmap=zipfile.is_zipfile(path))
    except (RuntimeError, EOFError, pickle.UnpicklingError, zipfile.BadZipFile, ValueError) as err:
        suffix = path.suffix.lower()
        if suffix in (".index", ".pb", ".meta") or ".data-" in path.name:
            raise ValueError(
                f"{path} is a TensorFlow file, not a suite checkpoint: convert the release first, "
                "e.g. python import_release.py release=gatedconv release.dataset=places2 release.dir=<its folder>"
            ) from err
        raise ValueError(
            f"{path} cannot be read as a checkpoint ({type(err).__name__}): a truncated copy or an "
            "interrupted write? Copy it again, or pass the run's last.ckpt"
        ) from err


def foreign_checkpoint_hint(header: Any) -> str:
    """What a file that is not a suite checkpoint looks like, and how to convert it."""
    convert = "Convert an author's release with python import_release.py release=<method> release.dataset=<dataset> release.dir=<its folder> (README: Your data)"
    if isinstance(header, dict) and ("generator" in header or "discriminator" in header):
        return f"It looks like EdgeConnect's released *_gen.pth / *_dis.pth. {convert}"
    if isinstance(header, dict) and header and all(isinstance(v, torch.Tensor) for v in header.values()):
        return f"It is a bare state dict ({len(header)} tensors, e.g. {next(iter(header))}), as the authors' code saves. {convert}"
    return convert
