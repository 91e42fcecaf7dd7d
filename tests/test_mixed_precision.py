"""Under `trainer.precision=bf16-mixed` the terms that need float32 keep it (conf/model_base/gan.yaml):
spectral norm's power iteration, WGAN-GP's gradient penalty, ID-MRF's relative distances, and the
per-image colorization fits, whose precision is their own setting. CPU autocast casts convolutions and
matrix products to bf16 (CUDA's also `mv`), so each check runs under it."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from datamodules.datasets.synthetic import SyntheticTextures
from lightning_modules.colorization.color_conversions import to_gray
from lightning_modules.colorization.progressive_colorization import ProgressiveColorization
from lightning_modules.common.spectral_norm import spectral_norm
from lightning_modules.deepgin.self_attention import SelfAttention
from lightning_modules.gmcnn import id_mrf
from lightning_modules.hifill.module import gradient_penalty

BF16 = {"device_type": "cpu", "dtype": torch.bfloat16}


def autocast_state_in(monkeypatch, module, name: str) -> list[tuple[bool, torch.dtype]]:
    """Records, at each call of module.name, whether autocast was on and its first argument's dtype."""
    calls, original = [], getattr(module, name)

    def spy(*args, **kwargs):
        calls.append((torch.is_autocast_enabled("cpu"), args[0].dtype))
        return original(*args, **kwargs)

    monkeypatch.setattr(module, name, spy)
    return calls


def test_spectral_norm_power_iteration_runs_outside_autocast(monkeypatch):
    """Every product of the power iteration and of σ runs with autocast off, in float32 (torch's own
    parametrization runs them under it, which on CUDA means bf16); the layer itself still runs in bf16,
    σ and the state-dict keys are torch's."""
    torch.manual_seed(0)
    ours = spectral_norm(nn.Conv2d(3, 8, 3))
    torch.manual_seed(0)
    torchs = nn.utils.parametrizations.spectral_norm(nn.Conv2d(3, 8, 3))
    assert ours.state_dict().keys() == torchs.state_dict().keys()
    x = torch.randn(2, 3, 16, 16)
    calls = autocast_state_in(monkeypatch, torch, "mv")
    with torch.autocast(**BF16):
        output = ours(x)
    assert output.dtype == torch.bfloat16
    assert calls and all(state == (False, torch.float32) for state in calls), calls
    calls.clear()
    with torch.autocast(**BF16):
        torchs(x)
    assert all(enabled for enabled, _ in calls)  # what the wrapper changes
    torch.testing.assert_close(ours.weight, torchs.weight)


def critic() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(3, 16, 3, 2), nn.ELU(), nn.Conv2d(16, 16, 3, 2), nn.Flatten(), nn.Linear(16 * 7 * 7, 1)
    )


@pytest.fixture
def real_and_fake() -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    return torch.rand(2, 3, 32, 32, generator=generator), torch.rand(2, 3, 32, 32, generator=generator)


def test_gradient_penalty_is_float32_under_bf16_autocast(real_and_fake):
    """The penalty under bf16 autocast equals the float32 one: the critic's forward and double backward
    run in float32 (bf16 gradients would move ‖∇D‖ by about 1%)."""
    network = critic()
    real, fake = real_and_fake
    torch.manual_seed(1)
    float32 = gradient_penalty(network, real, fake)
    torch.manual_seed(1)
    with torch.autocast(**BF16):
        mixed = gradient_penalty(network, real.bfloat16(), fake.bfloat16())
    assert mixed.dtype == torch.float32
    # the inputs rounded to bf16 are all that differs
    torch.manual_seed(1)
    rounded = gradient_penalty(network, real.bfloat16().float(), fake.bfloat16().float())
    torch.testing.assert_close(mixed, rounded, rtol=1e-6, atol=1e-7)
    torch.testing.assert_close(mixed, float32, rtol=1e-2, atol=1e-4)


def test_gradient_penalty_runs_through_a_compiled_critic(real_and_fake):
    """A compiled graph has no double backward: the penalty's critic runs eagerly, so model.compile works
    with WGAN-GP, and gives the eager penalty and its gradient."""
    eager, compiled = critic(), critic()
    real, fake = real_and_fake
    compiled.compile()
    penalties = []
    for network in (eager, compiled):
        torch.manual_seed(1)
        penalty = gradient_penalty(network, real, fake)
        penalty.backward()
        penalties.append((penalty, network[0].weight.grad))
    torch.testing.assert_close(penalties[0], penalties[1])


def test_id_mrf_relative_distances_are_float32_under_autocast(monkeypatch):
    loss = id_mrf.IDMRFLoss(weights="random")
    calls = autocast_state_in(monkeypatch, id_mrf, "mrf_loss")
    images = torch.rand(2, 2, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    with torch.autocast(**BF16):
        value = loss(images[0], images[1])
    assert value.dtype == torch.float32 and value.isfinite()
    assert len(calls) == 3 and all(state == (False, torch.float32) for state in calls), calls


def test_colorization_keeps_its_own_precision_inside_bf16_autocast():
    """Test and predict run under the trainer's autocast; the per-image fits ignore it: float32 unless
    colorization.precision asks for bf16."""
    images = torch.stack([SyntheticTextures(size=(16, 16)).split("val").load(i) for i in range(2)])
    mask = torch.zeros(2, 1, 16, 16)
    mask[..., 4:12, 4:12] = 1
    colorization = ProgressiveColorization(num_blocks=1, channels=8, iterations=(10, 10, 10))
    float32 = colorization(to_gray(images), images, mask)
    with torch.autocast(**BF16):
        inside = colorization(to_gray(images), images, mask)
    torch.testing.assert_close(inside, float32, rtol=0, atol=0)


def test_deepgin_attention_logits_are_float32_under_autocast(monkeypatch):
    """DeepGIN's self-attention logits are unscaled (up to about 1e3): their softmax sees float32."""
    attention = SelfAttention(16)
    calls = autocast_state_in(monkeypatch, torch, "softmax")
    with torch.autocast(**BF16):
        output = attention(torch.randn(1, 16, 8, 8))
    assert output.isfinite().all()
    assert calls == [(True, torch.float32)], calls
