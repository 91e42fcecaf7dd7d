"""DeepFill v2's released TF checkpoints through `import_release.py`: checkpoints written with the variables
the official code creates (JiahuiYu/generative_inpainting v2.0.0 inpaint_model.py, inpaint_ops.py; neuralgym's
spectral norm, Adam and step counter), converted, and checked tensor by tensor and against the official
graph rendered here from the checkpoint's own arrays: NHWC, HWIO kernels, BGR images, TF's "SAME" padding,
neuralgym's align-corners nearest resize and `contextual_attention` step by step, in float64.

The variables are created by running that rendering once, as tf.get_variable creates them on first use, so
their names, nesting and shapes follow the layer calls of build_inpaint_net and
build_sn_patch_gan_discriminator.
"""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from lightning_modules.base import load_inpainting_module
from lightning_modules.released_weights import ReleaseError
from releases import convert_release
from tf_files import write_tf_checkpoint

CNUM = 8  # inpaint_model.py's cnum is 48 and the SN-PatchGAN's 64; the names do not depend on them
SMALL = (f"model.generator.cnum={CNUM}", f"model.discriminator.cnum={CNUM}")
GAIN = 2.5  # generator kernels x2.5 Glorot: at Glorot scale the gated layers damp the input away
# the layers that read or write image channels, which the authors' cv2 pipeline feeds in BGR order
IMAGE_INPUTS = {
    "inpaint_net/conv1",
    "inpaint_net/xconv1",
    "inpaint_net/pmconv1",
    "discriminator/sn_patch_gan/conv1",
}
IMAGE_OUTPUTS = {"inpaint_net/conv17", "inpaint_net/allconv17"}
TRAINING_STATE = ("beta1_power", "beta2_power", "lr", "global_step")


# --- the official graph, rendered from the checkpoint's arrays (NHWC, float64) ----------------------------


class Variables:
    """Variables by name: created on first use with the shape the layer asks for (tf.get_variable), or
    read back from a checkpoint's arrays, whose shape must then be the one asked for."""

    def __init__(self, arrays: dict[str, np.ndarray] | None = None, seed: int = 0):
        self.arrays = {} if arrays is None else arrays
        self.rng = np.random.default_rng(seed)

    def __call__(self, name: str, shape: list[int]) -> torch.Tensor:
        if name not in self.arrays:
            if name.endswith("/kernel"):  # tf.layers.conv2d's Glorot uniform
                bound = math.sqrt(6 / (shape[0] * shape[1] * (shape[2] + shape[3])))
                value = self.rng.uniform(-bound, bound, shape) * (
                    GAIN if name.startswith("inpaint_net/") else 1
                )
            else:  # biases (non-zero, so that a misplaced channel shows) and neuralgym's u
                value = self.rng.normal(0, 0.1 if name.endswith("/bias") else 1, shape)
            self.arrays[name] = value.astype(np.float32)
        value = self.arrays[name]
        assert value.shape == tuple(shape), (name, value.shape, shape)
        return torch.from_numpy(value).double()


def same_padding(size: int, kernel: int, stride: int, rate: int = 1) -> tuple[int, int, int]:
    """TF's "SAME": (before, after, output size)."""
    out = -(-size // stride)
    total = max((out - 1) * stride + (kernel - 1) * rate + 1 - size, 0)
    return total // 2, total - total // 2, out


def conv_same(x: torch.Tensor, kernel: torch.Tensor, stride: int = 1, rate: int = 1) -> torch.Tensor:
    """tf.nn.convolution(padding="SAME") of NHWC x with an HWIO kernel, summed tap by tap."""
    kh, kw = kernel.shape[:2]
    top, bottom, oh = same_padding(x.shape[1], kh, stride, rate)
    left, right, ow = same_padding(x.shape[2], kw, stride, rate)
    x = F.pad(x, (0, 0, left, right, top, bottom))
    out = 0
    for i in range(kh):
        for j in range(kw):
            tap = x[:, i * rate : i * rate + (oh - 1) * stride + 1 : stride]
            out = out + tap[:, :, j * rate : j * rate + (ow - 1) * stride + 1 : stride] @ kernel[i, j]
    return out


def resize_nearest(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """neuralgym's `resize` with tf.image.resize_nearest_neighbor: align_corners=True, so output i reads
    input round(i * (in - 1) / (out - 1))."""

    def rows(n_in: int, n_out: int) -> list[int]:
        return [min(math.floor(i * (n_in - 1) / max(n_out - 1, 1) + 0.5), n_in - 1) for i in range(n_out)]

    return x[:, rows(x.shape[1], size[0])][:, :, rows(x.shape[2], size[1])]


def gen_conv(x, var, name, cnum, ksize, stride=1, rate=1, activation=F.elu):
    """inpaint_ops.py gen_conv: one conv of cnum channels, split into features and gate (none at 3)."""
    x = conv_same(x, var(f"{name}/kernel", [ksize, ksize, x.shape[-1], cnum]), stride, rate)
    x = x + var(f"{name}/bias", [cnum])
    if cnum == 3 or activation is None:
        return x
    features, gate = x.split(cnum // 2, dim=-1)
    return activation(features) * torch.sigmoid(gate)


def gen_deconv(x, var, name, cnum):
    """inpaint_ops.py gen_deconv: x2 nearest upsampling, then gen_conv `<name>_conv` in scope `<name>`."""
    x = resize_nearest(x, (2 * x.shape[1], 2 * x.shape[2]))
    return gen_conv(x, var, f"inpaint_net/{name}/{name}_conv", cnum, 3)


def extract_patches(x: torch.Tensor, k: int, stride: int) -> torch.Tensor:
    """tf.extract_image_patches(padding="SAME") of one NHWC sample: L x k x k x C, patches row-major."""
    top, bottom, _ = same_padding(x.shape[1], k, stride)
    left, right, _ = same_padding(x.shape[2], k, stride)
    patches = F.pad(x, (0, 0, left, right, top, bottom))[0].unfold(0, k, stride).unfold(1, k, stride)
    return patches.permute(0, 1, 3, 4, 2).reshape(-1, k, k, x.shape[-1])


def contextual_attention(f, b, mask, ksize=3, rate=2, fuse_k=3, scale=10.0):
    """inpaint_ops.py contextual_attention for one sample (stride 1, fuse on), NHWC."""
    height, width = b.shape[1:3]
    raw = extract_patches(b, 2 * rate, rate)  # the patches pasted back, 2r x 2r at stride r
    f = resize_nearest(f, (f.shape[1] // rate, f.shape[2] // rate))
    b = resize_nearest(b, (height // rate, width // rate))
    mask = resize_nearest(mask, (mask.shape[1] // rate, mask.shape[2] // rate))
    (fh, fw), (bh, bw) = f.shape[1:3], b.shape[1:3]
    w = extract_patches(b, ksize, 1)
    mm = (extract_patches(mask, ksize, 1).mean(dim=(1, 2, 3)) == 0).double()
    w_normed = w / w.square().sum(dim=(1, 2, 3), keepdim=True).sqrt().clamp_min(1e-4)
    y = conv_same(f, w_normed.permute(1, 2, 3, 0))  # 1 x fh x fw x L
    eye = torch.eye(fuse_k, dtype=torch.float64).view(fuse_k, fuse_k, 1, 1)
    y = conv_same(y.reshape(1, fh * fw, bh * bw, 1), eye)
    y = y.reshape(1, fh, fw, bh, bw).permute(0, 2, 1, 4, 3).reshape(1, fw * fh, bw * bh, 1)
    y = conv_same(y, eye)
    y = y.reshape(1, fw, fh, bw, bh).permute(0, 2, 1, 4, 3).reshape(1, fh, fw, bh * bw)
    y = torch.softmax(y * mm * scale, dim=3) * mm
    # tf.nn.conv2d_transpose(y, raw, strides=rate, padding="SAME") / 4: each patch added where it matched
    k = 2 * rate
    top, _, _ = same_padding(height, k, rate)
    left, _, _ = same_padding(width, k, rate)
    full = torch.zeros(1, (fh - 1) * rate + k, (fw - 1) * rate + k, b.shape[-1], dtype=torch.float64)
    for i in range(k):
        for j in range(k):
            full[:, i : i + (fh - 1) * rate + 1 : rate, j : j + (fw - 1) * rate + 1 : rate] += (
                y @ raw[:, i, j]
            )
    return full[:, top : top + height, left : left + width] / 4


def inpaint_net(xin, mask, var, cnum=CNUM):
    """inpaint_model.py build_inpaint_net: xin the incomplete image in [-1, 1] (BGR), mask 1 x H x W x 1."""

    def conv(x, name, c, ksize=3, stride=1, rate=1, activation=F.elu):
        return gen_conv(x, var, f"inpaint_net/{name}", c, ksize, stride, rate, activation)

    ones = torch.ones_like(xin[..., :1])
    x = torch.cat([xin, ones, ones * mask], dim=3)
    x = conv(x, "conv1", cnum, 5)
    x = conv(x, "conv2_downsample", 2 * cnum, 3, 2)
    x = conv(x, "conv3", 2 * cnum)
    x = conv(x, "conv4_downsample", 4 * cnum, 3, 2)
    x = conv(x, "conv5", 4 * cnum)
    x = conv(x, "conv6", 4 * cnum)
    mask_s = resize_nearest(mask, x.shape[1:3])  # resize_mask_like
    for rate in (2, 4, 8, 16):
        x = conv(x, f"conv{6 + int(math.log2(rate))}_atrous", 4 * cnum, rate=rate)
    x = conv(x, "conv11", 4 * cnum)
    x = conv(x, "conv12", 4 * cnum)
    x = gen_deconv(x, var, "conv13_upsample", 2 * cnum)
    x = conv(x, "conv14", 2 * cnum)
    x = gen_deconv(x, var, "conv15_upsample", cnum)
    x = conv(x, "conv16", cnum // 2)
    x_stage1 = torch.tanh(conv(x, "conv17", 3, activation=None))

    xnow = x_stage1 * mask + xin[..., :3] * (1 - mask)
    x = conv(xnow, "xconv1", cnum, 5)
    x = conv(x, "xconv2_downsample", cnum, 3, 2)
    x = conv(x, "xconv3", 2 * cnum)
    x = conv(x, "xconv4_downsample", 2 * cnum, 3, 2)
    x = conv(x, "xconv5", 4 * cnum)
    x = conv(x, "xconv6", 4 * cnum)
    for rate in (2, 4, 8, 16):
        x = conv(x, f"xconv{6 + int(math.log2(rate))}_atrous", 4 * cnum, rate=rate)
    x_hallu = x
    x = conv(xnow, "pmconv1", cnum, 5)
    x = conv(x, "pmconv2_downsample", cnum, 3, 2)
    x = conv(x, "pmconv3", 2 * cnum)
    x = conv(x, "pmconv4_downsample", 4 * cnum, 3, 2)
    x = conv(x, "pmconv5", 4 * cnum)
    x = conv(x, "pmconv6", 4 * cnum, activation=F.relu)
    x = contextual_attention(x, x, mask_s)
    x = conv(x, "pmconv9", 4 * cnum)
    x = conv(x, "pmconv10", 4 * cnum)
    x = torch.cat([x_hallu, x], dim=3)
    x = conv(x, "allconv11", 4 * cnum)
    x = conv(x, "allconv12", 4 * cnum)
    x = gen_deconv(x, var, "allconv13_upsample", 2 * cnum)
    x = conv(x, "allconv14", 2 * cnum)
    x = gen_deconv(x, var, "allconv15_upsample", cnum)
    x = conv(x, "allconv16", cnum // 2)
    return x_stage1, torch.tanh(conv(x, "allconv17", 3, activation=None))


def sn_patch_gan(x, var, cnum=CNUM):
    """build_sn_patch_gan_discriminator: dis_conv = neuralgym's conv2d_spectral_norm (one power iteration
    from the stored u, then the kernel / σ), "SAME" 5x5 stride 2, leaky ReLU; NHWC logits flattened."""
    for i, width in enumerate((cnum, 2 * cnum, 4 * cnum, 4 * cnum, 4 * cnum, 4 * cnum)):
        scope = f"discriminator/sn_patch_gan/conv{i + 1}"
        kernel = var(f"{scope}/kernel", [5, 5, x.shape[-1], width])
        w_mat, u = kernel.reshape(-1, width), var(f"{scope}/kernel_sn/u", [1, width])
        v_hat = u @ w_mat.T
        v_hat = v_hat / (v_hat.square().sum().sqrt() + 1e-12)
        u_hat = v_hat @ w_mat
        u_hat = u_hat / (u_hat.square().sum().sqrt() + 1e-12)
        sigma = v_hat @ w_mat @ u_hat.T
        x = F.leaky_relu(conv_same(x, kernel / sigma, 2) + var(f"{scope}/bias", [width]), 0.2)
    return x.flatten(1)


def server_graph(arrays: dict[str, np.ndarray], image: torch.Tensor, mask: torch.Tensor, cnum=CNUM):
    """build_server_graph on one RGB image in [0, 1] (1 x 3 x H x W) and its mask (1 x 1 x H x W), fed as
    test.py feeds it (cv2's BGR); returns stage 1, stage 2 and the composite, RGB, NCHW, in [-1, 1]."""
    bgr = image.double().flip(1).permute(0, 2, 3, 1)
    masks = mask.double().permute(0, 2, 3, 1)
    batch_incomplete = (bgr * 2 - 1) * (1 - masks)
    x1, x2 = inpaint_net(batch_incomplete, masks, Variables(arrays), cnum)
    complete = x2 * masks + batch_incomplete * (1 - masks)
    return [t.permute(0, 3, 1, 2).flip(1) for t in (x1, x2, complete)]


# --- checkpoints as the authors' code writes them ---------------------------------------------------------


def generator_arrays(cnum: int = CNUM, seed: int = 0) -> dict[str, np.ndarray]:
    var = Variables(seed=seed)
    inpaint_net(torch.zeros(1, 16, 16, 3, dtype=torch.float64), torch.zeros(1, 16, 16, 1), var, cnum)
    return var.arrays


def training_snapshot(seed: int = 0) -> dict[str, np.ndarray]:
    """All of tf.global_variables() after train.py's steps: G, D with u, Adam's slots for every trainable
    variable, the β powers, train.py's lr and neuralgym's global_step."""
    var = Variables(generator_arrays(seed=seed), seed=seed + 1)
    sn_patch_gan(torch.zeros(1, 64, 64, 4, dtype=torch.float64), var)
    arrays = dict(var.arrays)
    rng = np.random.default_rng(seed + 2)
    for name, value in var.arrays.items():
        if not name.endswith("/u"):  # u is not trainable
            arrays[f"{name}/Adam"] = rng.normal(0, 1e-3, value.shape).astype(np.float32)
            arrays[f"{name}/Adam_1"] = rng.uniform(0, 1e-6, value.shape).astype(np.float32)
    step = 3
    arrays |= {"beta1_power": np.float32(0.5**step), "beta2_power": np.float32(0.999**step)}
    arrays |= {"lr": np.float32(1e-4), "global_step": np.int32(step)}
    return arrays


def write_release(folder: Path, arrays: dict[str, np.ndarray], step: int, **kwargs) -> None:
    """snap-<step>.* and the `checkpoint` state as Google Drive hands it over: checkpoint.txt, recording the
    absolute path of the machine that saved it."""
    folder.mkdir(parents=True, exist_ok=True)
    write_tf_checkpoint(folder / f"snap-{step}", arrays, **kwargs)
    recorded = f"/home/trainer/model_logs/{folder.name}/snap-{step}"
    (folder / "checkpoint.txt").write_text(
        f'model_checkpoint_path: "{recorded}"\nall_model_checkpoint_paths: "{recorded}"\n'
    )


def masks(height: int = 64, width: int = 64) -> dict[str, torch.Tensor]:
    """A box, a thick free-form stroke, and a one-pixel line beside a box at the border (the line falls
    between the samples of the nearest-neighbour grids)."""
    box = torch.zeros(1, 1, height, width)
    box[..., 16:48, 20:52] = 1
    stroke = torch.zeros(1, 1, height, width)
    for t in np.linspace(0, 1, 60):
        y, x = int(8 + 44 * t), int(6 + 50 * t * t)
        stroke[..., max(y - 4, 0) : y + 4, max(x - 4, 0) : x + 4] = 1
    thin = torch.zeros(1, 1, height, width)
    thin[..., 21, 5:50] = 1
    thin[..., 0:12, width - 14 :] = 1
    return {"box": box, "stroke": stroke, "thin_line_and_border": thin}


def images(count: int, height: int = 64, width: int = 64, seed: int = 0) -> torch.Tensor:
    """Smooth colour fields plus a texture, quantized to 8 bits as an image file is."""
    gen = torch.Generator().manual_seed(seed)
    low = torch.rand(count, 3, height // 16, width // 16, generator=gen)
    smooth = F.interpolate(low, (height, width), mode="bicubic", align_corners=False)
    texture = 0.15 * torch.sin(torch.arange(width) / 2.0) * torch.cos(torch.arange(height)[:, None] / 3.0)
    return ((smooth + texture).clamp(0, 1) * 255).round() / 255


# --- conversions --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def snapshot(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, np.ndarray], Path]:
    """A training snapshot converted through the command's config."""
    folder = tmp_path_factory.mktemp("gatedconv")
    arrays = training_snapshot()
    write_release(folder / "release_places2_256", arrays, step=3)
    out = folder / "gatedconv_places2.ckpt"
    convert_release("gatedconv", "places2", folder / "release_places2_256", out, *SMALL)
    return arrays, out


def suite_layout(arrays: dict[str, np.ndarray], name: str) -> torch.Tensor:
    """A TF variable in the suite's layout: OIHW kernels, image channels in RGB order."""
    value = torch.from_numpy(arrays[name])
    scope = name.rsplit("/", 1)[0]
    if name.endswith("/kernel"):
        value = value.permute(3, 2, 0, 1)
        if scope in IMAGE_INPUTS:
            value = torch.cat([value[:, [2, 1, 0]], value[:, 3:]], dim=1)
    if scope in IMAGE_OUTPUTS:
        value = value[[2, 1, 0]]
    return value


def test_every_variable_lands_bit_equal_and_the_training_state_is_skipped(snapshot) -> None:
    arrays, ckpt = snapshot
    state = torch.load(ckpt, weights_only=True)["state_dict"]
    report = json.loads(ckpt.with_suffix(".json").read_text())
    file = "snap-3.data-00000-of-00001"
    placed = {p["target"]: p["sources"] for p in report["placed"]}
    assert set(placed) == set(state) and report["fresh"] == {}
    used = {source for sources in placed.values() for source in sources} | set(report["skipped"])
    assert used == {f"{file}:{name}" for name in arrays}  # every variable placed or skipped
    assert {name.split(":", 1)[1] for name in report["skipped"]} == {
        name for name in arrays if name.endswith(("/Adam", "/Adam_1")) or name in TRAINING_STATE
    }
    assert report["notes"]["global_step"] == 3 and report["notes"]["discriminator"] == "converted"

    for target, sources in placed.items():
        if target.endswith(("._u", "._v")):
            continue  # iterated from u: checked against neuralgym's forward below
        name = sources[0].split(":", 1)[1]
        assert torch.equal(state[target], suite_layout(arrays, name)), (target, name)
    assert len([t for t in placed if t.startswith("generator.")]) == 84  # 42 layers x (kernel, bias)


def test_the_converted_generator_computes_the_official_graph(snapshot) -> None:
    arrays, ckpt = snapshot
    model = load_inpainting_module(ckpt)
    cases = masks()
    batch = images(len(cases), seed=1)
    with torch.no_grad():
        coarse, refined = model.generate(batch, torch.cat(list(cases.values())))  # one mask per image
        composite = model.inpaint(batch, torch.cat(list(cases.values()))) * 2 - 1
        for n, (name, mask) in enumerate(cases.items()):  # the official graph takes one image at a time
            expected = server_graph(arrays, batch[n : n + 1], mask)
            for ours, theirs in zip((coarse, refined, composite), expected):
                torch.testing.assert_close(ours[n : n + 1].double(), theirs, rtol=0, atol=1e-5, msg=name)

        # the options that make it so: with the suite's padding or attention the outputs move
        generator = dict(model.hparams.generator)
        for option in ({"padding": "centered"}, {"attention": "suite"}):
            other = load_inpainting_module(ckpt, generator={**generator, **option})
            _, moved = other.generate(batch, torch.cat(list(cases.values())))
            assert (moved - refined).abs().max() > 1e-2, option


def test_the_converted_discriminator_gives_neuralgyms_first_forward(snapshot) -> None:
    arrays, ckpt = snapshot
    model = load_inpainting_module(ckpt)
    x = torch.cat([images(2, seed=2) * 2 - 1, torch.cat(list(masks().values()))[:2]], dim=1)
    with torch.no_grad():
        ours = model.discriminator(x)
    bgr = torch.cat([x[:, :3].flip(1), x[:, 3:]], dim=1).double().permute(0, 2, 3, 1)
    theirs = sn_patch_gan(bgr, Variables(arrays))  # NHWC flattened; the suite flattens NCHW
    theirs = theirs.view(2, 1, 1, 4 * CNUM).permute(0, 3, 1, 2).flatten(1)
    torch.testing.assert_close(ours.double(), theirs, rtol=0, atol=1e-5)


def test_the_release_as_published_converts_at_its_widths_with_a_fresh_discriminator(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    arrays = generator_arrays(cnum=48)  # the generator alone, as the authors released it
    write_release(tmp_path / "release_places2_256", arrays, step=0)
    meta = convert_release("gatedconv", "places2", tmp_path / "release_places2_256", tmp_path / "g.ckpt")
    assert set(meta["fresh"]) == {"discriminator."} and "generator alone" in meta["fresh"]["discriminator."]
    checkpoint = torch.load(tmp_path / "g.ckpt", weights_only=True)
    assert not any(key.startswith("discriminator.") for key in checkpoint["state_dict"])
    assert meta["sha256"].keys() == {"snap-0.data-00000-of-00001"}

    model = load_inpainting_module(tmp_path / "g.ckpt")  # evaluate / predict: the generator alone
    image, mask = images(1, seed=3), masks()["stroke"]
    with torch.no_grad():
        ours = model.inpaint(image, mask) * 2 - 1
    torch.testing.assert_close(
        ours.double(), server_graph(arrays, image, mask, cnum=48)[2], rtol=0, atol=1e-5
    )

    fresh_d = {key: value.clone() for key, value in model.discriminator.state_dict().items()}
    with caplog.at_level(logging.INFO):
        model.load_networks(str(tmp_path / "g.ckpt"))  # model.init_from when fine-tuning
    assert "discriminator starts fresh" in caplog.text
    assert all(torch.equal(value, fresh_d[key]) for key, value in model.discriminator.state_dict().items())


def convert_in_process(folder: Path, out: Path, *overrides: str) -> dict:
    return convert_release("gatedconv", "places2", folder, out, *SMALL, *overrides)


def expect_error(match: str, folder: Path, tmp_path: Path, *overrides: str) -> str:
    with pytest.raises(ReleaseError, match=match) as error:
        convert_in_process(folder, tmp_path / "x.ckpt", *overrides)
    assert not (tmp_path / "x.ckpt").exists()  # nothing half-written
    return str(error.value)


def test_bad_releases_are_named_with_the_fix(snapshot, tmp_path: Path) -> None:
    arrays, _ = snapshot
    generator = {name: value for name, value in arrays.items() if name.startswith("inpaint_net/")}

    write_release(tmp_path / "sharded", generator, step=0, num_shards=2)
    (tmp_path / "sharded" / "snap-0.data-00001-of-00002").unlink()
    message = expect_error("snap-0.data-00001-of-00002", tmp_path / "sharded", tmp_path)  # the missing shard
    assert "Download DeepFill v2's release folder again from https://drive.google.com" in message

    write_release(tmp_path / "truncated", generator, step=0)
    data = tmp_path / "truncated" / "snap-0.data-00000-of-00001"
    data.write_bytes(data.read_bytes()[: data.stat().st_size // 2])
    expect_error("snap-0.data-00000-of-00001: truncated", tmp_path / "truncated", tmp_path)

    edgeconnect = tmp_path / "edgeconnect"  # another method's release folder: PyTorch files
    edgeconnect.mkdir()
    torch.save(
        {"iteration": 1, "generator": {"encoder.1.weight": torch.zeros(1)}}, edgeconnect / "EdgeModel_gen.pth"
    )
    expect_error("no `checkpoint` file .* and 0 .index files", edgeconnect, tmp_path)

    hifill = {"generator/c_en_down_128_feat/w": np.zeros((3, 3, 4, 8), np.float32)}  # another TF model
    write_release(tmp_path / "hifill", hifill, step=0)
    expect_error(
        "holds no inpaint_net/ variables: not a DeepFill v2 checkpoint", tmp_path / "hifill", tmp_path
    )

    write_release(tmp_path / "intact", generator, step=0)
    message = expect_error(
        "a network of another width", tmp_path / "intact", tmp_path, "model.generator.cnum=16"
    )
    assert "inpaint_net/conv1/kernel is (5, 5, 5, 8) (HWIO) where the suite's" in message
    assert "needs (5, 5, 5, 16)" in message


def test_an_unknown_variable_is_an_error(tmp_path: Path) -> None:
    arrays = generator_arrays() | {"inpaint_net/conv18/kernel": np.zeros((3, 3, 3, 3), np.float32)}
    write_release(tmp_path / "release", arrays, step=0)
    expect_error("1 release tensor.*no place.*inpaint_net/conv18/kernel", tmp_path / "release", tmp_path)


def test_the_reference_renders_the_official_layer_calls() -> None:
    """The rendering's own facts: the variable list of build_inpaint_net (42 convs) and TF's padding."""
    names = generator_arrays()
    assert len(names) == 84 and "inpaint_net/allconv15_upsample/allconv15_upsample_conv/kernel" in names
    assert names["inpaint_net/conv1/kernel"].shape == (5, 5, 5, CNUM)
    assert names["inpaint_net/allconv11/kernel"].shape == (3, 3, 4 * CNUM, 4 * CNUM)
    assert same_padding(64, 3, 2)[:2] == (0, 1) and same_padding(64, 5, 2)[:2] == (1, 2)
    assert same_padding(63, 3, 2)[:2] == (1, 1)
    rows = resize_nearest(torch.arange(16).view(1, 16, 1, 1), (8, 1)).flatten().tolist()
    assert rows == [0, 2, 4, 6, 9, 11, 13, 15]  # TF 2.21's resize_nearest_neighbor(align_corners=True)
    up = resize_nearest(torch.arange(8).view(1, 8, 1, 1), (16, 1)).flatten().tolist()
    assert up == [0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7]  # upsampling x2: a plain repeat
