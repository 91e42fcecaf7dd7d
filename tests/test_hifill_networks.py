"""HiFill's networks against the authors' TF code (duxingren14/Hifill-tensorflow): parameter counts from
the code's variable shapes, the TF layout details (SAME padding, TF 1.x bilinear resize), attention
transfer, and the loss terms `training_step` logs against a direct computation."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate

from lightning_modules.hifill.attention_transfer import attention_scores, transfer
from lightning_modules.hifill.light_weight_gated_conv import LWGC, same_padding, tf_resize_bilinear
from overfitting import fit_repeated

CONF = Path(__file__).resolve().parents[1] / "conf"


def tf_gated_conv(cin: int, cout: int, k: int, gate: str) -> int:
    """The variables of ops.py `gen_conv_gated_slice` (w, biases of name_feat; a k×k×cin×1 gate) or
    `gen_conv_gated_ds` (w, biases; pw 1×1×cin×cout and ds_biases)."""
    features = k * k * cin * cout + cout
    return features + (k * k * cin + 1 if gate == "sc" else cin * cout + cout)


def tf_generator_parameters(cin: int = 4, cout: int = 3, nc: int = 32) -> int:
    """model.py `build_generator` with config.yml (GEN_NC 32, IMG_SHAPE 512, BOTTLENECK_SIZE 64, coarse
    `slice`, refine `ds`), layer by layer; every kernel is 3×3 but the first."""
    coarse = [(cin, nc, 5), (nc, nc, 3), (nc, 2 * nc, 3)]  # c_en_down_128, c_en_conv_128, c_en_down_64
    coarse += [(2 * nc, 2 * nc, 3)] * (3 + 14 + 3)  # c_en_conv1-3_64, dilate_block d1-d14, c_de_conv1-3_64
    coarse += [(2 * nc, nc, 3), (nc, nc, 3), (nc, cout, 3)]  # c_de_up_128, c_de_conv_128, c_de_toRGB
    refine = [(cout + 1, 32, 3), (32, 32, 3), (32, 64, 3), (64, 64, 3), (64, 128, 3), (128, 128, 3)]
    refine += [(128, 128, 3)] * 5  # dilate_block2 d1, d2, d4, d8, d16
    refine += [(128, 128, 3), (256, 128, 3)]  # re_att_64_att1, _att3
    refine += [
        (128, 64, 3),
        (64, 64, 3),
        (64, 64, 3),
        (64, 64, 3),
    ]  # re_de_up__128, conv, re_de_att_128_1, _2
    refine += [(128, 32, 3), (32, 32, 3), (32, 32, 3), (32, 32, 3)]  # the same at 256
    refine += [(64, cout, 3)]  # re_de_toRGB__256
    return sum(tf_gated_conv(*layer, "sc") for layer in coarse) + sum(
        tf_gated_conv(*layer, "ds") for layer in refine
    )


def tf_discriminator_parameters(cin: int = 3, nc: int = 64, size: int = 512) -> int:
    """model.py `build_discriminator`: six 5×5 dis_conv, then tf.layers.dense of the flattened map."""
    widths = [cin, nc, 2 * nc, 4 * nc, 4 * nc, 4 * nc, 4 * nc]
    convs = sum(25 * a * b + b for a, b in zip(widths, widths[1:]))
    return convs + widths[-1] * (size // 64) ** 2 + 1


def compose_model(*overrides: str):
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        return instantiate(compose("train", overrides=["model=hifill", *overrides]).model)


def count(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def test_parameter_counts_equal_the_tf_code():
    model = compose_model()
    # 2,722,791 (paper: 2.7M): what the suite reports for `model=hifill`
    assert count(model.generator) == tf_generator_parameters() == 2_722_791
    assert count(model.discriminator) == tf_discriminator_parameters() == 5_961_601
    mono = compose_model("model.bottleneck=mono")  # RGB ⊕ gray in, gray out and judged
    assert count(mono.generator) == tf_generator_parameters(cin=5, cout=1)
    assert count(mono.discriminator) == tf_discriminator_parameters(cin=1)


def test_critic_initialization_is_the_tf_code_s():
    """ops.py dis_conv: truncated normal (std 0.05, cut at 2 std), zero bias; model.py tf.layers.dense:
    TF's default Glorot uniform kernel, zero bias (PyTorch's Linear default: bound 1/√fan_in, random bias)."""
    torch.manual_seed(0)
    critic = compose_model().discriminator
    for conv in critic.convs:
        assert conv.weight.abs().max() <= 0.1 and abs(conv.weight.std().item() - 0.05 * 0.88) < 0.003
        assert not conv.bias.any()
    weight, fan_in = critic.linear.weight, critic.linear.in_features
    bound = (6 / (fan_in + 1)) ** 0.5
    assert weight.abs().max() <= bound and weight.abs().max() > 0.95 * bound
    assert abs(weight.std().item() - bound / 3**0.5) < 0.02 * bound
    assert not critic.linear.bias.any()


def test_light_weight_gates_follow_the_code():
    sc, ds = LWGC(16, 32, 3, 2, gate="sc"), LWGC(16, 32, 3, 2, dilation=1, gate="ds")
    assert sc.gate.weight.shape == (1, 16, 3, 3) and ds.gate.weight.shape == (32, 16, 1, 1)
    for size, pad in ((8, (0, 1, 0, 1)), (9, (1, 1, 1, 1))):
        x = torch.randn(2, 16, size, size)
        # TF SAME at stride 2 (one pixel after on an even size, one each side on an odd one); the 1×1
        # gate is a stride-2 convolution, which samples the even pixels.
        gate = F.conv2d(x, ds.gate.weight, ds.gate.bias, stride=2)
        expected = torch.sigmoid(gate) * F.elu(ds.features(F.pad(x, pad)))
        torch.testing.assert_close(ds(x), expected)
    # NHWC weights, a batch of 2: oneDNN's strided 1×1 backward crashed here (CPU, torch 2.14)
    ds.to(memory_format=torch.channels_last)
    ds(torch.rand(2, 16, 64, 64, requires_grad=True)).sum().backward()
    assert same_padding(64, 5, 2) == (1, 2) and same_padding(64, 3, 1, dilation=4) == (4, 4)


def test_bilinear_resize_is_tf1_legacy():
    x = torch.tensor([0.0, 1.0, 2.0]).view(1, 1, 1, 3)
    assert tf_resize_bilinear(x, (1, 6)).flatten().tolist() == [0, 0.5, 1, 1.5, 2, 2]
    y = torch.arange(4.0).view(1, 1, 1, 4)
    assert tf_resize_bilinear(y, (1, 2)).flatten().tolist() == [0, 2]  # 2× down keeps even pixels


def test_attention_transfer_copies_the_attended_patches():
    source = torch.randn(1, 2, 8, 8)
    grid = (2, 2)
    scores = torch.zeros(1, 4, 4)
    scores[0, [0, 1, 2, 3], [3, 3, 0, 1]] = 1  # location p takes patch l
    out = transfer(source, scores, grid, kernel=4)  # disjoint 4×4 patches (residual aggregation)
    patch = source.unfold(2, 4, 4).unfold(3, 4, 4)  # 1×2×2×2×4×4
    assert torch.equal(out[..., :4, :4], patch[:, :, 1, 1]) and torch.equal(
        out[..., 4:, :4], patch[:, :, 0, 0]
    )
    assert torch.equal(out[..., :4, 4:], patch[:, :, 1, 1]) and torch.equal(
        out[..., 4:, 4:], patch[:, :, 0, 1]
    )


def test_attention_scores_use_only_known_patches():
    features = torch.randn(2, 8, 16, 16)
    mask = torch.zeros(2, 1, 64, 64)
    mask[0, :, :16] = 1  # the top grid row of sample 0 is missing (grid 8², 8 px per cell)
    scores = attention_scores(features, mask)
    assert scores.shape == (2, 64, 64)
    # patches touching the hole (its row and the next, by the 3×3 patch) get no weight
    assert scores[0, :, :16].abs().max() == 0 and scores[0, :, 16:].sum(1).min() > 0.99
    torch.testing.assert_close(scores[1].sum(1), torch.ones(64))


@pytest.mark.filterwarnings("ignore:You defined a `validation_step` but have no `val_dataloader`")
def test_logged_losses_equal_a_direct_computation():
    torch.manual_seed(0)
    model = compose_model(
        "model.generator.cnum=4",
        "model.discriminator.cnum=4",
        "model.generator.image_size=64",
        "model.generator.bottleneck_size=8",
        "model.generator.coarse_size=32",
    )
    image = torch.rand(2, 3, 64, 64)
    mask = torch.zeros(2, 1, 64, 64)
    mask[0, :, 10:30, 20:50], mask[1, :, 40:60, 5:25] = 1, 1
    before = copy.deepcopy(model)
    trainer = fit_repeated(model, {"image": image, "mask": mask}, 1)
    logged = trainer.callback_metrics

    coarse, refined, _ = before.generate(image, mask)
    target = image * 2 - 1
    c, r = (coarse - target).abs(), (refined - target).abs()
    hole = 1.2 * (c * mask).mean() + (r * mask).mean()
    valid = (1.2 * (c * (1 - mask)).mean() + (r * (1 - mask)).mean()) / (1 - mask).mean()
    torch.testing.assert_close(logged["train/hole_l1"], hole.detach())
    torch.testing.assert_close(logged["train/valid_l1"], valid.detach())
    total = 0.001 * logged["train/g_adv"] + 1.2 * hole + 1.2 * valid
    torch.testing.assert_close(logged["train/g_loss"], total.detach())
    assert trainer.global_step == 4  # three critic steps, one generator step
