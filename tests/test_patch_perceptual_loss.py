"""The block-wise paper's patch perceptual loss is the `lpips` package's LPIPS on the hole's two patches,
and its backbone comes from torchvision's cache through the pretrained-network loader."""

from __future__ import annotations

from pathlib import Path

import lpips
import pytest
import torch
import torchvision

from lightning_modules.blockwise.patch_perceptual_loss import PatchPerceptualLoss, hole_box, zoomed
from utils.pretrained import WEIGHTS, MissingWeightsError, lpips_network


def test_equals_the_lpips_package_on_the_same_crops_with_the_same_weights():
    torch.manual_seed(0)
    loss = PatchPerceptualLoss(backbone_weights="random", context_scale=2.0)
    reference = lpips.LPIPS(net="alex", pnet_rand=True, verbose=False)
    reference.load_state_dict(
        loss.lpips.state_dict()
    )  # the same random backbone, the package's linear layers
    output, target = torch.rand(2, 3, 96, 96) * 2 - 1, torch.rand(2, 3, 96, 96) * 2 - 1
    mask = torch.zeros(2, 1, 96, 96)
    mask[0, :, 10:30, 20:60] = 1  # one hole
    mask[1, :, 40:50, 5:15] = 1  # two holes: their bounding box is the patch
    mask[1, :, 60:80, 30:45] = 1
    # by hand: the hole boxes, and boxes twice their sides around them; each at least 32 px, centred,
    # shifted into the image
    patches = [
        [(4, 20, 36, 60), (0, 0, 40, 80)],  # rows 10:30 grow to 32 px (the minimum) about their centre
        [(40, 5, 80, 45), (16, 0, 96, 80)],  # the zoomed-out box shifted up and right to fit the image
    ]
    assert loss.patches(mask) == patches
    expected = (
        sum(
            reference(output[i : i + 1, :, t:b, x:r], target[i : i + 1, :, t:b, x:r]).sum()
            for i, boxes in enumerate(patches)
            for t, x, b, r in boxes
        )
        / 2
    )
    assert torch.allclose(loss(output, target, mask), expected, atol=1e-6)
    # differentiable w.r.t. the output, as a generator loss must be
    output.requires_grad_(True)
    loss(output, target, mask).backward()
    assert output.grad is not None and output.grad.abs().sum() > 0


def test_the_linear_layers_are_the_lpips_package_s_learned_weights():
    """§3.2: LPIPS' learned linear weights w_l of eq. 2, exactly the file the `lpips` package ships."""
    shipped = torch.load(
        Path(lpips.__file__).parent / "weights" / "v0.1" / "alex.pth", map_location="cpu", weights_only=True
    )
    loss = PatchPerceptualLoss(backbone_weights="random")
    layers = loss.lpips.state_dict()
    assert sorted(shipped) == [f"lin{i}.model.1.weight" for i in range(5)]  # one per AlexNet layer
    for key, value in shipped.items():
        assert torch.equal(layers[key], value), key
        assert not torch.equal(value, torch.ones_like(value))  # learned, not an unweighted sum


def test_hole_box_and_zoomed_patch():
    mask = torch.zeros(1, 64, 64)
    mask[:, 5:9, 50:60] = 1
    assert hole_box(mask > 0) == (5, 50, 9, 60)
    assert zoomed((5, 50, 9, 60), 2.0, 64, 64) == (0, 32, 32, 64)  # grown to 32 px and shifted inside


def test_the_backbone_is_torchvision_s_cached_alexnet(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    with pytest.raises(MissingWeightsError, match=WEIGHTS["alexnet"].file_name):
        lpips_network("alex", "imagenet")
    cache = tmp_path / "hub" / "checkpoints"
    cache.mkdir(parents=True)
    alexnet = torchvision.models.alexnet(weights=None)  # stands in for the ImageNet file (not hash-checked)
    torch.save(alexnet.state_dict(), cache / WEIGHTS["alexnet"].file_name)
    network = lpips_network("alex", "imagenet")
    assert torch.equal(network.net.slice1[0].weight, alexnet.features[0].weight)
    assert torch.equal(getattr(network.net.slice5, "10").bias, alexnet.features[10].bias)
    assert not any(p.requires_grad for p in network.parameters())
