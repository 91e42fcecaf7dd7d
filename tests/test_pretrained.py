"""The pretrained loader reads torchvision's cache only and says exactly which file is missing."""

import logging

import pytest
import torch
import torchvision

from utils.pretrained import (
    WEIGHTS,
    MissingWeightsError,
    fid_metric,
    lpips_metric,
    require_weights,
    vgg19_features,
)


def test_registry_uses_the_file_names_the_libraries_cache():
    """torchvision's, torch-fidelity's and the colorizers release's names (Zhang et al. SIGGRAPH'17)."""
    assert {name: entry.file_name for name, entry in WEIGHTS.items()} == {
        "vgg19": "vgg19-dcbb9e9d.pth",
        "vgg16": "vgg16-397923af.pth",
        "alexnet": "alexnet-owt-7be5be79.pth",
        "inception": "weights-inception-2015-12-05-6726825d.pth",
        "siggraph17": "siggraph17-df00044c.pth",
    }


@pytest.mark.parametrize("name", sorted(WEIGHTS))
def test_missing_file_names_file_folder_and_url(torch_home, no_network, name):
    folder = torch_home / "hub" / "checkpoints"
    with pytest.raises(MissingWeightsError) as info:
        require_weights(name)
    message = str(info.value)
    assert WEIGHTS[name].file_name in message
    assert str(folder) in message
    assert WEIGHTS[name].url in message
    assert "TORCH_HOME" in message
    assert isinstance(info.value, FileNotFoundError)
    assert WEIGHTS[name].file_name in info.value.reason and str(folder) in info.value.reason


def test_unknown_network_is_a_value_error(torch_home):
    with pytest.raises(ValueError, match="known: vgg19"):
        require_weights("resnet50")


def test_metrics_fail_fast_before_constructing(torch_home, no_network):
    with pytest.raises(MissingWeightsError, match="alexnet-owt-7be5be79.pth"):
        lpips_metric("alex")
    with pytest.raises(MissingWeightsError, match="vgg16-397923af.pth"):
        lpips_metric("vgg")
    with pytest.raises(MissingWeightsError, match="weights-inception-2015-12-05-6726825d.pth"):
        fid_metric()


def test_vgg19_imagenet_missing_raises(torch_home, no_network):
    with pytest.raises(MissingWeightsError, match="vgg19-dcbb9e9d.pth"):
        vgg19_features()


def test_vgg19_loads_a_cached_file_without_network(torch_home, no_network):
    state_dict = torchvision.models.vgg19(weights=None).state_dict()  # the whole file, classifier included
    torch.save(state_dict, torch_home / "hub" / "checkpoints" / "vgg19-dcbb9e9d.pth")
    features = vgg19_features("imagenet")
    loaded = features.state_dict()
    assert {f"features.{key}" for key in loaded} == {key for key in state_dict if key.startswith("features.")}
    assert all(torch.equal(value, state_dict[f"features.{key}"]) for key, value in loaded.items())
    assert not any(p.is_meta for p in features.parameters())
    assert features(torch.rand(1, 3, 32, 32)).shape == (1, 512, 1, 1)


def test_vgg19_random_by_name_warns_and_is_one_fixed_torchvision_initialisation(
    torch_home, no_network, caplog
):
    state = torch.get_rng_state()
    with caplog.at_level(logging.WARNING, logger="utils.pretrained"):
        features = vgg19_features("random")
    assert "not comparable" in caplog.text
    assert torch.equal(torch.get_rng_state(), state)  # drawn from its own generator
    again = vgg19_features("random").state_dict()
    assert all(torch.equal(value, again[key]) for key, value in features.state_dict().items())
    with torch.device("meta"):
        reference = torchvision.models.vgg19(weights=None).features
    assert [type(m) for m in features] == [type(m) for m in reference]
    convolutions = [m for m in features if isinstance(m, torch.nn.Conv2d)]
    assert len(convolutions) == 16 and not any(p.is_meta for p in features.parameters())
    for conv in convolutions:  # Kaiming normal over fan-out (He et al. 2015), zero bias
        fan_out = conv.out_channels * conv.kernel_size[0] * conv.kernel_size[1]
        assert float(conv.weight.std()) == pytest.approx((2 / fan_out) ** 0.5, rel=0.05)
        assert not conv.bias.any()


def test_vgg19_rejects_other_weight_names(torch_home):
    with pytest.raises(ValueError, match="'imagenet' or 'random'"):
        vgg19_features("places365")
