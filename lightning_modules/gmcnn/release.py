"""GMCNN's released PyTorch weights (shepnerd/inpainting_gmcnn README, "For pytorch implementations":
CelebA-HQ_256) onto `GMCNNInpainting`.

The authors' code saves and loads one file per network, `<epoch>_net_<name>.pth` (pytorch/model/basemodel.py
`save_networks` / `load_networks`), a bare state dict. Its `model_names` is ['GM'] (net.py
`InpaintingModel_GMCNN`), so a release holds the generator alone: the discriminators are never saved, and
start fresh here. test.py loads the newest `*.pth` of `--load_model_dir` (util/utils.py `getLatest`) into
the unwrapped generator with strict loading, so the keys carry no DataParallel prefix.

net.py `GMCNN` keeps its layers in the lists `EB1`, `EB2`, `EB3` (the 7×7, 5×5 and 3×3 columns, with the
parameter-free upsamplings at the same indices as here) and `decoding_layers`; the suite names them
`columns.<0|1|2>.<i>.conv` and `fuse.<i>.conv`, with the same shapes (OIHW) and layer order.

The authors' TensorFlow releases (README, "For tensorflow implementations") are another network: see
conf/release/gmcnn.yaml.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

from torch import Tensor

from lightning_modules.released_weights import ReleaseConversion, ReleaseError, load_torch_file

RELEASE_FILE = re.compile(r"(\d+)_net_GM\.pth")
SUITE_KEY = re.compile(r"generator\.(?:columns\.(\d)|(fuse))\.(\d+)\.conv\.(weight|bias)")


def release_key(target: str) -> str:
    """The name net.py's GMCNN gives the suite's generator tensor `target`."""
    match = SUITE_KEY.fullmatch(target)
    if match is None:
        raise ReleaseError(f"gmcnn: the suite's generator has a tensor {target!r} that net.py's GMCNN lacks")
    column, fuse, index, kind = match.groups()
    return f"{'decoding_layers' if fuse else f'EB{int(column) + 1}'}.{index}.{kind}"


def release_file(directory: Path) -> tuple[Path, int | None]:
    """The generator file of `directory` and its epoch: the highest `<epoch>_net_GM.pth`, else the folder's
    only `*.pth` (test.py takes any). getLatest's newest-by-ctime says nothing about a download."""
    files = sorted(directory.glob("*.pth"))
    epochs = {int(m.group(1)): path for path in files if (m := RELEASE_FILE.fullmatch(path.name))}
    if epochs:
        return epochs[max(epochs)], max(epochs)
    if len(files) == 1:
        return files[0], None
    found = ", ".join(path.name for path in files) or "no .pth file"
    raise ReleaseError(
        f"{directory} holds {found}: GMCNN's release is one <epoch>_net_GM.pth (the generator, as "
        "basemodel.py save_networks names it). Pass the folder unpacked from the CelebA-HQ_256 download"
    )


def convert(conversion: ReleaseConversion, directory: Path, url: str | None = None) -> dict[str, str | int]:
    """Place the generator file of `directory`; the discriminators start fresh. Returns the file and its
    epoch (the name's number, when it has one)."""
    path, epoch = release_file(directory)
    data = load_torch_file(path, url)
    if not isinstance(data, Mapping) or not all(isinstance(value, Tensor) for value in data.values()):
        found = sorted(data) if isinstance(data, Mapping) else type(data).__name__
        raise ReleaseError(
            f"{path} is not GMCNN's generator file: basemodel.py save_networks writes GMCNN's bare state dict "
            f"(EB1.0.weight, ...), this file holds {found}. Is it a release of another method?"
        )
    file = path.name
    conversion.add_file(file, data)
    for target in conversion.expected:
        if target.startswith("generator."):
            conversion.copy(file, release_key(target), target)
    conversion.start_fresh(
        "discriminator.", "the authors' code saves the generator alone (net.py model_names = ['GM'])"
    )
    return {"file": file} if epoch is None else {"file": file, "epoch": epoch}
