"""EdgeConnect's released weights through `import_release.py`: files written with the official layout
(knazeri/edge-connect src/models.py BaseModel.save, src/networks.py module names, torch.nn.utils.spectral_norm
as the official code applies it), converted, and checked tensor by tensor and against reference networks
that load the release's state dicts with strict=True, as the official code does."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
import torch
from torch import nn
from torch.nn.utils import spectral_norm

from lightning_modules.base import load_inpainting_module
from lightning_modules.released_weights import ReleaseConversion, ReleaseError
from releases import convert_release
from suite_cli import run

CNUM, BLOCKS = 8, 2  # small widths: the naming and nesting are those of the published 64 / 8
SMALL = (
    f"model.edge_generator.cnum={CNUM}",
    f"model.edge_generator.residual_blocks={BLOCKS}",
    f"model.generator.cnum={CNUM}",
    f"model.generator.residual_blocks={BLOCKS}",
    f"model.edge_discriminator.cnum={CNUM}",
    f"model.discriminator.cnum={CNUM}",
)


class ReferenceResnetBlock(nn.Module):
    """x + conv_block(x), the official ResnetBlock (dilation 2)."""

    def __init__(self, channels: int, spectral: bool):
        super().__init__()
        sn = spectral_norm if spectral else (lambda module: module)
        self.conv_block = nn.Sequential(
            nn.ReflectionPad2d(2),
            sn(nn.Conv2d(channels, channels, 3, dilation=2, bias=not spectral)),
            nn.InstanceNorm2d(channels),
            nn.ReLU(),
            nn.ReflectionPad2d(1),
            sn(nn.Conv2d(channels, channels, 3, bias=not spectral)),
            nn.InstanceNorm2d(channels),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv_block(x)


class ReferenceGenerator(nn.Module):
    """The official generators' module tree: encoder (pad, conv, IN, ReLU ×3), middle of ResnetBlocks with a
    `conv_block`, decoder (2 × transposed conv, IN, ReLU; pad, conv); spectral norm the official way."""

    def __init__(self, in_channels: int, out_channels: int, spectral: bool, edge: bool):
        super().__init__()
        sn = spectral_norm if spectral else (lambda module: module)
        c = CNUM
        self.edge = edge

        self.encoder = nn.Sequential(
            nn.ReflectionPad2d(3),
            sn(nn.Conv2d(in_channels, c, 7)),
            nn.InstanceNorm2d(c),
            nn.ReLU(),
            sn(nn.Conv2d(c, 2 * c, 4, 2, 1)),
            nn.InstanceNorm2d(2 * c),
            nn.ReLU(),
            sn(nn.Conv2d(2 * c, 4 * c, 4, 2, 1)),
            nn.InstanceNorm2d(4 * c),
            nn.ReLU(),
        )
        self.middle = nn.Sequential(*(ReferenceResnetBlock(4 * c, spectral) for _ in range(BLOCKS)))
        self.decoder = nn.Sequential(
            sn(nn.ConvTranspose2d(4 * c, 2 * c, 4, 2, 1)),
            nn.InstanceNorm2d(2 * c),
            nn.ReLU(),
            sn(nn.ConvTranspose2d(2 * c, c, 4, 2, 1)),
            nn.InstanceNorm2d(c),
            nn.ReLU(),
            nn.ReflectionPad2d(3),
            nn.Conv2d(c, out_channels, 7),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.decoder(self.middle(self.encoder(x)))
        return torch.sigmoid(x) if self.edge else (torch.tanh(x) + 1) / 2


class ReferenceDiscriminator(nn.Module):
    """The official Discriminator: conv1 … conv5 (SN 4×4 convs without bias), `features` a second name of
    conv1; returns the logits."""

    def __init__(self, in_channels: int):
        super().__init__()
        widths = [in_channels, CNUM, 2 * CNUM, 4 * CNUM, 8 * CNUM, 1]
        for i in range(5):
            conv = spectral_norm(nn.Conv2d(widths[i], widths[i + 1], 4, 2 if i < 3 else 1, 1, bias=False))
            layers = [conv] if i == 4 else [conv, nn.LeakyReLU(0.2)]
            setattr(self, f"conv{i + 1}", nn.Sequential(*layers))
        self.features = self.conv1

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for i in range(5):
            x = getattr(self, f"conv{i + 1}")(x)
        return x


def reference_networks(seed: int = 0) -> dict[str, nn.Module]:
    torch.manual_seed(seed)
    networks = {
        "EdgeModel_gen.pth": ReferenceGenerator(3, 1, spectral=True, edge=True),
        "EdgeModel_dis.pth": ReferenceDiscriminator(2),
        "InpaintingModel_gen.pth": ReferenceGenerator(4, 3, spectral=False, edge=False),
        "InpaintingModel_dis.pth": ReferenceDiscriminator(3),
    }
    inputs = {"EdgeModel_gen.pth": 3, "EdgeModel_dis.pth": 2, "InpaintingModel_gen.pth": 4}
    for file, network in networks.items():  # power-iterate u and v, as a trained model has them
        network.train()(torch.rand(1, inputs.get(file, 3), 32, 32))
    return networks


def save_release(folder: Path, networks: dict[str, nn.Module], files=None, pre_1_0: bool = False) -> None:
    """The files as BaseModel.save writes them; pre_1_0: spectral norms as PyTorch 0.4 saved them (the
    normalized `weight` instead of `weight_v`)."""
    folder.mkdir(parents=True, exist_ok=True)
    for file in files or networks:
        state = networks[file].state_dict()
        if pre_1_0:
            state = pre_1_0_spectral_norms(state)
        if file.endswith("_gen.pth"):
            torch.save({"iteration": 1000, "generator": state}, folder / file)
        else:
            torch.save({"discriminator": state}, folder / file)


def sigma(weight_orig: torch.Tensor, u: torch.Tensor, v: torch.Tensor, dim: int = 0) -> torch.Tensor:
    """σ = u·W·v of the saved vectors: what spectral norm divides by in eval mode."""
    return torch.dot(u, weight_orig.movedim(dim, 0).flatten(1) @ v)


def pre_1_0_spectral_norms(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    converted = {}
    for key, value in state.items():
        if key.endswith(".weight_v"):
            prefix = key.removesuffix(".weight_v")
            orig, u = state[f"{prefix}.weight_orig"], state[f"{prefix}.weight_u"]
            dim = 1 if prefix.startswith("decoder.") else 0
            converted[f"{prefix}.weight"] = orig / sigma(orig, u, value, dim)
        else:
            converted[key] = value
    return converted


def convert_in_process(release: Path, out: Path, *overrides: str) -> None:
    convert_release("edgeconnect", "places2", release, out, *SMALL, *overrides)


def convert(release: Path, out: Path, *overrides: str, check: bool = True):
    """The command as a user runs it."""
    return run(
        "import_release.py",
        "release=edgeconnect",
        "release.dataset=places2",
        f"release.dir={release}",
        f"out={out}",
        f"hydra.run.dir={out.parent / 'import_run'}",
        *SMALL,
        *overrides,
        check=check,
    )


@pytest.fixture(scope="module")
def converted(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, nn.Module], Path, Path]:
    folder = tmp_path_factory.mktemp("edgeconnect")
    networks = reference_networks()
    save_release(folder / "places2", networks)
    convert(folder / "places2", folder / "edgeconnect_places2.ckpt")
    return networks, folder / "places2", folder / "edgeconnect_places2.ckpt"


def test_every_tensor_lands_bit_equal_and_nothing_is_left_over(converted) -> None:
    networks, release, ckpt = converted
    state = torch.load(ckpt, weights_only=True)["state_dict"]
    report = json.loads(ckpt.with_suffix(".json").read_text())
    placed = {p["target"]: p["sources"] for p in report["placed"]}
    assert set(placed) == set(state)
    release_tensors = {
        f"{file}:{key}"
        for file in networks
        for key in torch.load(release / file, weights_only=True)[
            "generator" if file.endswith("_gen.pth") else "discriminator"
        ]
    }
    used = {source for sources in placed.values() for source in sources} | set(report["skipped"])
    assert used == release_tensors  # every release tensor placed or skipped, none twice-forgotten
    assert all("features." in name for name in report["skipped"])  # only the official alias of conv1
    for target, sources in placed.items():
        file, key = sources[-1].split(":", 1) if target.endswith("._v") else sources[0].split(":", 1)
        original = networks[file].state_dict()[key]
        assert torch.equal(state[target], original), target  # u, v and weight_orig copied bit for bit
    assert report["fresh"] == {}


@pytest.mark.slow  # the official networks' forward at 256²
def test_the_converted_networks_give_the_official_outputs(converted) -> None:
    networks, _, ckpt = converted
    model = load_inpainting_module(ckpt)
    gen = torch.Generator().manual_seed(3)
    with torch.no_grad():
        pairs = [
            (model.edge_generator, networks["EdgeModel_gen.pth"], 3),
            (model.generator, networks["InpaintingModel_gen.pth"], 4),
            (lambda x: model.edge_discriminator(x)[0], networks["EdgeModel_dis.pth"], 2),
            (lambda x: model.discriminator(x)[0], networks["InpaintingModel_dis.pth"], 3),
        ]
        for ours, theirs, channels in pairs:
            x = torch.rand(2, channels, 40, 48, generator=gen)
            torch.testing.assert_close(ours(x), theirs.eval()(x), rtol=0, atol=1e-6)


def test_spectral_norm_weights_are_the_release_weight_divided_by_its_sigma(converted) -> None:
    networks, _, ckpt = converted
    model = load_inpainting_module(ckpt)
    official = networks["EdgeModel_gen.pth"].state_dict()
    for source, ours, dim in (
        ("encoder.4", model.edge_generator.encoder[4], 0),
        ("middle.1.conv_block.5", model.edge_generator.middle[1].body[5], 0),
        ("decoder.0", model.edge_generator.decoder[0], 1),  # transposed: σ over the output channels
    ):
        orig, u, v = (official[f"{source}.weight_{suffix}"] for suffix in ("orig", "u", "v"))
        torch.testing.assert_close(ours.weight, orig / sigma(orig, u, v, dim), rtol=1e-6, atol=0)


def test_a_release_saved_before_pytorch_1_0_converts_to_the_same_network(tmp_path: Path) -> None:
    networks = reference_networks(seed=1)
    save_release(tmp_path / "old", networks, pre_1_0=True)
    convert_in_process(tmp_path / "old", tmp_path / "old.ckpt")
    model = load_inpainting_module(tmp_path / "old.ckpt")
    x = torch.rand(1, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        # PyTorch rebuilds v from the saved normalized weight when the reference loads the old state dict
        reference = ReferenceGenerator(3, 1, spectral=True, edge=True)
        old = torch.load(tmp_path / "old" / "EdgeModel_gen.pth", weights_only=True)["generator"]
        reference.load_state_dict(old)
        torch.testing.assert_close(model.edge_generator(x), reference.eval()(x), rtol=0, atol=1e-5)
        torch.testing.assert_close(
            model.edge_generator(x), networks["EdgeModel_gen.pth"].eval()(x), atol=1e-5, rtol=0
        )


def test_without_the_discriminators_they_start_fresh_and_fine_tuning_says_so(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    networks = reference_networks()
    save_release(tmp_path / "gen_only", networks, files=["EdgeModel_gen.pth", "InpaintingModel_gen.pth"])
    with caplog.at_level(logging.INFO):
        convert_in_process(tmp_path / "gen_only", tmp_path / "gen_only.ckpt")
    assert "edge_discriminator starts fresh: EdgeModel_dis.pth is not in" in caplog.text
    checkpoint = torch.load(tmp_path / "gen_only.ckpt", weights_only=True)
    assert not any(
        key.startswith(("discriminator.", "edge_discriminator.")) for key in checkpoint["state_dict"]
    )

    model = load_inpainting_module(tmp_path / "gen_only.ckpt")  # evaluate / predict: the generators alone
    x = torch.rand(1, 4, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(model.generator(x), networks["InpaintingModel_gen.pth"].eval()(x))

    fresh_d = model.discriminator.state_dict()
    with caplog.at_level(logging.INFO):
        model.load_networks(str(tmp_path / "gen_only.ckpt"))  # model.init_from when fine-tuning
    assert "discriminator starts fresh" in caplog.text and "InpaintingModel_dis.pth is not in" in caplog.text
    for key, value in model.discriminator.state_dict().items():
        assert torch.equal(value, fresh_d[key])


def test_bad_releases_are_named_with_the_fix(converted, tmp_path: Path) -> None:
    networks, release, _ = converted
    other = tmp_path / "other_method"
    other.mkdir()
    for file in networks:  # a bare state dict, as DeepGIN's and GMCNN's code save theirs
        torch.save(networks[file].state_dict(), other / file)
    with pytest.raises(ReleaseError, match="is not EdgeConnect's EdgeModel_gen.pth"):
        convert_in_process(other, tmp_path / "x.ckpt")

    truncated = tmp_path / "truncated"
    truncated.mkdir()
    for file in networks:
        data = (release / file).read_bytes()
        (truncated / file).write_bytes(data if file != "InpaintingModel_gen.pth" else data[: len(data) // 2])
    with pytest.raises(ReleaseError, match="InpaintingModel_gen.pth is not a readable PyTorch file") as error:
        convert_in_process(truncated, tmp_path / "x.ckpt")
    assert "truncated or interrupted download? Download it again from https://drive.google.com" in str(
        error.value
    )

    with pytest.raises(ReleaseError, match="a network of another width or depth") as error:
        convert_in_process(release, tmp_path / "x.ckpt", "model.generator.cnum=16")
    assert "InpaintingModel_gen.pth:encoder.1.weight has shape (8, 4, 7, 7)" in str(error.value)

    with pytest.raises(ReleaseError, match="is not a folder.*drive.google.com"):
        convert_in_process(tmp_path / "nowhere", tmp_path / "x.ckpt")
    with pytest.raises(ReleaseError, match="has releases for places2, celeba, paris_streetview; got 'ffhq'"):
        convert_release("edgeconnect", "ffhq", release, tmp_path / "x.ckpt", *SMALL)
    assert not (tmp_path / "x.ckpt").exists()  # nothing half-written

    with pytest.raises(ValueError, match="looks like EdgeConnect's released"):
        load_inpainting_module(release / "InpaintingModel_gen.pth")  # ckpt_path= the release file itself
    with pytest.raises(IsADirectoryError, match="is a folder.*python import_release.py release=<method>"):
        load_inpainting_module(release)  # ckpt_path= the release folder


def test_a_release_tensor_without_a_place_is_an_error() -> None:
    conversion = ReleaseConversion(nn.Linear(2, 2), "toy")
    conversion.add_file(
        "a.pth", {"weight": torch.zeros(2, 2), "bias": torch.zeros(2), "extra": torch.zeros(1)}
    )
    conversion.copy("a.pth", "weight", "weight")
    conversion.copy("a.pth", "bias", "bias")
    with pytest.raises(ReleaseError, match="a.pth:extra"):
        conversion.finish()
    conversion = ReleaseConversion(nn.Linear(2, 2), "toy")
    conversion.add_file("a.pth", {"weight": torch.zeros(2, 2)})
    conversion.copy("a.pth", "weight", "weight")
    with pytest.raises(ReleaseError, match="missing from the release: bias"):
        conversion.finish()
