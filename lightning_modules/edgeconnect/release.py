"""EdgeConnect's released weights (knazeri/edge-connect README, "Getting Started": Places2, CelebA and
Paris StreetView folders) onto `EdgeConnectInpainting`.

Each folder holds the four files `BaseModel.save` writes (src/models.py): `EdgeModel_gen.pth` and
`InpaintingModel_gen.pth` = {"iteration": int, "generator": state dict}, `EdgeModel_dis.pth` and
`InpaintingModel_dis.pth` = {"discriminator": state dict}. The networks are those of src/networks.py; the
suite's differ only in names: ResnetBlock's `conv_block` is `body` here, Discriminator's `conv1` …
`conv5` are `convs.0` … `convs.4` (its `features` is a second name of `conv1`, saved twice), and spectral
norm is torch's parametrization instead of the older `torch.nn.utils.spectral_norm` hooks.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

import torch

from lightning_modules.released_weights import (
    ReleaseConversion,
    ReleaseError,
    load_torch_file,
    place_spectral_norm,
    without_prefix,
)

# release file -> (the dict entry holding the state dict, the suite's network)
FILES = {
    "EdgeModel_gen.pth": ("generator", "edge_generator"),
    "EdgeModel_dis.pth": ("discriminator", "edge_discriminator"),
    "InpaintingModel_gen.pth": ("generator", "generator"),
    "InpaintingModel_dis.pth": ("discriminator", "discriminator"),
}


def suite_name(key: str) -> str:
    """A module path of the official networks as the suite names it."""
    key = key.replace(".conv_block.", ".body.")
    discriminator_conv = re.fullmatch(r"conv(\d)\.0(\..+)?", key)
    if discriminator_conv:
        index = int(discriminator_conv.group(1)) - 1
        return f"convs.{index}{'' if index == 4 else '.0'}{discriminator_conv.group(2) or ''}"
    return key


def convert(conversion: ReleaseConversion, directory: Path, url: str | None = None) -> dict[str, int]:
    """Place the four files of `directory`; a missing discriminator file leaves that D fresh. Returns the
    generators' training iterations ({file: iteration})."""
    iterations = {}
    for file, (entry, network) in FILES.items():
        path = directory / file
        if file.endswith("_dis.pth") and not path.is_file():
            conversion.start_fresh(f"{network}.", f"{file} is not in {directory}")
            continue
        data = load_torch_file(path, url)
        expected = {entry, "iteration"} if entry == "generator" else {entry}
        if not isinstance(data, Mapping) or set(data) != expected:
            found = sorted(data) if isinstance(data, Mapping) else type(data).__name__
            raise ReleaseError(
                f"{path} is not EdgeConnect's {file}: BaseModel.save writes a dict with {sorted(expected)}, "
                f"this file holds {found}. Pass the folder of one EdgeConnect release "
                "(knazeri/edge-connect README: checkpoints/places2, celeba or psv)"
            )
        if entry == "generator":
            iterations[file] = int(data["iteration"])
        state = without_prefix(data[entry])
        conversion.add_file(file, state)
        convert_network(conversion, file, state, network)
    return iterations


def convert_network(
    conversion: ReleaseConversion, file: str, state: Mapping[str, torch.Tensor], network: str
) -> None:
    spectral = sorted({key.removesuffix(".weight_orig") for key in state if key.endswith(".weight_orig")})
    for source in spectral:
        if source.startswith("features."):
            continue  # the alias of conv1, accounted for below
        place_spectral_norm(
            conversion,
            file,
            source,
            f"{network}.{suite_name(source)}",
            transposed=source.startswith("decoder."),  # the two ConvTranspose2d of the decoder
        )
    for key in state:
        if key.startswith("features."):
            original = "conv1." + key.removeprefix("features.")
            if original not in state or not torch.equal(state[key], state[original]):
                raise ReleaseError(f"{file}: {key} is not the copy of {original} the official D saves")
            conversion.skip(
                file, key, "Discriminator.features: conv1 saved a second time under its other name"
            )
        elif (file, key) not in conversion.used:
            conversion.copy(file, key, f"{network}.{suite_name(key)}")
