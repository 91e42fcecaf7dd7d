"""GMCNN's released PyTorch weights through import_release's config composition: a generator file written
with the official layout (shepnerd/inpainting_gmcnn pytorch/model/basemodel.py save_networks:
`<epoch>_net_GM.pth`, the bare state dict of net.py `GMCNN`, in the pre-1.6 serialization of the authors'
PyTorch 1.0), converted, and checked tensor by tensor and against a reference network with the official
module names that loads the release with strict=True, as test.py does."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from hydra import compose, initialize_config_dir
from torch import nn

import suite  # noqa: F401  (registers the configs' resolvers, as the entry points do)
from lightning_modules.base import load_inpainting_module
from lightning_modules.released_weights import ReleaseError
from suite.import_release import import_release

CONF = Path(__file__).resolve().parents[1] / "conf"
CNUM = 8  # a small width: the names, nesting and layer order are those of the published 32
SIZE = (200, 216)  # net.py's ReflectionPad2d(48) at 1/4 resolution needs more than 192 px


class Upsample(nn.Module):
    """net.py PureUpsampling: ×scale to an explicit size, bilinear with aligned corners or nearest."""

    def __init__(self, scale: int, mode: str):
        super().__init__()
        self.scale, self.mode = scale, mode

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        size = (x.shape[2] * self.scale, x.shape[3] * self.scale)
        align = {"align_corners": True} if self.mode == "bilinear" else {}
        return F.interpolate(x, size=size, mode=self.mode, **align)


def official_column(kernel: int, c: int) -> list[nn.Module]:
    """One of net.py's EB1 / EB2 / EB3: 12 convs (strides 1-2-1-2-1-1, dilations 2-4-8-16 at 7-10), then the
    column's way back to full size; the upsamplings hold list indices but no tensors."""
    widths = [(4, c), (c, 2 * c), (2 * c, 2 * c), (2 * c, 4 * c), *[(4 * c, 4 * c)] * 8]
    strides = [1, 2, 1, 2] + [1] * 8
    dilations = [1] * 6 + [2, 4, 8, 16] + [1, 1]
    layers: list[nn.Module] = [
        nn.Conv2d(i, o, kernel, stride=s, dilation=d) for (i, o), s, d in zip(widths, strides, dilations)
    ]
    if kernel == 7:
        return [*layers, Upsample(4, "bilinear")]
    tail: list[nn.Module] = [
        Upsample(2, "nearest"),
        nn.Conv2d(4 * c, 2 * c, kernel),
        nn.Conv2d(2 * c, 2 * c, kernel),
    ]
    if kernel == 5:
        return [*layers, *tail, Upsample(2, "bilinear")]
    return [*layers, *tail, Upsample(2, "nearest"), nn.Conv2d(2 * c, c, kernel), nn.Conv2d(c, c, kernel)]


class ReferenceGMCNN(nn.Module):
    """net.py GMCNN's tensors under their official names, and its forward: each conv after a
    ReflectionPad2d of dilation·(kernel−1)/2, ELU after every conv but the last, output clipped to
    [−1, 1]."""

    def __init__(self, c: int = CNUM):
        super().__init__()
        self.EB1, self.EB2, self.EB3 = (nn.ModuleList(official_column(k, c)) for k in (7, 5, 3))
        self.decoding_layers = nn.ModuleList([nn.Conv2d(7 * c, c // 2, 3), nn.Conv2d(c // 2, 3, 3)])

    @staticmethod
    def conv(layer: nn.Conv2d, x: torch.Tensor) -> torch.Tensor:
        pad = layer.dilation[0] * (layer.kernel_size[0] - 1) // 2
        return layer(nn.ReflectionPad2d(pad)(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        columns = []
        for column in (self.EB1, self.EB2, self.EB3):
            y = x
            for layer in column:
                y = F.elu(self.conv(layer, y)) if isinstance(layer, nn.Conv2d) else layer(y)
            columns.append(y)
        y = F.elu(self.conv(self.decoding_layers[0], torch.cat(columns, 1)))
        return self.conv(self.decoding_layers[1], y).clamp(-1, 1)


def trained_like(seed: int) -> ReferenceGMCNN:
    """Weights at a trained network's scale, non-zero biases: outputs of order 1 that reach the clip."""
    torch.manual_seed(seed)
    network = ReferenceGMCNN()
    with torch.no_grad():
        for layer in network.modules():
            if isinstance(layer, nn.Conv2d):
                layer.weight.normal_(0, (1.5 / layer.weight[0].numel()) ** 0.5)
                layer.bias.uniform_(-0.1, 0.1)
    return network.eval()


def save_official(state: dict, path: Path) -> None:
    """torch.save as PyTorch 1.0 wrote it (the pre-1.6, non-zip format)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(state, path, _use_new_zipfile_serialization=False)


def convert(release: Path, out: Path, *overrides: str) -> dict:
    """import_release.py release=gmcnn release.dataset=celebahq release.dir=<release> out=<out>, in-process."""
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        cfg = compose(
            "import_release",
            overrides=[
                "release=gmcnn",
                "release.dataset=celebahq",
                f"release.dir={release}",
                f"out={out}",
                f"model.generator.cnum={CNUM}",
                *overrides,
            ],
        )
    return import_release(cfg)


@pytest.fixture(scope="module")
def converted(tmp_path_factory: pytest.TempPathFactory) -> tuple[ReferenceGMCNN, Path, Path, dict]:
    folder = tmp_path_factory.mktemp("gmcnn")
    network = trained_like(seed=0)
    save_official(network.state_dict(), folder / "celebahq256_rect" / "20_net_GM.pth")
    # an earlier epoch beside it: the highest epoch is the one converted
    save_official(trained_like(seed=1).state_dict(), folder / "celebahq256_rect" / "9_net_GM.pth")
    meta = convert(folder / "celebahq256_rect", folder / "gmcnn_celebahq.ckpt")
    return network, folder / "celebahq256_rect", folder / "gmcnn_celebahq.ckpt", meta


def test_every_tensor_lands_bit_equal_and_nothing_is_left_over(converted) -> None:
    network, release, ckpt, meta = converted
    assert meta["notes"] == {"file": "20_net_GM.pth", "epoch": 20}
    official = torch.load(release / "20_net_GM.pth", weights_only=True)
    checkpoint = torch.load(ckpt, weights_only=True)
    state = checkpoint["state_dict"]
    report = json.loads(ckpt.with_suffix(".json").read_text())
    placed = {p["target"]: p["sources"] for p in report["placed"]}
    assert set(placed) == set(state) and all(key.startswith("generator.") for key in state)
    assert {source for sources in placed.values() for source in sources} == {
        f"20_net_GM.pth:{key}" for key in official
    }
    assert report["skipped"] == {}
    for target, (source,) in placed.items():
        assert torch.equal(state[target], official[source.split(":", 1)[1]]), target
    assert placed["generator.columns.2.17.conv.weight"] == ["20_net_GM.pth:EB3.17.weight"]
    assert placed["generator.fuse.1.conv.bias"] == ["20_net_GM.pth:decoding_layers.1.bias"]
    assert list(checkpoint["release"]["fresh"]) == ["discriminator."]


def test_the_converted_network_inpaints_as_the_official_test(converted) -> None:
    _, release, ckpt, _ = converted
    model = load_inpainting_module(ckpt)
    network = ReferenceGMCNN().eval()  # test.py: load_networks, strict
    network.load_state_dict(torch.load(release / "20_net_GM.pth", weights_only=True), strict=True)
    gen = torch.Generator().manual_seed(3)
    image = torch.randint(0, 256, (2, 3, *SIZE), generator=gen).float()  # test.py: uint8 RGB
    mask = torch.zeros(2, 1, *SIZE)
    mask[0, :, 40:168, 50:178] = 1
    mask[1, :, 100:200, 0:64] = 1
    with torch.no_grad():
        # net.py InpaintingModel_GMCNN.evaluate: [-1, 1], the hole zeroed, ⊕ the mask; composite
        official_in = image / 127.5 - 1
        official_in = official_in * (1 - mask)
        raw = network(torch.cat([official_in, mask], 1))
        assert raw.abs().eq(1).any() and raw.std() > 0.1  # a test that reaches the clip
        torch.testing.assert_close(model.generator(torch.cat([official_in, mask], 1)), raw, rtol=0, atol=0)
        official = (raw * mask + official_in * (1 - mask) + 1) / 2
        torch.testing.assert_close(model.inpaint(image / 255, mask), official, rtol=0, atol=1e-6)


def test_the_discriminators_start_fresh_and_fine_tuning_says_so(
    converted, caplog: pytest.LogCaptureFixture
) -> None:
    _, _, ckpt, _ = converted
    model = load_inpainting_module(ckpt)  # evaluate / predict: the generator alone
    fresh = {key: value.clone() for key, value in model.discriminator.state_dict().items()}
    generator = {key: value.clone() for key, value in model.generator.state_dict().items()}
    with torch.no_grad():
        for parameter in model.generator.parameters():
            parameter.zero_()
    with caplog.at_level(logging.INFO):
        model.load_networks(str(ckpt))  # model.init_from when fine-tuning
    assert "discriminator starts fresh" in caplog.text and "model_names = ['GM']" in caplog.text
    assert all(torch.equal(value, fresh[key]) for key, value in model.discriminator.state_dict().items())
    assert all(torch.equal(value, generator[key]) for key, value in model.generator.state_dict().items())


def test_a_release_file_under_another_name_converts(converted, tmp_path: Path) -> None:
    """test.py loads whatever .pth the folder holds: a renamed file alone converts too."""
    network, release, _, _ = converted
    (tmp_path / "renamed").mkdir()
    (tmp_path / "renamed" / "gmcnn_celebahq256.pth").write_bytes((release / "20_net_GM.pth").read_bytes())
    meta = convert(tmp_path / "renamed", tmp_path / "renamed.ckpt")
    assert meta["notes"] == {"file": "gmcnn_celebahq256.pth"}
    state = torch.load(tmp_path / "renamed.ckpt", weights_only=True)["state_dict"]
    assert torch.equal(state["generator.columns.0.9.conv.weight"], network.EB1[9].weight)


def edgeconnect_generator() -> dict[str, torch.Tensor]:
    """The first tensors of EdgeConnect's InpaintingModel_gen.pth state dict (knazeri/edge-connect)."""
    return {"encoder.1.weight": torch.zeros(64, 4, 7, 7), "encoder.1.bias": torch.zeros(64)}


def test_bad_releases_are_named_with_the_fix(converted, tmp_path: Path) -> None:
    _, release, _, _ = converted
    edgeconnect = tmp_path / "edgeconnect"
    for file in ("EdgeModel_gen.pth", "InpaintingModel_gen.pth"):
        save_official({"iteration": 1000, "generator": edgeconnect_generator()}, edgeconnect / file)
    with pytest.raises(ReleaseError, match=r"holds EdgeModel_gen.pth, InpaintingModel_gen.pth: GMCNN's"):
        convert(edgeconnect, tmp_path / "x.ckpt")

    save_official(
        {"iteration": 1000, "generator": edgeconnect_generator()}, tmp_path / "dict" / "1_net_GM.pth"
    )
    with pytest.raises(ReleaseError, match=r"1_net_GM.pth is not GMCNN's generator file.*\['generator'"):
        convert(tmp_path / "dict", tmp_path / "x.ckpt")

    save_official(edgeconnect_generator(), tmp_path / "bare" / "1_net_GM.pth")
    with pytest.raises(ReleaseError, match="has no tensor 'EB1.0.weight'.*another method"):
        convert(tmp_path / "bare", tmp_path / "x.ckpt")

    data = (release / "20_net_GM.pth").read_bytes()
    (tmp_path / "truncated").mkdir()
    (tmp_path / "truncated" / "20_net_GM.pth").write_bytes(data[: len(data) // 2])
    with pytest.raises(ReleaseError, match="not a readable PyTorch file.*truncated or interrupted download"):
        convert(tmp_path / "truncated", tmp_path / "x.ckpt")

    with pytest.raises(
        ReleaseError,
        match=r"EB1.0.weight has shape \(8, 4, 7, 7\) where the suite's generator.columns.0.0.conv.weight has "
        r"\(16, 4, 7, 7\): a network of another width",
    ):
        convert(release, tmp_path / "x.ckpt", "model.generator.cnum=16")
    assert not (tmp_path / "x.ckpt").exists()

    # ckpt_path= the release file itself (as a PyTorch >= 1.6 saves it: a pre-1.6 file cannot be mmapped)
    torch.save(torch.load(release / "20_net_GM.pth", weights_only=True), tmp_path / "20_net_GM.pth")
    with pytest.raises(ValueError, match="bare state dict .* EB1.0.weight"):
        load_inpainting_module(tmp_path / "20_net_GM.pth")
