"""DeepFill v2's released TensorFlow checkpoints (JiahuiYu/generative_inpainting v2.0.0 README, "Pretrained
models": the Places2 and CelebA-HQ Google Drive folders `release_places2_256`, `release_celeba_hq_256`) onto
`GatedConvInpainting`.

A folder is a checkpoint as neuralgym writes one (train/trainer.py `tf.train.Saver(tf.global_variables())`,
callbacks/model_saver.py): `checkpoint` (Drive renames it checkpoint.txt), `snap-<step>.index`,
`snap-<step>.data-00000-of-00001`, `snap-<step>.meta`. Its variables (inpaint_model.py, inpaint_ops.py):

- the generator, scope `inpaint_net`: each layer one `tf.layers.conv2d`, `<layer>/kernel` (HWIO; the suite
  is OIHW) and `<layer>/bias`. A gated conv's 2c output channels are [features, gate] (`gen_conv` splits
  them in this order, as GatedConv2d does); `gen_deconv` nests its conv as `<layer>/<layer>_conv`.
- the SN-PatchGAN, scope `discriminator/sn_patch_gan`: `conv1` ... `conv6` with `kernel`, `bias` and
  neuralgym's spectral-norm vector `kernel_sn/u` (1 x out; ops/gan_ops.py `kernel_spectral_norm`). The
  releases hold the generator alone (JiahuiYu/generative_inpainting#277): the discriminator starts fresh.
- training state: Adam's `<variable>/Adam`, `/Adam_1`, `beta1_power`, `beta2_power`, train.py's `lr` and
  neuralgym's `global_step` (noted), all skipped.

Two conversions beyond the layout:

- Channel order. The authors train and test on BGR images (neuralgym data/data_from_fnames.py and test.py
  read with cv2.imread; test.py reverses the output to RGB). The image channels of the layers that read the
  image (conv1, whose input is image, ones, mask; xconv1; pmconv1; D's conv1, image then mask) and of the
  layers that write it (conv17, allconv17) are reversed, so the converted module takes and gives RGB and
  computes what the authors' code computes on the same image file.
- Spectral norm. neuralgym runs one power iteration from the stored u on every forward, in training and at
  test alike: v = normalize(Wᵀu), u' = normalize(W v), σ = u'·W v. The suite's parametrization in eval
  mode divides by u·W v of its stored vectors without iterating, so it gets v and u' (iterated once here):
  its eval-mode weight is the kernel TF's first forward from the checkpoint uses. In train mode it then
  iterates from u', one power iteration ahead of TF resuming from u.
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F

from lightning_modules.released_weights import (
    ReleaseConversion,
    ReleaseError,
    oihw,
    read_tf_release,
    skip_tf_training_state,
)

# inpaint_model.py build_inpaint_net: stage 1's encoder, whose first 10 / 6 layers the hallucination (x...)
# and attention (pm...) branches of stage 2 repeat, and the decoder both stages share (stage 2: all...)
ENCODER = (
    "conv1",
    "conv2_downsample",
    "conv3",
    "conv4_downsample",
    "conv5",
    "conv6",
    "conv7_atrous",
    "conv8_atrous",
    "conv9_atrous",
    "conv10_atrous",
    "conv11",
    "conv12",
)
DECODER = ("conv13_upsample", "conv14", "conv15_upsample", "conv16", "conv17")
# the GatedConv2d of each decoder layer in the suite's _decoder (a GatedUpConv holds it as `.conv`)
DECODER_MODULES = ("0.conv", "1", "2.conv", "3", "4")
IMAGE_INPUTS = (
    "inpaint_net/conv1",
    "inpaint_net/xconv1",
    "inpaint_net/pmconv1",
    "discriminator/sn_patch_gan/conv1",
)
IMAGE_OUTPUTS = ("inpaint_net/conv17", "inpaint_net/allconv17")
DISCRIMINATOR = "discriminator/sn_patch_gan"


def decoder_scope(prefix: str, layer: str) -> str:
    """The TF scope of a decoder layer: `gen_deconv` nests its conv as <name>/<name>_conv."""
    name = f"{prefix}{layer}"
    return f"{name}/{name}_conv" if layer.endswith("_upsample") else name


def generator_layers() -> dict[str, str]:
    """{TF layer scope: the suite's GatedConv2d} of the generator, 42 layers."""
    layers = {f"inpaint_net/{name}": f"generator.coarse.layers.{i}" for i, name in enumerate(ENCODER)}
    for prefix, decoder in (("", "generator.coarse.layers.12"), ("all", "generator.refine.decoder")):
        for layer, module in zip(DECODER, DECODER_MODULES):
            layers[f"inpaint_net/{decoder_scope(prefix, layer)}"] = f"{decoder}.{module}"
    for i, name in enumerate(ENCODER[:10]):
        layers[f"inpaint_net/x{name}"] = f"generator.refine.hallucination.{i}"
    for i, name in enumerate(ENCODER[:6]):
        layers[f"inpaint_net/pm{name}"] = f"generator.refine.attention_encoder.{i}"
    layers["inpaint_net/pmconv9"] = "generator.refine.attention_decoder.0"
    layers["inpaint_net/pmconv10"] = "generator.refine.attention_decoder.1"
    layers["inpaint_net/allconv11"] = "generator.refine.merge.0"
    layers["inpaint_net/allconv12"] = "generator.refine.merge.1"
    return layers


def suite_weight(
    conversion: ReleaseConversion, file: str, scope: str
) -> tuple[torch.Tensor, torch.Tensor, str]:
    """(OIHW weight, bias, how) of the conv `scope`, its image channels turned from BGR to RGB."""
    weight = oihw(conversion.take(file, f"{scope}/kernel"))
    bias = conversion.take(file, f"{scope}/bias")
    how = ["HWIO -> OIHW"]
    if scope in IMAGE_INPUTS:  # the image's 3 channels come first
        weight = torch.cat([weight[:, :3].flip(1), weight[:, 3:]], dim=1)
        how.append("image input channels BGR -> RGB")
    if scope in IMAGE_OUTPUTS:
        weight, bias = weight.flip(0), bias.flip(0)
        how.append("output channels BGR -> RGB")
    return weight, bias, ", ".join(how)


def check_width(conversion: ReleaseConversion, file: str, scope: str, target: str) -> None:
    """The kernel's shape against the suite tensor `target`, both told in TF's HWIO (place() says OIHW)."""
    kernel, expected = conversion.files[file].get(f"{scope}/kernel"), conversion.expected.get(target)
    if kernel is None or expected is None:
        return  # take() and place() name what is missing
    hwio = tuple(expected.permute(2, 3, 1, 0).shape)
    if tuple(kernel.shape) != hwio:
        raise ReleaseError(
            f"{file}:{scope}/kernel is {tuple(kernel.shape)} (HWIO) where the suite's {target} needs {hwio}: "
            "a network of another width than the release's config builds (the published releases: "
            "model.generator.cnum=48), or a checkpoint of another model"
        )


def place_conv(conversion: ReleaseConversion, file: str, scope: str, target: str) -> None:
    check_width(conversion, file, scope, f"{target}.weight")
    weight, bias, how = suite_weight(conversion, file, scope)
    conversion.place(f"{target}.weight", weight, [f"{file}:{scope}/kernel"], how)
    conversion.place(f"{target}.bias", bias, [f"{file}:{scope}/bias"], "copied")


def place_sn_conv(conversion: ReleaseConversion, file: str, scope: str, target: str) -> None:
    """A `dis_conv` onto a conv under torch's spectral-norm parametrization: the raw kernel, and u, v after
    the one power iteration that neuralgym's forward makes from the stored u (module docstring)."""
    prefix = f"{target}.parametrizations.weight"
    check_width(conversion, file, scope, f"{prefix}.original")
    weight, bias, how = suite_weight(conversion, file, scope)
    u = conversion.take(file, f"{scope}/kernel_sn/u").reshape(-1)
    sources = [f"{file}:{scope}/kernel", f"{file}:{scope}/kernel_sn/u"]
    conversion.place(f"{prefix}.original", weight, sources[:1], how)
    conversion.place(f"{target}.bias", bias, [f"{file}:{scope}/bias"], "copied")
    matrix = weight.flatten(1).double()
    if matrix.shape[0] != u.numel():
        raise ReleaseError(
            f"{file}:{scope}/kernel_sn/u has {u.numel()} entries for a kernel of {matrix.shape[0]} output "
            "channels: a corrupted or foreign checkpoint"
        )
    v = F.normalize(matrix.T @ u.double(), dim=0, eps=1e-12)
    u = F.normalize(matrix @ v, dim=0, eps=1e-12)
    how = "neuralgym's power iteration from the stored u: v = normalize(Wᵀu), u' = normalize(Wv)"
    conversion.place(f"{prefix}.0._u", u.float(), sources, how)
    conversion.place(f"{prefix}.0._v", v.float(), sources, how)


def read_release(directory: Path, url: str | None) -> tuple[str, dict, list[str]]:
    """(file label, {name: array}, data shards) of the checkpoint in `directory`."""
    label, tensors, shards = read_tf_release(directory, "DeepFill v2's release folder", url)
    if not any(key.startswith("inpaint_net/") for key in tensors):
        raise ReleaseError(
            f"{directory} holds no inpaint_net/ variables: not a DeepFill v2 checkpoint (it holds "
            f"{len(tensors)} tensors, e.g. {', '.join(list(tensors)[:4])}). Pass the folder of "
            "release_places2_256 or release_celeba_hq_256 (JiahuiYu/generative_inpainting README, v2.0.0)"
        )
    return label, tensors, shards


def convert(conversion: ReleaseConversion, directory: Path, url: str | None = None) -> dict:
    """Place the checkpoint in `directory`; returns notes: the data files, neuralgym's global step (if
    saved) and whether the discriminator was converted."""
    file, tensors, shards = read_release(directory, url)
    conversion.add_file(file, tensors)
    for scope, target in generator_layers().items():
        place_conv(conversion, file, scope, f"{target}.conv")
    notes: dict = {"form": "TF checkpoint", "files": shards}
    if any(key.startswith(f"{DISCRIMINATOR}/") for key in tensors):
        for i in range(6):
            place_sn_conv(conversion, file, f"{DISCRIMINATOR}/conv{i + 1}", f"discriminator.layers.{2 * i}")
        notes["discriminator"] = "converted"
    else:
        reason = f"{file} holds the generator alone, as the authors released it"
        conversion.start_fresh("discriminator.", reason)
        notes["discriminator"] = f"fresh: {reason}"
    if "global_step" in tensors:
        notes["global_step"] = int(tensors["global_step"])
    skip_tf_training_state(conversion, file)
    return notes
