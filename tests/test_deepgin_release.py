"""DeepGIN's released weights through `import_release.py`: files written with the authors' layout (rlct1/gin
models/base_model.py save_network: a bare state dict per network in `latest_net_G.pth` / `latest_net_D.pth`,
PyTorch 1.5's non-zip format; models/networks.py module names: ImageTinker2, MultiscaleDiscriminator with
their SpectralNorm wrapper), converted, and checked tensor by tensor, against a reference generator with the
authors' module names and forward (the release is its state dict), and a direct computation of their D."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from lightning_modules.base import composite, load_inpainting_module
from lightning_modules.released_weights import ReleaseError
from releases import convert_release

NGF = 8  # the authors' ngf (their first conv has ngf // 2 channels): the suite's width 4, published 64 / 32
NDF = 8
SMALL = (f"model.generator.width={NGF // 2}", f"model.discriminator.ndf={NDF}")
SPD8, SPD4 = (2, 3, 4, 5, 6, 8, 10, 1), (2, 3, 4, 5)


def pad(x: torch.Tensor, size: int) -> torch.Tensor:
    return F.pad(x, [size] * 4, mode="replicate")


def up(x: torch.Tensor) -> torch.Tensor:
    return F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=True)


class ReferenceConvBlock(nn.Module):
    """The authors' ConvBlock as the SPD blocks use it: replicate pad, 3×3 conv named `conv`, ReLU or none."""

    def __init__(self, c_in: int, c_out: int, dilation: int, relu: bool):
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, 3, dilation=dilation)
        self.dilation, self.relu = dilation, relu

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv(pad(x, self.dilation))
        return F.relu(x) if self.relu else x


class ReferenceSPDBlock(nn.Module):
    """MultiDilationResnetBlock (8 branches) / _v3 (4): `branch1` … `branchN`, then `fusion<N+1>`."""

    def __init__(self, channels: int, dilations: tuple[int, ...]):
        super().__init__()
        self.n = len(dilations)
        for k, d in enumerate(dilations, 1):
            setattr(self, f"branch{k}", ReferenceConvBlock(channels, channels // self.n, d, relu=True))
        setattr(self, f"fusion{self.n + 1}", ReferenceConvBlock(channels, channels, 1, relu=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        branches = torch.cat([getattr(self, f"branch{k}")(x) for k in range(1, self.n + 1)], dim=1)
        return x + getattr(self, f"fusion{self.n + 1}")(branches)


class ReferenceNonLocal(nn.Module):
    """NonLocalBlock (no sub-sampling, no BN): g, theta, phi to C/2, softmax(theta^T phi) g, x + W(y)."""

    def __init__(self, channels: int):
        super().__init__()
        inter = channels // 2
        self.g, self.W = nn.Conv2d(channels, inter, 1), nn.Conv2d(inter, channels, 1)
        self.theta, self.phi = nn.Conv2d(channels, inter, 1), nn.Conv2d(channels, inter, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, _, h, w = x.shape
        theta, phi, g = (conv(x).flatten(2) for conv in (self.theta, self.phi, self.g))  # B × C' × HW
        y = torch.softmax(theta.transpose(1, 2) @ phi, dim=-1) @ g.transpose(1, 2)  # B × HW × C'
        return x + self.W(y.transpose(1, 2).reshape(b, -1, h, w))


class ReferenceGenerator(nn.Module):
    """ImageTinker2 (define_G: 4 → 3 channels) with the authors' module names; its inference forward."""

    def __init__(self, ngf: int = NGF):
        super().__init__()
        act = nn.LeakyReLU(0.2)
        coarse: list[nn.Module] = [nn.ReplicationPad2d(3), nn.Conv2d(4, ngf // 2, 7), act]
        for c_in, c_out in ((ngf // 2, ngf), (ngf, 2 * ngf), (2 * ngf, 4 * ngf)):
            coarse += [nn.ReplicationPad2d(1), nn.Conv2d(c_in, c_out, 4, 2), act]
        coarse += [ReferenceSPDBlock(4 * ngf, SPD8) for _ in range(6)]
        for c_in, c_out in ((4 * ngf, 2 * ngf), (2 * ngf, ngf), (ngf, ngf // 2)):
            coarse += [
                nn.UpsamplingBilinear2d(scale_factor=2),
                nn.ReplicationPad2d(1),
                nn.Conv2d(c_in, c_out, 3),
                act,
            ]
        coarse += [nn.ReplicationPad2d(3), nn.Conv2d(ngf // 2, 3, 7)]
        self.lr_coarse_tinker = nn.Sequential(*coarse)

        convs = {
            "r_en_conv1": (4, ngf // 2, 7),
            "r_en_conv2": (ngf // 2, ngf, 4),
            "r_en_conv3": (ngf, 2 * ngf, 4),
            "r_en_skp_conv3": (2 * ngf, ngf, 3),
            "r_en_conv4": (2 * ngf, 4 * ngf, 4),
            "r_en_skp_conv4": (4 * ngf, 2 * ngf, 3),
            "r_en_conv5": (4 * ngf, 8 * ngf, 4),
            "r_de_conv1": (8 * ngf, 4 * ngf, 3),
            "r_de_mix_conv1": (6 * ngf, 4 * ngf, 3),
            "r_de_conv2": (4 * ngf, 2 * ngf, 3),
            "r_de_mix_conv2": (3 * ngf, 2 * ngf, 3),
            "r_de_conv2_lr": (2 * ngf, ngf // 2, 3),
            "r_de_conv3_lr": (ngf // 2, 3, 3),
            "r_de_conv3": (2 * ngf, ngf, 3),
            "r_de_conv4": (ngf, ngf // 2, 3),
            "r_de_conv5": (ngf // 2, 3, 7),
            "r_de_conv5_lr_alpha": (ngf // 2, 1, 3),
        }
        for name, (c_in, c_out, kernel) in convs.items():
            setattr(self, name, nn.Conv2d(c_in, c_out, kernel, 2 if kernel == 4 else 1))
        for name in ("r_md_mres1", "r_md_mres2", "r_md_mres5", "r_md_mres3", "r_md_mres4", "r_md_mres6"):
            setattr(self, name, ReferenceSPDBlock(8 * ngf, SPD4))
        self.r_md_satn1 = ReferenceNonLocal(8 * ngf)
        self.r_de_satn2, self.r_de_satn3 = ReferenceNonLocal(2 * ngf), ReferenceNonLocal(ngf)

    def conv(self, name: str, x: torch.Tensor, act: bool = True) -> torch.Tensor:
        conv = getattr(self, name)
        x = conv(pad(x, (conv.kernel_size[0] - 1) // 2))  # 7×7: 3, 3×3 and the 4×4 stride-2: 1
        return F.leaky_relu(x, 0.2) if act else x

    def forward(self, masked: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """(compltd_img, reconst_img, lr_x, lr_img) for the masked image (holes = 1) and the mask."""
        lr_x = self.lr_coarse_tinker(torch.cat([masked, mask], 1))
        e1 = self.conv("r_en_conv1", torch.cat([lr_x * mask + masked * (1 - mask), mask], 1))
        e3 = self.conv("r_en_conv3", self.conv("r_en_conv2", e1))
        e4 = self.conv("r_en_conv4", e3)
        m = self.conv("r_en_conv5", e4)
        for name in (
            "r_md_mres1",
            "r_md_mres2",
            "r_md_mres5",
            "r_md_satn1",
            "r_md_mres3",
            "r_md_mres4",
            "r_md_mres6",
        ):
            m = getattr(self, name)(m)
        d1 = self.conv("r_de_conv1", up(m))
        md1 = self.conv(
            "r_de_mix_conv1", torch.cat([d1, self.r_de_satn2(self.conv("r_en_skp_conv4", e4))], 1)
        )
        d2 = self.conv("r_de_conv2", up(md1))
        md2 = self.conv(
            "r_de_mix_conv2", torch.cat([d2, self.r_de_satn3(self.conv("r_en_skp_conv3", e3))], 1)
        )
        lr_img = self.conv("r_de_conv3_lr", self.conv("r_de_conv2_lr", md2), act=False)
        d4 = self.conv("r_de_conv4", up(self.conv("r_de_conv3", up(md2))))
        d5 = self.conv("r_de_conv5", d4, act=False) * mask + masked * (1 - mask)
        alpha = torch.sigmoid(self.conv("r_de_conv5_lr_alpha", d4, act=False))
        residual = lr_img - F.interpolate(d5, scale_factor=0.25, mode="bilinear", align_corners=True)
        reconst = d5 + F.interpolate(residual, scale_factor=4, mode="bilinear", align_corners=True) * alpha
        return reconst * mask + masked * (1 - mask), reconst, lr_x, lr_img


def reference_generator(seed: int = 0) -> ReferenceGenerator:
    torch.manual_seed(seed)
    generator = ReferenceGenerator()
    with torch.no_grad():
        for module in generator.modules():  # 1.5× PyTorch's default init: G2 responds to its input
            if isinstance(module, nn.Conv2d):
                module.weight.mul_(1.5)
        # a coarse image outside [0, 1], as a linear output can be: a clamp would change G2's input
        generator.lr_coarse_tinker[-1].bias.copy_(torch.tensor([-0.6, 1.4, 0.5]))
    return generator


def discriminator_state(seed: int = 0, num_d: int = 2) -> dict[str, torch.Tensor]:
    """MultiscaleDiscriminator (n_layers_D 2, getIntermFeat off): `layer<i>.<j>.module.` + bias and the
    SpectralNorm wrapper's weight_u (out), weight_v (in·4·4), weight_bar (the raw weight), u, v unit."""
    gen = torch.Generator().manual_seed(seed)
    state = {}
    for i in range(num_d):
        for j, (c_in, c_out) in zip(
            (0, 2, 4, 6), ((6, NDF), (NDF, 2 * NDF), (2 * NDF, 4 * NDF), (4 * NDF, 4 * NDF))
        ):
            prefix = f"layer{i}.{j}.module."
            state[prefix + "bias"] = torch.randn(c_out, generator=gen) * 0.1
            state[prefix + "weight_u"] = F.normalize(torch.randn(c_out, generator=gen), dim=0)
            state[prefix + "weight_v"] = F.normalize(torch.randn(c_in * 16, generator=gen), dim=0)
            state[prefix + "weight_bar"] = torch.randn(c_out, c_in, 4, 4, generator=gen) * 0.1
    return state


def reference_discriminator(state: dict[str, torch.Tensor], x: torch.Tensor) -> list[torch.Tensor]:
    """The authors' D with the saved u, v: W / (u·W·v) per conv, `layer<num_D-1-s>` at scale s."""
    outputs = []
    for scale in range(2):
        if scale:
            x = F.avg_pool2d(x, 3, stride=2, padding=1, count_include_pad=False)
        y = x
        for j, stride in zip((0, 2, 4, 6), (2, 2, 1, 1)):
            p = f"layer{1 - scale}.{j}.module."
            w, u, v = state[p + "weight_bar"], state[p + "weight_u"], state[p + "weight_v"]
            y = F.conv2d(y, w / torch.dot(u, w.flatten(1) @ v), state[p + "bias"], stride, padding=2)
            y = F.leaky_relu(y, 0.2) if j < 6 else y
        outputs.append(y)
    return outputs


def save_release(folder: Path, generator: dict | None, discriminator: dict | None) -> None:
    """As save_network: torch.save(network.cpu().state_dict()), PyTorch 1.5's (non-zip) format."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, state in (("latest_net_G.pth", generator), ("latest_net_D.pth", discriminator)):
        if state is not None:
            torch.save(state, folder / name, _use_new_zipfile_serialization=False)


def convert_in_process(release: Path, out: Path, *overrides: str, dataset: str = "aim2020") -> None:
    convert_release("deepgin", dataset, release, out, *SMALL, *overrides)


@pytest.fixture(scope="module")
def converted(tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("deepgin")
    generator, discriminator = reference_generator(), discriminator_state()
    save_release(folder / "gin", generator.state_dict(), discriminator)
    ckpt = folder / "deepgin_aim2020.ckpt"
    convert_release("deepgin", "aim2020", folder / "gin", ckpt, *SMALL)
    return generator, discriminator, folder / "gin", ckpt


def test_every_tensor_lands_bit_equal_and_nothing_is_left_over(converted) -> None:
    generator, discriminator, _, ckpt = converted
    state = torch.load(ckpt, weights_only=True)["state_dict"]
    report = json.loads(ckpt.with_suffix(".json").read_text())
    placed = {p["target"]: p["sources"] for p in report["placed"]}
    assert set(placed) == set(state) and report["skipped"] == {} and report["fresh"] == {}
    release = {f"latest_net_G.pth:{k}": v for k, v in generator.state_dict().items()}
    release |= {f"latest_net_D.pth:{k}": v for k, v in discriminator.items()}
    assert sorted(source for (source,) in placed.values()) == sorted(release)  # each used exactly once
    for target, (source,) in placed.items():
        assert torch.equal(state[target], release[source]), target
    # D's layer1 runs at full resolution in the authors' MultiscaleDiscriminator: the suite's scale 0
    assert placed["discriminator.scales.0.layers.0.parametrizations.weight.original"] == [
        "latest_net_D.pth:layer1.0.module.weight_bar"
    ]
    assert placed["generator.refine.bottleneck.3.out.weight"] == ["latest_net_G.pth:r_md_satn1.W.weight"]


def test_the_converted_generator_gives_the_authors_outputs(converted) -> None:
    generator, _, _, ckpt = converted
    model = load_inpainting_module(ckpt)
    gen = torch.Generator().manual_seed(1)
    image = torch.rand(2, 3, 64, 64, generator=gen)
    mask = torch.zeros(2, 1, 64, 64)
    mask[0, :, 8:40, 16:56] = 1
    mask[1] = (torch.rand(1, 64, 64, generator=gen) > 0.6).float()
    with torch.no_grad():
        compltd, reconst, lr_x, lr_img = generator.eval()(image * (1 - mask) + mask, mask)
        coarse, out, low_res = model.generate(image, mask)
        assert lr_x.min() < 0 and lr_x.max() > 1  # the case where a clamp would change G2's input
        for ours, theirs in (
            (coarse, lr_x),
            (out, reconst),
            (low_res, lr_img),
            (composite(out, image, mask), compltd),
        ):
            torch.testing.assert_close(ours, theirs, rtol=0, atol=1e-5)
        # what evaluate / predict inpaint with (one sub-image here): the output clipped, as tensor2im saves it
        torch.testing.assert_close(model.predict_output(image, mask), reconst.clamp(0, 1), rtol=0, atol=1e-5)
        model.generator.clamp_output = True  # the suite's default: not the authors' network
        assert (model.generate(image, mask)[1] - reconst.clamp(0, 1)).abs().max() > 1e-3


def test_the_converted_discriminator_is_the_authors_with_the_saved_sigma(converted) -> None:
    _, discriminator, _, ckpt = converted
    model = load_inpainting_module(ckpt)
    x = torch.rand(2, 6, 48, 64, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        for ours, theirs in zip(model.discriminator.eval()(x), reference_discriminator(discriminator, x)):
            torch.testing.assert_close(ours, theirs, rtol=0, atol=1e-5)


def test_a_warm_up_without_d_converts_and_fine_tuning_starts_d_fresh(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    generator = reference_generator(seed=3)
    # a state dict saved from a DataParallel-wrapped G carries `module.`: removed
    save_release(tmp_path / "warmup", {f"module.{k}": v for k, v in generator.state_dict().items()}, None)
    with caplog.at_level(logging.INFO):
        convert_in_process(tmp_path / "warmup", tmp_path / "warmup.ckpt", dataset="aim2020_warmup")
    assert "discriminator starts fresh: latest_net_D.pth is not in" in caplog.text
    checkpoint = torch.load(tmp_path / "warmup.ckpt", weights_only=True)
    assert not any(key.startswith("discriminator.") for key in checkpoint["state_dict"])
    assert checkpoint["release"]["name"] == "deepgin_aim2020_warmup"

    model = load_inpainting_module(tmp_path / "warmup.ckpt")
    image, mask = torch.rand(1, 3, 32, 32), torch.zeros(1, 1, 32, 32)
    mask[..., 8:24, 8:24] = 1
    with torch.no_grad():
        torch.testing.assert_close(
            model.generate(image, mask)[1], generator.eval()(image * (1 - mask) + mask, mask)[1]
        )
    fresh_d = {k: v.clone() for k, v in model.discriminator.state_dict().items()}
    with caplog.at_level(logging.INFO):
        model.load_networks(str(tmp_path / "warmup.ckpt"))  # model.init_from when fine-tuning
    assert "discriminator starts fresh" in caplog.text
    assert all(torch.equal(v, fresh_d[k]) for k, v in model.discriminator.state_dict().items())


def test_bad_releases_are_named_with_the_fix(converted, tmp_path: Path) -> None:
    generator, _, release, _ = converted
    edgeconnect = tmp_path / "edgeconnect"  # EdgeConnect's layout: {"iteration", "generator"} dicts
    edgeconnect.mkdir()
    torch.save(
        {"iteration": 10, "generator": generator.state_dict()}, edgeconnect / "InpaintingModel_gen.pth"
    )
    with pytest.raises(
        ReleaseError, match=r"release file not found: .*latest_net_G.pth. Download it from https"
    ):
        convert_in_process(edgeconnect, tmp_path / "x.ckpt")
    (edgeconnect / "InpaintingModel_gen.pth").rename(edgeconnect / "latest_net_G.pth")
    with pytest.raises(
        ReleaseError, match=r"not a DeepGIN latest_net_G.pth: .* holds \['generator', 'iteration'\]"
    ):
        convert_in_process(edgeconnect, tmp_path / "x.ckpt")

    other = tmp_path / "other"  # a bare state dict of another network
    save_release(other, {"encoder.1.weight": torch.zeros(8, 4, 7, 7), **generator.state_dict()}, None)
    with pytest.raises(
        ReleaseError, match="no place in the suite's network: latest_net_G.pth:encoder.1.weight"
    ):
        convert_in_process(other, tmp_path / "x.ckpt")

    truncated = tmp_path / "truncated"
    truncated.mkdir()
    data = (release / "latest_net_G.pth").read_bytes()
    (truncated / "latest_net_G.pth").write_bytes(data[: len(data) // 2])
    with pytest.raises(ReleaseError, match="latest_net_G.pth is not a readable PyTorch file") as error:
        convert_in_process(truncated, tmp_path / "x.ckpt")
    assert "truncated or interrupted download? Download it again from https://drive.google.com" in str(
        error.value
    )

    with pytest.raises(ReleaseError, match="a network of another width or depth") as error:
        convert_in_process(release, tmp_path / "x.ckpt", "model.generator.width=8")
    assert "latest_net_G.pth:lr_coarse_tinker.1.weight has shape (4, 4, 7, 7)" in str(error.value)

    with pytest.raises(ReleaseError, match="has releases for aim2020, aim2020_warmup; got 'places2'"):
        convert_release("deepgin", "places2", release, tmp_path / "x.ckpt", *SMALL)
    assert not (tmp_path / "x.ckpt").exists()  # nothing half-written
