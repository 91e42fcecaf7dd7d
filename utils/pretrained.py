"""The one loader for pretrained networks: files come from torchvision's cache, nothing is downloaded.

Compute nodes often have no internet, and a download attempt deep inside torchvision or torch-fidelity
fails with a network error that does not say which file is missing. Every network here is looked up in
`torch.hub.get_dir()/checkpoints` ($TORCH_HOME/hub/checkpoints, under the file name torchvision and
torch-fidelity themselves use), and a missing file raises `MissingWeightsError` naming the file, the
folder and the URL to fetch it from on a machine with internet.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import torch
import torchvision
from torch_fidelity.feature_extractor_inceptionv3 import URL_INCEPTION_V3
from torchmetrics.image.fid import FrechetInceptionDistance
from torchmetrics.image.lpip import LearnedPerceptualImagePatchSimilarity
from torchvision.models import AlexNet_Weights, VGG16_Weights, VGG19_Weights

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WeightsFile:
    network: str  # what the file is, for messages
    url: str

    @property
    def file_name(self) -> str:
        return self.url.rsplit("/", 1)[-1]


# URLs come from the libraries that would load them (torchmetrics' LPIPS asks torchvision for
# `*_Weights.DEFAULT`), so the file names are exactly the ones they look for in the cache:
# vgg19-dcbb9e9d.pth, vgg16-397923af.pth, alexnet-owt-7be5be79.pth,
# weights-inception-2015-12-05-6726825d.pth.
WEIGHTS: dict[str, WeightsFile] = {
    "vgg19": WeightsFile("VGG19 (perceptual and style losses)", VGG19_Weights.DEFAULT.url),
    "vgg16": WeightsFile("VGG16 (LPIPS with net='vgg')", VGG16_Weights.DEFAULT.url),
    "alexnet": WeightsFile("AlexNet (LPIPS with net='alex')", AlexNet_Weights.DEFAULT.url),
    "inception": WeightsFile("InceptionV3 (FID, torch-fidelity)", URL_INCEPTION_V3),
    # richzhang/colorization's `siggraph17(pretrained=True)` caches this file under this name.
    "siggraph17": WeightsFile(
        "Zhang et al. 2017 colorization network (guided-colorization baseline)",
        "https://colorizers.s3.us-east-2.amazonaws.com/siggraph17-df00044c.pth",
    ),
}

LPIPS_BACKBONES = {"alex": "alexnet", "vgg": "vgg16"}


def checkpoints_dir() -> Path:
    """torchvision's cache folder; read on every call so a changed $TORCH_HOME is honoured."""
    return Path(torch.hub.get_dir()) / "checkpoints"


class MissingWeightsError(FileNotFoundError):
    """A pretrained weights file is not in the cache; the message says what to fetch and where to put it."""

    def __init__(self, name: str, folder: Path):
        entry = WEIGHTS[name]
        self.name, self.file_name, self.folder, self.url = name, entry.file_name, folder, entry.url
        super().__init__(
            f"{entry.network} weights are missing: {entry.file_name} is not in {folder}.\n"
            f"  Download it on a machine with internet from {entry.url}\n"
            f"  and put it in {folder}/ (that folder is $TORCH_HOME/hub/checkpoints; "
            "set TORCH_HOME to point at another cache)."
        )

    @property
    def reason(self) -> str:
        """One line for result files and report footnotes."""
        return f"weights file {self.file_name} not found; put it in {self.folder}"


def require_weights(name: str) -> Path:
    """Path of the cached weights file of network `name` (a key of WEIGHTS); raises if it is absent."""
    if name not in WEIGHTS:
        raise ValueError(f"unknown pretrained network {name!r}; known: {', '.join(WEIGHTS)}")
    folder = checkpoints_dir()
    path = folder / WEIGHTS[name].file_name
    if not path.is_file():
        raise MissingWeightsError(name, folder)
    return path


def vgg19_features(weights: Literal["imagenet", "random"] = "imagenet") -> torch.nn.Sequential:
    """torchvision's VGG19 `features` (its convolutional part, all the losses use) with ImageNet weights
    from the cache, or random weights when asked by name.

    Built on the meta device: initialising the unused classifier's 124M parameters costs seconds per network.
    Random weights follow torchvision's VGG initialisation, drawn from a generator of their own (seed 0):
    the same network wherever it is built, and the caller's random stream is left as it was."""
    if weights not in ("imagenet", "random"):
        raise ValueError(f"vgg19 weights must be 'imagenet' or 'random', got {weights!r}")
    with torch.device("meta"):
        features = torchvision.models.vgg19(weights=None).features
    if weights == "random":
        log.warning(
            "VGG19 with RANDOM weights (asked for by name): losses built on it are not the paper's, "
            "and results are not comparable with runs that use ImageNet weights."
        )
        features.to_empty(device="cpu")
        generator = torch.Generator().manual_seed(0)
        for module in features:
            if isinstance(module, torch.nn.Conv2d):
                torch.nn.init.kaiming_normal_(
                    module.weight, mode="fan_out", nonlinearity="relu", generator=generator
                )
                torch.nn.init.zeros_(module.bias)
        return features
    state_dict = torch.load(require_weights("vgg19"), map_location="cpu", weights_only=True)
    prefix = "features."
    features.load_state_dict(
        {key.removeprefix(prefix): value for key, value in state_dict.items() if key.startswith(prefix)},
        assign=True,
    )
    return features


def lpips_metric(
    net: Literal["alex", "vgg"] = "alex", reduction: Literal["mean", "sum", "none"] = "mean"
) -> LearnedPerceptualImagePatchSimilarity:
    """torchmetrics' LPIPS for inputs in [0, 1].

    Its linear heads ship inside torchmetrics; the backbone comes from torchvision's `*_Weights.DEFAULT`,
    which loads the cached file without network when it is present, so checking the file first turns
    a would-be download into MissingWeightsError.
    """
    if net not in LPIPS_BACKBONES:
        raise ValueError(f"LPIPS net must be one of {', '.join(LPIPS_BACKBONES)}, got {net!r}")
    require_weights(LPIPS_BACKBONES[net])
    return LearnedPerceptualImagePatchSimilarity(net_type=net, reduction=reduction, normalize=True)


def lpips_network(
    net: Literal["alex", "vgg"] = "alex", backbone_weights: Literal["imagenet", "random"] = "imagenet"
) -> torch.nn.Module:
    """The `lpips` package's LPIPS (Zhang et al. 2018) as a differentiable loss on inputs in [-1, 1]: its
    learned linear layers (they ship inside the package) on a frozen torchvision backbone, whose ImageNet
    weights come from the cache here instead of the package's own download; `backbone_weights="random"`
    is for tests only."""
    import lpips  # a training-loss dependency: metrics use torchmetrics' LPIPS

    if net not in LPIPS_BACKBONES:
        raise ValueError(f"LPIPS net must be one of {', '.join(LPIPS_BACKBONES)}, got {net!r}")
    if backbone_weights not in ("imagenet", "random"):
        raise ValueError(f"backbone_weights must be 'imagenet' or 'random', got {backbone_weights!r}")
    state_dict = None
    if backbone_weights == "imagenet":
        state_dict = torch.load(require_weights(LPIPS_BACKBONES[net]), map_location="cpu", weights_only=True)
    else:
        log.warning("LPIPS with a RANDOM-weight %s backbone (asked for by name): not the paper's loss", net)
    with warnings.catch_warnings():  # the package builds its backbone with torchvision's old argument
        warnings.filterwarnings("ignore", category=UserWarning, module="torchvision")
        model = lpips.LPIPS(net=net, pnet_rand=True, verbose=False)
    if state_dict is not None:
        # The package's slices hold torchvision's `features` modules under their original indices.
        features = {key.removeprefix("features."): value for key, value in state_dict.items()}
        backbone = {
            f"{slice_name}.{key}": features[key]
            for slice_name, module in model.net.named_children()
            for key in (
                f"{name}.{kind}" for name, _ in module.named_children() for kind in ("weight", "bias")
            )
            if key in features
        }
        missing = [key for key in model.net.state_dict() if key not in backbone]
        if missing:
            raise ValueError(f"the cached {net} weights lack LPIPS backbone entries: {missing[:3]}")
        model.net.load_state_dict(backbone)
    return model.eval().requires_grad_(False)


def fid_metric(feature: Literal[64, 192, 768, 2048] = 2048) -> FrechetInceptionDistance:
    """torchmetrics' FID for inputs in [0, 1], its InceptionV3 loaded from the cached file by path."""
    path = require_weights("inception")
    return FrechetInceptionDistance(feature=feature, normalize=True, feature_extractor_weights_path=str(path))
