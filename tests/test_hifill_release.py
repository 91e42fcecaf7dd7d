"""HiFill's released weights through import_release.py. The releases are written here without TensorFlow, with
the real release's names, dtypes and shapes: the TF checkpoint of duxingren14/Hifill-tensorflow,
model_logs/places2 (its 0.index lists exactly these 206 float32 variables: model.py build_generator and
build_discriminator, ops.py gated convolutions, config.yml GEN_NC 32, DIS_NC 64, IMG_SHAPE 512), and the
frozen graph of Atlas200dk/sample-imageinpainting-HiFill, GPU_CPU/pb/hifill.pb (the generator's variables as
Const nodes beside the graph's own constants). Each is converted and checked tensor by tensor, and against
networks computed from the TF variables as TF lays them out (HWIO kernels, "SAME" padding, BGR images)."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from numpy.lib.stride_tricks import sliding_window_view

from lightning_modules.base import load_inpainting_module
from lightning_modules.hifill.attention_transfer import attention_scores, transfer
from lightning_modules.hifill.light_weight_gated_conv import tf_resize_bilinear
from lightning_modules.released_weights import ReleaseError
from releases import convert_release
from tf_files import write_frozen_graph, write_tf_checkpoint

# model.py stage 1, gen_conv_gated_slice: (layer, kernel, stride, rate, in, out); the upsampling layers
# (gen_deconv_gated_slice) resize 2× first and nest their variables as <layer>/<layer>_conv
COARSE = [
    ("c_en_down_128", 5, 2, 1, 4, 32),
    ("c_en_conv_128", 3, 1, 1, 32, 32),
    ("c_en_down_64", 3, 2, 1, 32, 64),
    *[(f"c_en_conv{i}_64", 3, 1, 1, 64, 64) for i in (1, 2, 3)],
    # ops.py dilate_block as the code runs it
    *[
        (f"c_dil_d{i}", 3, 1, rate, 64, 64)
        for i, rate in enumerate((1, 1, 1, 2, 2, 2, 2, 2, 4, 4, 4, 4, 8, 8), 1)
    ],
    *[(f"c_de_conv{i}_64", 3, 1, 1, 64, 64) for i in (1, 2, 3)],
    ("c_de_up_128/c_de_up_128_conv", 3, 1, 1, 64, 32),
    ("c_de_conv_128", 3, 1, 1, 32, 32),
    ("c_de_toRGB/c_de_toRGB_conv", 3, 1, 1, 32, 3),
]
# stage 2, gen_conv_gated_ds (3×3 features, 1×1 gate at the same stride): (layer, stride, rate, in, out)
ENCODER = [
    ("re_en_down_256", 2, 1, 4, 32),
    ("re_en_conv_256", 1, 1, 32, 32),
    ("re_en_down_128", 2, 1, 32, 64),
    ("re_en_conv_128", 1, 1, 64, 64),
    ("re_en_down_64", 2, 1, 64, 128),
    ("re_en_conv_64", 1, 1, 128, 128),
]
DILATED = [(f"re_dil_d{rate}", 1, rate, 128, 128) for rate in (1, 2, 4, 8, 16)]  # ops.py dilate_block2
ATTENTION = [("re_att_64_att1", 1, 1, 128, 128), ("re_att_64_att3", 1, 1, 256, 128)]
DECODER = [  # per size: the upsampling, its conv, then apply_attention's two convs of the skip
    [
        ("re_de_up__128/re_de_up__128_conv", 1, 1, 128, 64),
        ("re_de_conv_128", 1, 1, 64, 64),
        ("re_de_att_128_1", 1, 1, 64, 64),
        ("re_de_att_128_2", 1, 2, 64, 64),
    ],
    [
        ("re_de_up__256/re_de_up__256_conv", 1, 1, 128, 32),
        ("re_de_conv_256", 1, 1, 32, 32),
        ("re_de_att_256_1", 1, 1, 32, 32),
        ("re_de_att_256_2", 1, 2, 32, 32),
    ],
]
TO_RGB = ("re_de_toRGB__256/re_de_toRGB__256_conv", 1, 1, 64, 3)
CRITIC = [3, 64, 128, 256, 256, 256, 256]  # build_discriminator conv1 … conv6, then dense on 8×8×256
DEEPFILL_LIKE = {"inpaint_net/conv1/kernel": (5, 5, 5, 48), "inpaint_net/conv1/bias": (48,)}


def release_shapes() -> dict[str, tuple[int, ...]]:
    shapes = {}
    for layer, k, _, _, cin, cout in COARSE:
        for part, width in (("feat", cout), ("gate", 1)):
            shapes[f"generator/{layer}_{part}/w"] = (k, k, cin, width)
            shapes[f"generator/{layer}_{part}/biases"] = (width,)
    for layer, _, _, cin, cout in [*ENCODER, *DILATED, *ATTENTION, *DECODER[0], *DECODER[1], TO_RGB]:
        shapes[f"generator/{layer}/w"] = (3, 3, cin, cout)
        shapes[f"generator/{layer}/biases"] = (cout,)
        shapes[f"generator/{layer}/pw"] = (1, 1, cin, cout)
        shapes[f"generator/{layer}/ds_biases"] = (cout,)
    for i, (cin, cout) in enumerate(zip(CRITIC, CRITIC[1:]), 1):
        shapes[f"discriminator/conv{i}/w"] = (5, 5, cin, cout)
        shapes[f"discriminator/conv{i}/biases"] = (cout,)
    shapes["discriminator/linear/kernel"] = (8 * 8 * 256, 1)
    shapes["discriminator/linear/bias"] = (1,)
    return shapes


def random_tensors(shapes: dict[str, tuple[int, ...]], seed: int = 0) -> dict[str, np.ndarray]:
    """Kernels of std 2/√fan-in (the gates halve the features) and non-zero biases: outputs span [-1, 1]."""
    rng = np.random.default_rng(seed)
    return {
        name: rng.normal(0, 0.1 if len(shape) == 1 else 2 / math.sqrt(math.prod(shape[:-1])), shape).astype(
            np.float32
        )
        for name, shape in shapes.items()
    }


def write_checkpoint(folder: Path, tensors: dict[str, np.ndarray]) -> Path:
    """The folder as trainer.py's Saver leaves it, with the release's `checkpoint` file."""
    folder.mkdir(parents=True, exist_ok=True)
    write_tf_checkpoint(folder / "0", tensors)
    (folder / "checkpoint").write_text('model_checkpoint_path: "0"\nall_model_checkpoint_paths: "0"\n')
    return folder


# constants of the inference graph besides the weights (names as tf.compat.v1 gives them to model.py's ops)
GRAPH_CONSTANTS = {
    "truediv/y": np.float32(127.5),
    "concat/axis": np.int32(3),
    "generator/ResizeBilinear/size": np.array([256, 256], np.int32),
    "generator/c_en_down_128_feat/Reshape/shape": np.array([1, 128, 128, 32], np.int32),
    "generator/eye/ones": np.ones(3, np.float32),
    "generator/Maximum/y": np.float32(1e-8),
    "generator/mul_43/y": np.float32(10),
    "mul_4/y": np.float32(127.5),
}


def write_graph(folder: Path, tensors: dict[str, np.ndarray]) -> Path:
    """hifill.pb: the generator's variables frozen into Const nodes read through `/read` identities, the
    placeholders and outputs that Atlas200dk's GPU_CPU/test.py feeds and reads."""
    folder.mkdir(parents=True, exist_ok=True)
    weights = {name: value for name, value in tensors.items() if name.startswith("generator/")}
    nodes = [
        ("img", "Placeholder", (), {"dtype": np.dtype(np.float32), "shape": [1, 512, 512, 3]}),
        ("mask", "Placeholder", (), {"dtype": np.dtype(np.float32), "shape": [1, 512, 512, 1]}),
        *((f"{name}/read", "Identity", (name,), {"T": np.dtype(np.float32)}) for name in weights),
        *((name, "Identity", ("generator/clip_by_value_1",), {}) for name in ("inpainted", "attention")),
        ("mask_processed", "Identity", ("mask",), {}),
    ]
    write_frozen_graph(folder / "hifill.pb", {**GRAPH_CONSTANTS, **weights}, nodes)
    return folder


@pytest.fixture(scope="module")
def release(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, np.ndarray], Path, Path]:
    """The release's tensors, its checkpoint folder, and that folder converted through the command's config."""
    folder = tmp_path_factory.mktemp("hifill")
    tensors = random_tensors(release_shapes())
    write_checkpoint(folder / "places2", tensors)
    out = folder / "hifill_places2.ckpt"
    convert_release("hifill", "places2", folder / "places2", out)
    return tensors, folder / "places2", out


def expected_suite_tensor(name: str, value: np.ndarray) -> torch.Tensor:
    """A release tensor as the suite must hold it: OIHW kernels, the dense kernel's rows from TF's NHWC
    flattening to the suite's NCHW one, image channels from BGR to RGB."""
    tensor = torch.from_numpy(value)
    layer, leaf = name.rsplit("/", 1)
    if tensor.dim() == 4:
        tensor = tensor.permute(3, 2, 0, 1)
    if name == "discriminator/linear/kernel":
        tensor = tensor.reshape(8, 8, 256, 1).permute(3, 2, 0, 1).reshape(1, -1)
    takes_image = layer.startswith(
        ("generator/c_en_down_128_", "generator/re_en_down_256", "discriminator/conv1")
    )
    if takes_image and leaf in ("w", "pw"):
        tensor = tensor[:, [2, 1, 0, 3][: tensor.shape[1]]]
    if layer.startswith(("generator/c_de_toRGB/", "generator/re_de_toRGB__256/")) and tensor.shape[0] == 3:
        tensor = tensor.flip(0)
    return tensor


def test_the_release_layout_is_the_published_one() -> None:
    # the real 0.index: 206 float32 tensors, 8,684,392 values; the generator's are the suite's 2,722,791
    shapes = release_shapes()
    assert len(shapes) == 206
    assert sum(math.prod(shape) for shape in shapes.values()) == 8_684_392
    generator = sum(math.prod(shape) for name, shape in shapes.items() if name.startswith("generator/"))
    assert generator == 2_722_791


def test_every_tensor_lands_bit_equal_and_nothing_is_left_over(release) -> None:
    tensors, folder, ckpt = release
    checkpoint = torch.load(ckpt, weights_only=True)
    state, report = checkpoint["state_dict"], json.loads(ckpt.with_suffix(".json").read_text())
    placed = {p["target"]: p["sources"] for p in report["placed"]}
    assert set(placed) == set(state) == set(load_inpainting_module(ckpt).state_dict())
    sources = [source for group in placed.values() for source in group]
    assert sorted(sources) == sorted(f"0.data-00000-of-00001:{name}" for name in tensors)  # each once
    assert report["skipped"] == {} and report["fresh"] == {}
    for target, (source,) in placed.items():
        name = source.split(":", 1)[1]
        assert torch.equal(state[target], expected_suite_tensor(name, tensors[name])), (target, name)
    for name, target in {  # a few by hand: same-shaped layers must not trade places
        "generator/c_dil_d14_feat/w": "generator.coarse.layers.19.features.weight",
        "generator/c_de_toRGB/c_de_toRGB_conv_gate/biases": "generator.coarse.layers.25.conv.gate.bias",
        "generator/re_dil_d16/pw": "generator.refine.dilated.4.gate.weight",
        "generator/re_de_att_128_2/ds_biases": "generator.refine.skips.0.convs.1.gate.bias",
        "discriminator/conv6/biases": "discriminator.convs.5.bias",
    }.items():
        assert placed[target] == [f"0.data-00000-of-00001:{name}"]
    assert report["notes"] == {
        "form": "TF checkpoint",
        "files": ["0.data-00000-of-00001"],
        "discriminator": "converted",
    }
    assert set(report["sha256"]) == {"0.data-00000-of-00001"}


def tf_conv(
    x: torch.Tensor, kernel: np.ndarray, bias: np.ndarray, stride: int = 1, rate: int = 1
) -> torch.Tensor:
    """tf.nn.conv2d with padding "SAME" (the extra pixel after) of an HWIO kernel, on NCHW input."""
    k = kernel.shape[0]
    pads = []
    for size in reversed(x.shape[-2:]):
        total = max((math.ceil(size / stride) - 1) * stride + rate * (k - 1) + 1 - size, 0)
        pads += [total // 2, total - total // 2]
    weight = torch.from_numpy(kernel).to(x.dtype).permute(3, 2, 0, 1)
    return F.conv2d(F.pad(x, pads), weight, torch.from_numpy(bias).to(x.dtype), stride, dilation=rate)


class TFReference:
    """HiFill's generator and critic computed from the release's variables by their names, in the release's
    BGR channel order; the attention scores and their transfer are the suite's functions."""

    def __init__(self, tensors: dict[str, np.ndarray]):
        self.v = tensors

    def slice_conv(self, x, layer, k, stride, rate, *_):
        feat = tf_conv(
            x, self.v[f"generator/{layer}_feat/w"], self.v[f"generator/{layer}_feat/biases"], stride, rate
        )
        gate = tf_conv(
            x, self.v[f"generator/{layer}_gate/w"], self.v[f"generator/{layer}_gate/biases"], stride, rate
        )
        return torch.sigmoid(gate) * F.elu(feat)

    def ds_conv(self, x, layer, stride, rate, *_):
        v = {leaf: self.v[f"generator/{layer}/{leaf}"] for leaf in ("w", "biases", "pw", "ds_biases")}
        return torch.sigmoid(tf_conv(x, v["pw"], v["ds_biases"], stride)) * F.elu(
            tf_conv(x, v["w"], v["biases"], stride, rate)
        )

    @staticmethod
    def up(x):
        return tf_resize_bilinear(x, (2 * x.shape[-2], 2 * x.shape[-1]))

    def generator(self, x_in: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = tf_resize_bilinear(torch.cat([x_in, mask], 1), (256, 256))
        for layer in COARSE:
            x = self.slice_conv(self.up(x) if "/" in layer[0] else x, *layer)
        coarse = tf_resize_bilinear(x.clamp(-1, 1), tuple(x_in.shape[-2:]))
        x = torch.cat([coarse * mask + x_in * (1 - mask), mask], 1)
        skips = []
        for i, layer in enumerate(ENCODER):
            x = self.ds_conv(x, *layer)
            if i % 2:
                skips.append(x)
        for layer in DILATED:
            x = self.ds_conv(x, *layer)
        scores = attention_scores(x, mask)
        grid = (x.shape[-2] // 2, x.shape[-1] // 2)
        attended = self.ds_conv(transfer(x, scores, grid, kernel=3), *ATTENTION[0])
        x = self.ds_conv(torch.cat([x, attended], 1), *ATTENTION[1])
        for (up, conv, att_1, att_2), skip in zip(DECODER, reversed(skips[:-1])):
            x = self.ds_conv(self.ds_conv(self.up(x), *up), *conv)
            x = torch.cat([self.ds_conv(self.ds_conv(transfer(skip, scores, grid), *att_1), *att_2), x], 1)
        return coarse, self.ds_conv(self.up(x), *TO_RGB).clamp(-1, 1)

    def critic(self, x: torch.Tensor) -> torch.Tensor:
        for i in range(1, 7):
            v = self.v
            x = F.leaky_relu(
                tf_conv(x, v[f"discriminator/conv{i}/w"], v[f"discriminator/conv{i}/biases"], 2), 0.2
            )
        flat = x.permute(0, 2, 3, 1).flatten(1)  # TF flattens NHWC
        kernel, bias = (torch.from_numpy(self.v[f"discriminator/linear/{n}"]) for n in ("kernel", "bias"))
        return flat @ kernel + bias


def test_the_converted_networks_equal_the_release_computed_from_its_tf_variables(release) -> None:
    tensors, _, ckpt = release
    model = load_inpainting_module(ckpt).double()
    reference = TFReference(tensors)
    gen = torch.Generator().manual_seed(0)
    image = torch.rand(1, 3, 128, 96, generator=gen, dtype=torch.float64) * 2 - 1  # RGB, [-1, 1]
    mask = torch.zeros(1, 1, 128, 96, dtype=torch.float64)
    mask[..., 40:90, 20:60] = 1
    x = image * (1 - mask)
    with torch.no_grad():
        coarse, refined, _ = model.generator(x, mask, image)
        tf_coarse, tf_refined = reference.generator(x.flip(1), mask)  # the release sees BGR
        torch.testing.assert_close(coarse, tf_coarse.flip(1), rtol=0, atol=1e-10)
        torch.testing.assert_close(refined, tf_refined.flip(1), rtol=0, atol=1e-10)
        assert refined.std() > 0.2  # a non-trivial output
        # the critic in float32: 512² is its only size, and float64 convolutions there are slow
        photo = torch.rand(1, 3, 512, 512, generator=gen) * 2 - 1
        torch.testing.assert_close(
            model.float().discriminator(photo), reference.critic(photo.flip(1)), rtol=1e-5, atol=0
        )


def test_the_first_gated_conv_is_the_tf_kernel_applied_directly(release) -> None:
    """c_en_down_128 (5×5, stride 2, "SAME": one pixel before, two after on even sides) by sliding windows
    over NHWC BGR pixels and the HWIO kernel, independent of any layout conversion."""
    tensors, _, ckpt = release
    layer = load_inpainting_module(ckpt).generator.coarse.layers[0].double()
    rgb_mask = torch.rand(1, 4, 64, 48, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    with torch.no_grad():
        ours = layer(rgb_mask).permute(0, 2, 3, 1).numpy()
    nhwc = rgb_mask.permute(0, 2, 3, 1).numpy()[..., [2, 1, 0, 3]]  # BGR, then the mask
    windows = sliding_window_view(np.pad(nhwc, ((0, 0), (1, 2), (1, 2), (0, 0))), (5, 5), axis=(1, 2))[
        :, ::2, ::2
    ]

    def conv(part: str) -> np.ndarray:
        kernel, bias = (
            tensors[f"generator/c_en_down_128_{part}/w"],
            tensors[f"generator/c_en_down_128_{part}/biases"],
        )
        return np.einsum("nijckl,klco->nijo", windows, kernel.astype(np.float64)) + bias

    feat, gate = conv("feat"), conv("gate")
    theirs = np.where(feat > 0, feat, np.expm1(feat)) / (1 + np.exp(-gate))
    assert ours.shape == (1, 32, 24, 32)
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-12)


def test_the_frozen_graph_gives_the_same_generator_and_a_fresh_critic(release, tmp_path: Path) -> None:
    tensors, _, ckpt = release
    folder = write_graph(tmp_path / "pb", tensors)
    meta = convert_release("hifill", "places2_frozen_graph", folder, tmp_path / "frozen.ckpt")
    assert meta["fresh"] == {"discriminator.": "hifill.pb holds the generator only"}
    frozen = torch.load(tmp_path / "frozen.ckpt", weights_only=True)["state_dict"]
    converted = torch.load(ckpt, weights_only=True)["state_dict"]
    generator = {key: value for key, value in converted.items() if key.startswith("generator.")}
    assert set(frozen) == set(generator)
    assert all(torch.equal(frozen[key], value) for key, value in generator.items())
    report = json.loads((tmp_path / "frozen.json").read_text())
    assert set(report["skipped"]) == {f"hifill.pb:{name}" for name in GRAPH_CONSTANTS}
    assert all("not a weight" in reason for reason in report["skipped"].values())
    load_inpainting_module(tmp_path / "frozen.ckpt")  # as evaluate.py and predict.py read it


def test_optimizer_state_beside_the_variables_is_skipped_with_its_reason(release, tmp_path: Path) -> None:
    tensors, _, _ = release
    state = {
        "generator/c_en_down_128_feat/w/Adam": np.zeros((5, 5, 4, 32), np.float32),
        "generator/c_en_down_128_feat/w/Adam_1": np.zeros((5, 5, 4, 32), np.float32),
        "beta1_power": np.float32(0.5),
        "beta2_power_1": np.float32(0.9),
        "lr": np.float32(1e-4),
        "global_step": np.int64(1000),
    }
    folder = write_checkpoint(tmp_path / "training", {**tensors, **state})
    convert_release("hifill", "places2", folder, tmp_path / "training.ckpt")
    skipped = json.loads((tmp_path / "training.json").read_text())["skipped"]
    assert set(skipped) == {f"0.data-00000-of-00001:{name}" for name in state}
    assert "optimizer state" in skipped["0.data-00000-of-00001:generator/c_en_down_128_feat/w/Adam"]
    assert "step counter" in skipped["0.data-00000-of-00001:global_step"]


def test_bad_releases_are_named_with_the_fix(release, tmp_path: Path) -> None:
    tensors, folder, _ = release
    incomplete = tmp_path / "incomplete"
    shutil.copytree(folder, incomplete, ignore=shutil.ignore_patterns("*.data-*"))
    with pytest.raises(ReleaseError, match="missing.*0.data-00000-of-00001") as error:
        convert_release("hifill", "places2", incomplete, tmp_path / "x.ckpt")
    assert "Download HiFill's release again from https://github.com/duxingren14/Hifill-tensorflow" in str(
        error.value
    )

    truncated = tmp_path / "truncated"
    shutil.copytree(folder, truncated)
    data = (folder / "0.data-00000-of-00001").read_bytes()
    (truncated / "0.data-00000-of-00001").write_bytes(data[: len(data) // 2])
    with pytest.raises(ReleaseError, match="0.data-00000-of-00001: truncated"):
        convert_release("hifill", "places2", truncated, tmp_path / "x.ckpt")

    deepfill = write_checkpoint(tmp_path / "deepfill", random_tensors(DEEPFILL_LIKE))
    with pytest.raises(ReleaseError, match="has no tensor 'generator/c_en_down_128_feat/w'.*another method"):
        convert_release("hifill", "places2", deepfill, tmp_path / "x.ckpt")

    edgeconnect = tmp_path / "edgeconnect"
    edgeconnect.mkdir()
    torch.save({"iteration": 1, "generator": {}}, edgeconnect / "InpaintingModel_gen.pth")
    with pytest.raises(ReleaseError, match="no `checkpoint` file .* 0 .index files"):
        convert_release("hifill", "places2", edgeconnect, tmp_path / "x.ckpt")

    with pytest.raises(ReleaseError, match="hifill.pb not found.*sample-imageinpainting-HiFill"):
        convert_release("hifill", "places2_frozen_graph", folder, tmp_path / "x.ckpt")

    with pytest.raises(ReleaseError, match="a network of another width") as error:
        convert_release("hifill", "places2", folder, tmp_path / "x.ckpt", "model.generator.cnum=16")
    assert "generator/c_en_down_128_feat/w has shape (32, 4, 5, 5)" in str(error.value)
    assert not (tmp_path / "x.ckpt").exists()  # nothing half-written
