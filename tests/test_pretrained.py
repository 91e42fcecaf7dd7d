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
    vgg19,
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
        vgg19()


def test_vgg19_loads_a_cached_file_without_network(torch_home, no_network):
    state_dict = torchvision.models.vgg19(weights=None).state_dict()
    torch.save(state_dict, torch_home / "hub" / "checkpoints" / "vgg19-dcbb9e9d.pth")
    model = vgg19("imagenet")
    loaded = model.state_dict()
    assert loaded.keys() == state_dict.keys()
    assert all(torch.equal(loaded[key], value) for key, value in state_dict.items())
    assert not any(p.is_meta for p in model.parameters())
    assert model.features(torch.rand(1, 3, 32, 32)).shape == (1, 512, 1, 1)


def test_vgg19_random_by_name_warns(torch_home, no_network, caplog):
    with caplog.at_level(logging.WARNING, logger="utils.pretrained"):
        model = vgg19("random")
    assert isinstance(model, torchvision.models.VGG)
    assert "not comparable" in caplog.text


def test_vgg19_rejects_other_weight_names(torch_home):
    with pytest.raises(ValueError, match="'imagenet' or 'random'"):
        vgg19("places365")
