"""HiFill's released Places2 weights onto `HiFillInpainting`, from either of the authors' two forms:

- the TF checkpoint of duxingren14/Hifill-tensorflow (model_logs/places2: `checkpoint`, 0.index,
  0.data-00000-of-00001), as trainer.py's `tf.train.Saver(g_vars + d_vars)` writes it: the generator's and
  the critic's variables by their model.py / ops.py names, no optimizer state;
- the frozen inference graph of Atlas200dk/sample-imageinpainting-HiFill (GPU_CPU/pb/hifill.pb), where the
  generator's variables are Const nodes of the same names, beside the graph's own constants (shapes, axes,
  the attention's fusion kernel); it has no critic, which then starts fresh.

Names (model.py `build_generator` with config.yml IMG_SHAPE 512, BOTTLENECK_SIZE 64, COARSE_CONV_TYPE slice,
REFINE_CONV_TYPE ds; ops.py): a coarse layer `<name>` is a `gen_conv_gated_slice` with variables
`<name>_feat/{w,biases}` (features) and `<name>_gate/{w,biases}` (the one-channel gate); a refine layer is a
`gen_conv_gated_ds` with `<name>/{w,biases}` (features) and `<name>/{pw,ds_biases}` (the 1×1 gate); the
upsampling layers (`gen_deconv_*`) nest theirs as `<name>/<name>_conv`. Kernels are HWIO (suite: OIHW).

The authors' code reads images with cv2, so the release's image channels are BGR: the input channels of
the first layers and the channels of the output layers are reversed here, which gives the same network
on the RGB images the suite feeds.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
from torch import Tensor

from lightning_modules.released_weights import (
    ReleaseConversion,
    ReleaseError,
    oihw,
    read_tf_release,
    skip_tf_training_state,
)
from utils.tf_graph import FrozenGraphError, read_frozen_graph

FROZEN_GRAPH = "hifill.pb"  # Atlas200dk GPU_CPU/test.py reads ./pb/hifill.pb
IMAGE_SIZE, BOTTLENECK_SIZE = 512, 64  # config.yml IMG_SHAPE, BOTTLENECK_SIZE: they name the refine stages
# ops.py gen_conv_gated_ds: conv2d's w, biases (features), conv2d_ds's pw, ds_biases (the gate)
DS_VARIABLES = {
    "w": "features.weight",
    "biases": "features.bias",
    "pw": "gate.weight",
    "ds_biases": "gate.bias",
}
# leaf names of variables (ops.py conv2d, conv2d_ds; tf.layers.dense); other graph constants are no weights
VARIABLE_LEAVES = ("w", "biases", "pw", "ds_biases", "kernel", "bias")
# the suite layers that take image channels (then the mask, if any) and those that output them
INPUT_LAYERS = ("generator.coarse.layers.0.", "generator.refine.encoder.0.0.", "discriminator.convs.0.")
OUTPUT_LAYERS = ("generator.coarse.layers.25.conv.", "generator.refine.to_output.conv.")


def coarse_layers() -> dict[str, str]:
    """{TF layer: suite layer} of the coarse network, in model.py's stage-1 order."""
    names = ["c_en_down_128", "c_en_conv_128", "c_en_down_64", "c_en_conv1_64", "c_en_conv2_64"]
    names += ["c_en_conv3_64", *(f"c_dil_d{i}" for i in range(1, 15))]  # ops.py dilate_block
    names += ["c_de_conv1_64", "c_de_conv2_64", "c_de_conv3_64", "c_de_up_128/c_de_up_128_conv"]
    names += ["c_de_conv_128", "c_de_toRGB/c_de_toRGB_conv"]
    return {name: f"generator.coarse.layers.{i}{'.conv' * ('/' in name)}" for i, name in enumerate(names)}


def refine_layers() -> dict[str, str]:
    """{TF layer: suite layer} of the refine network; model.py names its stages by their feature size."""
    layers, size, levels = {}, IMAGE_SIZE, 0
    while size > BOTTLENECK_SIZE:  # encoder: 256, 128, 64
        size //= 2
        layers[f"re_en_down_{size}"] = f"generator.refine.encoder.{levels}.0"
        layers[f"re_en_conv_{size}"] = f"generator.refine.encoder.{levels}.1"
        levels += 1
    for i, rate in enumerate((1, 2, 4, 8, 16)):  # ops.py dilate_block2
        layers[f"re_dil_d{rate}"] = f"generator.refine.dilated.{i}"
    layers[f"re_att_{size}_att1"] = "generator.refine.attended_conv"  # ops.py apply_contextual_attention
    layers[f"re_att_{size}_att3"] = "generator.refine.merge_conv"
    for i in range(levels - 1):  # decoder: 128, 256
        size *= 2
        layers[f"re_de_up__{size}/re_de_up__{size}_conv"] = f"generator.refine.up.{i}.conv"
        layers[f"re_de_conv_{size}"] = f"generator.refine.up_conv.{i}"
        layers[f"re_de_att_{size}_1"] = f"generator.refine.skips.{i}.convs.0"  # ops.py apply_attention
        layers[f"re_de_att_{size}_2"] = f"generator.refine.skips.{i}.convs.1"
    layers[f"re_de_toRGB__{size}/re_de_toRGB__{size}_conv"] = "generator.refine.to_output.conv"
    return layers


def generator_variables() -> dict[str, str]:
    """{TF variable: suite tensor} of the generator (192 variables in the release)."""
    names = {}
    for layer, target in coarse_layers().items():
        for part, module in (("feat", "features"), ("gate", "gate")):
            names[f"generator/{layer}_{part}/w"] = f"{target}.{module}.weight"
            names[f"generator/{layer}_{part}/biases"] = f"{target}.{module}.bias"
    for layer, target in refine_layers().items():
        for leaf, tensor in DS_VARIABLES.items():
            names[f"generator/{layer}/{leaf}"] = f"{target}.{tensor}"
    return names


def critic_variables() -> dict[str, str]:
    """{TF variable: suite tensor} of model.py's `build_discriminator`: dis_conv conv1 … conv6, dense."""
    names = {}
    for i in range(6):
        names[f"discriminator/conv{i + 1}/w"] = f"discriminator.convs.{i}.weight"
        names[f"discriminator/conv{i + 1}/biases"] = f"discriminator.convs.{i}.bias"
    names["discriminator/linear/kernel"] = "discriminator.linear.weight"
    names["discriminator/linear/bias"] = "discriminator.linear.bias"
    return names


def suite_layout(value: Tensor, target: str, critic_width: int) -> tuple[Tensor, str]:
    """A release tensor in the suite's layout for `target`, and how it was changed."""
    how = []
    if value.dim() == 4:
        value, how = oihw(value), ["HWIO -> OIHW"]
    elif target == "discriminator.linear.weight":
        # tf.layers.dense on the critic's NHWC features, flattened (h, w, c); the suite flattens NCHW
        side = round((value.shape[0] // critic_width) ** 0.5)
        value = value.reshape(side, side, critic_width, -1).permute(3, 2, 0, 1).flatten(1)
        how = ["dense kernel rows (h, w, c) -> Linear weight columns (c, h, w)"]
    if target.startswith(INPUT_LAYERS) and target.endswith(".weight"):
        value, how = value[:, [2, 1, 0, *range(3, value.shape[1])]], [*how, "input channels BGR -> RGB"]
    if target.startswith(OUTPUT_LAYERS) and value.shape[0] == 3:  # not the shared one-channel gate
        value, how = value.flip(0), [*how, "output channels BGR -> RGB"]
    return value, ", ".join(how) or "copied"


def place_variables(conversion: ReleaseConversion, file: str, variables: Mapping[str, str]) -> None:
    tensors = conversion.files[file]
    critic_width = tensors["discriminator/conv6/w"].shape[-1] if "discriminator/conv6/w" in tensors else 0
    for key, target in variables.items():
        value, how = suite_layout(conversion.take(file, key), target, critic_width)
        conversion.place(target, value, [f"{file}:{key}"], how)


def read_release(directory: Path, form: str, url: str | None) -> tuple[str, dict[str, np.ndarray], dict]:
    """(file label, {name: array}, notes) of the release in `directory`."""
    where = f" from {url}" if url else ""
    if form == "checkpoint":
        label, tensors, shards = read_tf_release(directory, "HiFill's release", url)
        return label, tensors, {"form": "TF checkpoint", "files": shards}
    path = directory / FROZEN_GRAPH
    if not path.is_file():
        raise ReleaseError(
            f"{path} not found: release.dir must hold the frozen graph {FROZEN_GRAPH}. Download it{where}"
        )
    try:
        constants = read_frozen_graph(path).constants
    except FrozenGraphError as error:
        raise ReleaseError(f"{error}. Download HiFill's {FROZEN_GRAPH} again{where}") from error
    # string constants (none in HiFill's graph) are no tensors, let alone weights
    numeric = {name: value for name, value in constants.items() if value.dtype.kind in "biuf"}
    return FROZEN_GRAPH, numeric, {"form": "frozen graph"}


def convert(
    conversion: ReleaseConversion, directory: Path, url: str | None = None, form: str = "checkpoint"
) -> dict[str, object]:
    """Place the release in `directory`: form "checkpoint" (a folder with the checkpoint's files) or
    "frozen_graph" (a folder with hifill.pb). Returns notes: the form, the data files, the critic's fate."""
    if form not in ("checkpoint", "frozen_graph"):
        raise ReleaseError(f"release form must be checkpoint or frozen_graph, got {form!r}")
    file, tensors, notes = read_release(directory, form, url)
    conversion.add_file(file, tensors)
    place_variables(conversion, file, generator_variables())
    if any(key.startswith("discriminator/") for key in tensors):
        place_variables(conversion, file, critic_variables())
        notes["discriminator"] = "converted"
    else:
        reason = f"{file} holds the generator only"
        conversion.start_fresh("discriminator.", reason)
        notes["discriminator"] = f"fresh: {reason}"
    skip_tf_training_state(conversion, file)
    if form == "frozen_graph":
        conversion.skip_matching(
            file,
            "a constant of the graph's computation (shape, axis, fusion kernel ...), not a weight",
            lambda key: key.rsplit("/", 1)[-1] not in VARIABLE_LEAVES,
        )
    return notes
