"""The bridge from the authors' released weights to the suite's checkpoints.

A release converter (`lightning_modules/<method>/release.py`) maps every tensor of the authors' files onto
the state dict of the suite's module, built from the method's config, through a `ReleaseConversion`. The
conversion accounts for every tensor on both sides:

- each release tensor is placed (copied, transposed from a TF kernel, a spectral norm re-expressed ...) or
  skipped for a stated reason (optimizer slots, step counters, an alias of another entry);
- each tensor of the suite's module is filled, or belongs to a network the release leaves out (e.g. a
  discriminator), which starts fresh and is named as such in the checkpoint.

A release tensor left over, a suite tensor left empty, or a shape that does not match is a `ReleaseError`
that names the file, the tensor and the likely cause. The result is an ordinary suite checkpoint (plus a
`release` entry) that `evaluate.py`, `predict.py` and `model.init_from` read like any other.
"""

from __future__ import annotations

import hashlib
import logging
import pickle
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytorch_lightning as pl
import torch
from torch import Tensor, nn

from utils.atomic import atomic_path
from utils.tf_checkpoint import TFCheckpointError, read_tf_checkpoint

log = logging.getLogger(__name__)


class ReleaseError(ValueError):
    """A release that cannot be converted: the message names the file, the tensor and the fix."""


@dataclass
class Placement:
    """Where one suite tensor came from."""

    target: str
    sources: list[str]  # "<file>:<tensor>"
    how: str


class ReleaseConversion:
    """Collects the suite state dict of `module` from the tensors of a release's files.

    release: the release's name, used in messages (e.g. "edgeconnect_places2").
    """

    def __init__(self, module: nn.Module, release: str):
        self.release = release
        self.expected = module.state_dict()
        self.state: dict[str, Tensor] = {}
        self.placements: list[Placement] = []
        self.files: dict[str, dict[str, Tensor]] = {}
        self.used: set[tuple[str, str]] = set()
        self.skipped: dict[str, str] = {}
        self.fresh: dict[str, str] = {}

    # --- release side ---------------------------------------------------------------------------------
    def add_file(self, name: str, tensors: Mapping[str, Tensor | np.ndarray]) -> None:
        """Register the tensors of one release file (by its file name) for accounting."""
        self.files[name] = {key: torch.as_tensor(value) for key, value in tensors.items()}

    def has(self, file: str, key: str) -> bool:
        return key in self.files[file]

    def take(self, file: str, key: str) -> Tensor:
        """The release tensor `key` of `file`, marked as used."""
        tensors = self.files[file]
        if key not in tensors:
            raise ReleaseError(
                f"{file} has no tensor {key!r}, which {self.release} must hold. Is it a file of another "
                f"method or of another version of the code? It holds {len(tensors)} tensors, e.g. "
                f"{', '.join(list(tensors)[:4])}"
            )
        self.used.add((file, key))
        return tensors[key]

    def skip(self, file: str, key: str, reason: str) -> None:
        """Account for a release tensor that the suite does not need (optimizer state, an alias ...)."""
        self.take(file, key)
        self.skipped[f"{file}:{key}"] = reason

    def skip_matching(self, file: str, reason: str, predicate) -> None:
        """`skip` every not yet used tensor of `file` whose key satisfies `predicate`."""
        for key in list(self.files[file]):
            if (file, key) not in self.used and predicate(key):
                self.skip(file, key, reason)

    # --- suite side -----------------------------------------------------------------------------------
    def place(self, target: str, tensor: Tensor, sources: Iterable[str], how: str = "copied") -> None:
        """Fill the suite tensor `target` with `tensor` (from the release tensors `sources`, "<file>:<key>")."""
        sources = list(sources)
        if target not in self.expected:
            raise ReleaseError(
                f"{self.release}: the suite's module has no tensor {target!r} (from {sources})"
            )
        if target in self.state:
            raise ReleaseError(f"{self.release}: {target!r} placed twice (from {sources})")
        expected = self.expected[target]
        if tuple(tensor.shape) != tuple(expected.shape):
            raise ReleaseError(
                f"{' + '.join(sources)} has shape {tuple(tensor.shape)} where the suite's {target} has "
                f"{tuple(expected.shape)}: a network of another width or depth than the release's config "
                f"({self.release}) builds, or a release of another model"
            )
        self.state[target] = tensor.detach().to(expected.dtype).clone()
        self.placements.append(Placement(target, sources, how))

    def copy(self, file: str, key: str, target: str, how: str = "copied") -> None:
        """Place release tensor `file:key` unchanged at `target`."""
        self.place(target, self.take(file, key), [f"{file}:{key}"], how)

    def start_fresh(self, prefix: str, reason: str) -> None:
        """The suite tensors under `prefix` (a network) are not in the release: they keep their fresh
        initialization and are left out of the converted state dict."""
        if not any(key.startswith(prefix) for key in self.expected):
            raise ReleaseError(f"{self.release}: the suite's module has no network {prefix!r}")
        self.fresh[prefix] = reason

    def finish(self) -> dict[str, Tensor]:
        """The converted state dict, once every tensor on both sides is accounted for."""
        leftover = [f"{file}:{key}" for file, tensors in self.files.items() for key in tensors]
        leftover = [name for name in leftover if tuple(name.split(":", 1)) not in self.used]
        if leftover:
            raise ReleaseError(
                f"{self.release}: {len(leftover)} release tensor(s) have no place in the suite's network: "
                f"{', '.join(leftover[:8])}{' ...' if len(leftover) > 8 else ''}. Is this a release of "
                "another model or version?"
            )
        empty = [
            key
            for key in self.expected
            if key not in self.state and not any(key.startswith(prefix) for prefix in self.fresh)
        ]
        if empty:
            raise ReleaseError(
                f"{self.release}: {len(empty)} tensor(s) of the suite's network are missing from the "
                f"release: {', '.join(empty[:8])}{' ...' if len(empty) > 8 else ''}"
            )
        return dict(self.state)

    def report(self) -> dict[str, Any]:
        """Where each tensor went: JSON-ready."""
        return {
            "placed": [asdict(p) for p in self.placements],
            "skipped": dict(self.skipped),
            "fresh": dict(self.fresh),
        }


# --- reading PyTorch release files ---------------------------------------------------------------------
def load_torch_file(path: Path, url: str | None = None) -> Any:
    """torch.load of a release file, with an error that names the file when it cannot be read."""
    where = f" from {url}" if url else ""
    if not path.is_file():
        raise ReleaseError(f"release file not found: {path}. Download it{where} and put it there")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except (RuntimeError, EOFError, pickle.UnpicklingError, zipfile.BadZipFile, ValueError) as err:
        raise ReleaseError(
            f"{path} is not a readable PyTorch file ({type(err).__name__}: {str(err).splitlines()[0][:200]}). "
            f"A truncated or interrupted download? Download it again{where}"
        ) from err


def without_prefix(state: Mapping[str, Tensor], prefix: str = "module.") -> dict[str, Tensor]:
    """Keys without nn.DataParallel's `module.` prefix (multi-GPU runs save it)."""
    if state and all(key.startswith(prefix) for key in state):
        return {key[len(prefix) :]: value for key, value in state.items()}
    return dict(state)


def spectral_norm_v(weight_orig: Tensor, u: Tensor, sigma: Tensor, dim: int = 0) -> Tensor:
    """v for a spectral norm saved before PyTorch 1.0 (u and the normalized weight, no v): the v with
    W·v ∝ u whose σ = u·W·v equals the saved one, as torch.nn.utils.spectral_norm rebuilds it on load."""
    matrix = weight_orig.movedim(dim, 0).flatten(1).double()
    v = torch.linalg.lstsq(matrix, u.double().unsqueeze(1)).solution.squeeze(1)
    v = v * (sigma.double() / torch.dot(u.double(), matrix @ v))
    return v.to(weight_orig.dtype)


def place_spectral_norm(
    conversion: ReleaseConversion, file: str, source: str, target: str, transposed: bool = False
) -> None:
    """A convolution wrapped by torch.nn.utils.spectral_norm (keys `<source>.weight_orig`, `.weight_u`,
    `.weight_v` from PyTorch >= 1.0, or `.weight_orig`, `.weight_u`, `.weight` before it) onto the suite's
    torch.nn.utils.parametrizations.spectral_norm (`<target>.parametrizations.weight.original`, `._u`,
    `._v`). In eval mode both divide the weight by σ = u·W·v of the saved u and v. transposed: a
    ConvTranspose2d, whose σ is taken over dim 1."""
    orig_key = f"{source}.weight_orig"
    weight_orig, u = conversion.take(file, orig_key), conversion.take(file, f"{source}.weight_u")
    sources = [f"{file}:{orig_key}", f"{file}:{source}.weight_u"]
    if conversion.has(file, f"{source}.weight_v"):
        v = conversion.take(file, f"{source}.weight_v")
        sources.append(f"{file}:{source}.weight_v")
        how = "spectral norm (weight_orig, u, v)"
    else:  # saved before PyTorch 1.0: the normalized weight instead of v
        weight = conversion.take(file, f"{source}.weight")
        sources.append(f"{file}:{source}.weight")
        v = spectral_norm_v(weight_orig, u, (weight_orig / weight).mean(), dim=1 if transposed else 0)
        how = "spectral norm (weight_orig, u; v solved from the saved normalized weight)"
    prefix = f"{target}.parametrizations.weight"
    conversion.place(f"{prefix}.original", weight_orig, sources[:1], how)
    conversion.place(f"{prefix}.0._u", u, sources[1:2], how)
    conversion.place(f"{prefix}.0._v", v, sources[1:], how)


# --- reading TensorFlow releases ---------------------------------------------------------------------
# What a TF training checkpoint holds beside the variables (tf.train.Saver(tf.global_variables())): skipped
TF_TRAINING_STATE = {
    "Adam's moment estimates (optimizer state): the suite's optimizers start fresh": lambda key: key.endswith(
        ("/Adam", "/Adam_1")
    ),
    "Adam's β powers, the learning rate, the step counter (training state)": lambda key: (
        key.split("/")[0]
        in ("beta1_power", "beta2_power", "beta1_power_1", "beta2_power_1", "lr", "global_step")
    ),
}


def read_tf_release(
    directory: Path, release: str, url: str | None
) -> tuple[str, dict[str, np.ndarray], list[str]]:
    """(file label, {name: array}, data files) of the TF checkpoint in `directory`; an unreadable one is a
    ReleaseError that says to download `release` (e.g. "DeepFill v2's release folder") again. The label is
    the one data file, whose digest the converted checkpoint records, or the folder's name."""
    try:
        tensors = read_tf_checkpoint(directory)
    except TFCheckpointError as error:
        where = f" from {url}" if url else ""
        raise ReleaseError(
            f"{error}. Download {release} again{where} and pass the folder as release.dir"
        ) from error
    shards = sorted(path.name for path in directory.glob("*.data-*-of-*"))
    return (shards[0] if len(shards) == 1 else directory.name), tensors, shards


def skip_tf_training_state(conversion: ReleaseConversion, file: str) -> None:
    for reason, is_state in TF_TRAINING_STATE.items():
        conversion.skip_matching(file, reason, is_state)


def oihw(kernel: Tensor) -> Tensor:
    """A TF convolution kernel (HWIO) in torch's layout (OIHW)."""
    return kernel.permute(3, 2, 0, 1)


def file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


# --- suite checkpoints ---------------------------------------------------------------------------------
def write_release_checkpoint(
    module: pl.LightningModule,
    state: Mapping[str, Tensor],
    path: Path,
    release: Mapping[str, Any],
) -> None:
    """A suite checkpoint (atomically written) that `load_inpainting_module` and `model.init_from` read:
    the module's hyper-parameters, the converted state dict, and `release` (name, files and digests,
    report, networks that start fresh)."""
    checkpoint = {
        "state_dict": dict(state),
        "hyper_parameters": dict(module.hparams),
        "inpainting_module": f"{type(module).__module__}.{type(module).__qualname__}",
        "pytorch-lightning_version": pl.__version__,
        "release": dict(release),
    }
    with atomic_path(path) as tmp:
        torch.save(checkpoint, tmp)


def fresh_networks(checkpoint: Mapping[str, Any]) -> dict[str, str]:
    """{state-dict prefix: reason} of the networks a converted release leaves out (empty otherwise)."""
    return dict((checkpoint.get("release") or {}).get("fresh") or {})
