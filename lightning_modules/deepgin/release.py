"""DeepGIN's released weights (rlct1/gin README: the AIM 2020 challenge model, put in `checkpoints/gin/` for
`test_ensemble.py --name gin`, and the warm-up, put in `checkpoints/warmup/` for `train.py --continue_train
--load_pretrain`) onto `DeepGINInpainting`.

`BaseModel.save_network` (models/base_model.py) writes each network as a bare state dict,
`torch.save(network.cpu().state_dict())`, to `<which_epoch>_net_G.pth` / `_net_D.pth`; both commands load
which_epoch "latest" (options/test_options.py, train_options.py). The keys carry no `module.` prefix
(train.py wraps the whole model in DataParallel, not the networks), but one is removed if present. The test
model loads G alone and training loads D only if its file exists, so a folder without `latest_net_D.pth`
converts too: the discriminator then starts fresh.

The networks are those of models/networks.py: G is `ImageTinker2` (built by define_G with ngf=64, i.e. the
suite's width 32), D is `MultiscaleDiscriminator` (num_D 2, n_layers_D 2, getIntermFeat off: keys
`layer<i>.<j>.module.*`). Their names onto the suite's:

- G1 is the Sequential `lr_coarse_tinker`, whose padding and activation layers hold no tensors: convs 1, 4,
  7, 10, SPD blocks 12-17, convs 20, 24, 28, 31 are `coarse.layers` 0, 2.0, 3.0, 4.0, 5-10, 11.1, 12.1,
  13.1, 14; in a block `branch<k>.conv` is `branches.<k-1>.0` and `fusion9.conv` / `fusion5.conv` `fuse`.
- G2's named layers map one by one (`REFINE`); the SPD blocks run in the order mres1, 2, 5, the
  non-local block satn1, then mres3, 4, 6; a NonLocalBlock's `W` is the suite's `out`.
- D's `layer<i>` runs at scale num_D - 1 - i (MultiscaleDiscriminator.forward: `layer1` sees the full
  image), so it is the suite's `scales.<num_D-1-i>`. Its SpectralNorm (christiancosgrove's) keeps
  `weight_bar` (the raw weight), `weight_u`, `weight_v` and power-iterates on every forward from them, as
  torch's spectral-norm parametrization (`original`, `_u`, `_v`) does in train mode, where D is used.
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
    without_prefix,
)

# G1: the index of each conv / SPD block in lr_coarse_tinker -> its module in the suite's coarse.layers
COARSE = {
    1: "layers.0",
    4: "layers.2.0",
    7: "layers.3.0",
    10: "layers.4.0",
    **{12 + i: f"layers.{5 + i}" for i in range(6)},
    20: "layers.11.1",
    24: "layers.12.1",
    28: "layers.13.1",
    31: "layers.14",
}
# G2: the authors' layer -> the suite's module in refine
REFINE = {
    "r_en_conv1": "enc256.0",
    "r_en_conv2": "enc128.0",
    "r_en_conv3": "enc64.0",
    "r_en_conv4": "enc32.0",
    "r_en_conv5": "enc16.0",
    "r_md_mres1": "bottleneck.0",
    "r_md_mres2": "bottleneck.1",
    "r_md_mres5": "bottleneck.2",
    "r_md_satn1": "bottleneck.3",
    "r_md_mres3": "bottleneck.4",
    "r_md_mres4": "bottleneck.5",
    "r_md_mres6": "bottleneck.6",
    "r_de_conv1": "dec32.1",
    "r_en_skp_conv4": "skip32.reduce.0",
    "r_de_satn2": "skip32.reduce.2",
    "r_de_mix_conv1": "skip32.mix.0",
    "r_de_conv2": "dec64.1",
    "r_en_skp_conv3": "skip64.reduce.0",
    "r_de_satn3": "skip64.reduce.2",
    "r_de_mix_conv2": "skip64.mix.0",
    "r_de_conv2_lr": "low_res_head.0",
    "r_de_conv3_lr": "low_res_head.2",
    "r_de_conv3": "dec128.1",
    "r_de_conv4": "dec256.1",
    "r_de_conv5": "to_image",
    "r_de_conv5_lr_alpha": "alpha.0",
}
DISCRIMINATOR_KEY = re.compile(r"layer(\d+)\.(\d+)\.module\.(bias|weight_bar|weight_u|weight_v)")
SPECTRAL_NORM = {
    "bias": "bias",
    "weight_bar": "parametrizations.weight.original",
    "weight_u": "parametrizations.weight.0._u",
    "weight_v": "parametrizations.weight.0._v",
}


def block_part(part: str) -> str:
    """A tensor inside an SPD block (ConvBlock's `conv`) or a NonLocalBlock, as the suite names it."""
    part = re.sub(r"^branch(\d+)\.conv\.", lambda m: f"branches.{int(m.group(1)) - 1}.0.", part)
    part = re.sub(r"^fusion\d+\.conv\.", "fuse.", part)
    return re.sub(r"^W\.", "out.", part)


def generator_name(key: str) -> str | None:
    """The suite's name of an ImageTinker2 tensor (None: not one of its layers)."""
    head, _, part = key.partition(".")
    if head == "lr_coarse_tinker":
        index, _, part = part.partition(".")
        module = COARSE.get(int(index)) if index.isdigit() else None
        return None if module is None else f"generator.coarse.{module}.{block_part(part)}"
    if head in REFINE:
        return f"generator.refine.{REFINE[head]}.{block_part(part)}"
    return None


def read_state_dict(path: Path, url: str | None) -> dict[str, torch.Tensor]:
    data = load_torch_file(path, url)
    if not isinstance(data, Mapping) or not all(isinstance(v, torch.Tensor) for v in data.values()):
        found = sorted(data) if isinstance(data, Mapping) else type(data).__name__
        raise ReleaseError(
            f"{path} is not a DeepGIN {path.name}: BaseModel.save_network writes a bare state dict "
            f"(tensor name -> tensor), this file holds {found}. Pass the folder of DeepGIN's release "
            "(rlct1/gin README: checkpoints/gin or checkpoints/warmup)"
        )
    return without_prefix(data)


def convert(
    conversion: ReleaseConversion, directory: Path, url: str | None = None, which_epoch: str = "latest"
) -> dict[str, str]:
    """Place `<which_epoch>_net_G.pth` and, if present, `<which_epoch>_net_D.pth` of `directory`."""
    generator_file = f"{which_epoch}_net_G.pth"
    state = read_state_dict(directory / generator_file, url)
    conversion.add_file(generator_file, state)
    for key in state:
        target = generator_name(key)
        if target is not None:  # any other tensor is left over: finish() names it
            conversion.copy(generator_file, key, target)

    discriminator_file = f"{which_epoch}_net_D.pth"
    if not (directory / discriminator_file).is_file():
        conversion.start_fresh("discriminator.", f"{discriminator_file} is not in {directory}")
        return {"which_epoch": which_epoch}
    state = read_state_dict(directory / discriminator_file, url)
    conversion.add_file(discriminator_file, state)
    matches = {key: DISCRIMINATOR_KEY.fullmatch(key) for key in state}
    num_scales = 1 + max((int(m.group(1)) for m in matches.values() if m), default=-1)
    for key, match in matches.items():
        if match is not None:
            scale, layer, tensor = num_scales - 1 - int(match.group(1)), match.group(2), match.group(3)
            target = f"discriminator.scales.{scale}.layers.{layer}.{SPECTRAL_NORM[tensor]}"
            how = "copied" if tensor == "bias" else "spectral norm (weight_bar, u, v)"
            conversion.copy(discriminator_file, key, target, how)
    return {"which_epoch": which_epoch}
