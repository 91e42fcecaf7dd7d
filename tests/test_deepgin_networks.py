"""DeepGIN networks: Table 1's parameter counts, shapes and ranges, SPD / self-attention / back projection."""

from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F

from lightning_modules.deepgin.discriminator import DeepGINDiscriminator
from lightning_modules.deepgin.generator import (
    TABLE1_VARIANTS,
    DeepGINGenerator,
    _straight_through_clamp,
    init_weights,
    resize4,
)
from lightning_modules.deepgin.self_attention import SelfAttention
from lightning_modules.deepgin.spd_block import SPD8, SPDResBlock

WIDTH = 4  # 1/8 of the published width: fast on CPU, every layer kept


def num_params(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def full_size(**kwargs) -> DeepGINGenerator:
    with torch.device("meta"):  # shapes only: no memory, no init cost
        return DeepGINGenerator(**kwargs)


@pytest.mark.parametrize("row", list(TABLE1_VARIANTS))
def test_parameter_counts_match_table_1(row: str) -> None:
    kwargs, published = TABLE1_VARIANTS[row]
    count = num_params(full_size(**kwargs))
    print(f"{row}: {count:,} parameters (published {published / 1e6:.3f}M)")
    assert abs(count - published) / published < 0.01
    assert round(count / 1e6, 3) == round(published / 1e6, 3)  # in fact equal to the printed digits


def test_block_types_have_equal_parameter_counts() -> None:
    counts = {block: num_params(full_size(block=block)) for block in ("spd", "dilated", "standard")}
    assert len(set(counts.values())) == 1, counts


def test_monochromic_variant_changes_only_the_image_convs() -> None:
    # RGB + gray + mask in (5), gray out (1); G2 sees gray + mask (2). Published width 32:
    delta = (
        +1 * 32 * 49  # G1 input conv 7x7: one more input channel
        - 2 * 32 * 49  # G2 input conv 7x7: 2 instead of 4 channels
        - 2 * 2 * (32 * 49 + 1)  # G1 and G2 output convs 7x7: 1 instead of 3 channels
        - 2 * (32 * 9 + 1)  # low-resolution head output conv 3x3
    )
    full = num_params(full_size())
    assert num_params(full_size(in_channels=5, out_channels=1)) == full + delta
    generator = DeepGINGenerator(in_channels=5, out_channels=1, width=WIDTH).eval()
    rgb, mask = torch.rand(1, 3, 32, 32), hole_mask(1, 32)
    gray = 0.30 * rgb[:, :1] + 0.59 * rgb[:, 1:2] + 0.11 * rgb[:, 2:]
    x = torch.cat([rgb * (1 - mask) + mask, gray * (1 - mask) + mask, mask], dim=1)
    with torch.no_grad():
        coarse, refined, low_res = generator(x, mask, known=gray)
    assert coarse.shape == refined.shape == (1, 1, 32, 32) and low_res.shape == (1, 1, 8, 8)


# --- generator behaviour at a small width ---


def hole_mask(batch: int, size: int) -> torch.Tensor:
    mask = torch.zeros(batch, 1, size, size)
    for n in range(batch):
        mask[n, :, size // 4 + 4 * n : size // 2 + 4 * n, size // 3 :] = 1
    return mask


def deepgin_input(image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """The authors' layout: holes filled with 1, then the mask."""
    return torch.cat([image * (1 - mask) + mask, mask], dim=1)


@pytest.mark.parametrize("row", ["StdResBlk (Coarse only)", "StdResBlk-SA", "SPDResBlk-MSSA-BP"])
def test_outputs_have_the_right_shapes_and_range(row: str) -> None:
    torch.manual_seed(0)
    kwargs, _ = TABLE1_VARIANTS[row]
    generator = DeepGINGenerator(width=WIDTH, **kwargs)
    with torch.no_grad():  # large weights push the linear outputs well outside [0, 1] before the clamp
        for p in generator.parameters():
            p.mul_(30)
    image, mask = torch.rand(2, 3, 64, 64), hole_mask(2, 64)
    coarse, refined, low_res = generator(deepgin_input(image, mask), mask)
    outputs = {"coarse": coarse, "refined": refined, "low_res": low_res}
    shapes = {"coarse": (2, 3, 64, 64), "refined": (2, 3, 64, 64), "low_res": (2, 3, 16, 16)}
    if not kwargs.get("refine", True):
        del shapes["refined"], shapes["low_res"]
    elif not kwargs.get("back_projection", True):
        del shapes["low_res"]
    for name, output in outputs.items():
        if name not in shapes:
            assert output is None, name
            continue
        assert output.shape == shapes[name], name
        assert torch.isfinite(output).all() and output.min() >= 0 and output.max() <= 1, name
        assert 0 < output.mean() < 1  # some pixels clamped, not all

    generator.clamp_output = False  # the authors' unbounded outputs
    raw, _, _ = generator(deepgin_input(image, mask), mask)
    assert raw.min() < 0 or raw.max() > 1


def test_straight_through_clamp_passes_gradients() -> None:
    x = torch.tensor([-0.5, 0.25, 1.5], requires_grad=True)
    y = _straight_through_clamp(x)
    y.sum().backward()
    assert y.tolist() == [0.0, 0.25, 1.0]
    assert x.grad.tolist() == [1.0, 1.0, 1.0]


def test_rejects_sizes_that_are_not_multiples_of_16() -> None:
    assert DeepGINGenerator.size_multiple == 16
    with pytest.raises(ValueError, match="multiples of 16"):
        DeepGINGenerator(width=WIDTH)(torch.zeros(1, 4, 56, 64), torch.zeros(1, 1, 56, 64))


def test_refinement_sees_only_known_pixels_and_the_coarse_hole() -> None:
    torch.manual_seed(0)
    generator = DeepGINGenerator(width=WIDTH).eval()
    image, mask = torch.rand(1, 3, 32, 32), hole_mask(1, 32)
    x = deepgin_input(image, mask)
    with torch.no_grad():
        outputs = generator(x, mask, known=image)
        hole_changed = generator(x, mask, known=image + 5 * mask)
        known_changed = generator(x, mask, known=image * 0.5)
    for a, b in zip(outputs, hole_changed):
        torch.testing.assert_close(a, b)
    assert not torch.allclose(outputs[1], known_changed[1])


def test_back_projection_with_zero_alpha_pastes_the_known_pixels_only() -> None:
    # alpha -> 0: I_out is G2's image with the known pixels pasted in, the low-resolution residual unused.
    torch.manual_seed(0)
    with_bp = DeepGINGenerator(width=WIDTH).eval()
    without_bp = DeepGINGenerator(width=WIDTH, back_projection=False).eval()
    missing, unexpected = without_bp.load_state_dict(with_bp.state_dict(), strict=False)
    assert not missing and all(k.startswith(("refine.low_res_head", "refine.alpha")) for k in unexpected)
    image, mask = torch.rand(2, 3, 64, 64), hole_mask(2, 64)
    x = deepgin_input(image, mask)
    with torch.no_grad():
        with_bp.refine.alpha[0].bias.fill_(-1e4)
        _, refined, low_res = with_bp(x, mask, known=image)
        _, plain, _ = without_bp(x, mask, known=image)
        torch.testing.assert_close(refined, plain * mask + image * (1 - mask))

        # alpha -> 1 adds the whole upsampled residual: I_out moves towards I_lr on the low-res grid.
        with_bp.refine.alpha[0].bias.fill_(1e4)
        _, corrected, _ = with_bp(x, mask, known=image)
    before = (resize4(refined) - low_res).abs().mean()
    after = (resize4(corrected) - low_res).abs().mean()
    assert after < 0.5 * before


def test_every_parameter_gets_a_gradient() -> None:
    # DDP needs no unused parameters; with the attention outputs off zero, every gradient is non-zero.
    torch.manual_seed(0)
    generator = DeepGINGenerator(width=WIDTH)
    image, mask = torch.rand(2, 3, 32, 32), hole_mask(2, 32)

    def backward() -> None:
        generator.zero_grad(set_to_none=True)
        coarse, refined, low_res = generator(deepgin_input(image, mask), mask)
        loss = (coarse - image).abs().mean() + (refined - image).abs().mean()
        (loss + (low_res - resize4(image)).abs().mean()).backward()

    backward()
    assert all(p.grad is not None for p in generator.parameters())
    with torch.no_grad():
        for m in generator.modules():
            if isinstance(m, SelfAttention):
                m.out.weight.normal_(0, 0.1)
    backward()
    for name, p in generator.named_parameters():
        assert torch.isfinite(p.grad).all() and p.grad.abs().sum() > 0, name


def test_init_is_scaled_kaiming_with_zero_biases_and_zero_attention_outputs() -> None:
    torch.manual_seed(0)
    generator = DeepGINGenerator(width=WIDTH)
    conv = generator.refine.bottleneck[0].fuse  # 16 * WIDTH channels, 3x3
    expected_std = 0.1 * (2 / (conv.in_channels * 9)) ** 0.5
    assert abs(conv.weight.std() / expected_std - 1) < 0.05
    assert all((m.bias == 0).all() for m in generator.modules() if isinstance(m, torch.nn.Conv2d))
    attention = [m for m in generator.modules() if isinstance(m, SelfAttention)]
    assert len(attention) == 3 and all((m.out.weight == 0).all() for m in attention)


# --- building blocks ---


def test_self_attention_starts_as_identity() -> None:
    torch.manual_seed(0)
    x = torch.randn(2, 6, 5, 7)
    attention = SelfAttention(6)
    init_weights(attention)
    torch.testing.assert_close(attention(x), x, rtol=0, atol=0)


def reference_non_local(attention: SelfAttention, x: torch.Tensor) -> torch.Tensor:
    """[29] eq. (3) written out in float64: every position attends to all H*W positions (no mask, no 1/sqrt(d)),
    softmax as exp / sum."""
    module = copy.deepcopy(attention).double()
    x = x.double()
    theta, phi, g = (conv(x).flatten(2) for conv in (module.theta, module.phi, module.g))  # B x C' x HW
    logits = torch.einsum("bci,bcj->bij", theta, phi)
    weights = (logits - logits.amax(-1, keepdim=True)).exp()
    weights = weights / weights.sum(-1, keepdim=True)
    y = torch.einsum("bij,bcj->bci", weights, g).reshape(x.shape[0], -1, *x.shape[2:])
    return x + module.out(y)


@pytest.mark.parametrize("channels_last", [False, True])
def test_self_attention_equals_the_direct_computation(channels_last: bool) -> None:
    # Random weights and features, with a hole filled with a constant (as the generator's input holes are):
    # hole positions attend and are attended to like any other, the paper's non-local block has no mask.
    torch.manual_seed(0)
    attention = SelfAttention(8)
    for conv in (attention.theta, attention.phi, attention.g, attention.out):
        torch.nn.init.normal_(conv.weight, std=0.3)  # logits up to about 10: peaked rows, O(1) outputs
        torch.nn.init.normal_(conv.bias, std=0.3)
    x = torch.randn(2, 8, 12, 20)
    x[..., 3:9, 5:15] = 1.0
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
        attention = attention.to(memory_format=torch.channels_last)
    expected = reference_non_local(attention, x)
    assert (expected - x).abs().amax() > 0.1  # the attention output matters
    torch.testing.assert_close(attention(x), expected.float(), rtol=0, atol=1e-5)


def test_self_attention_compiles_as_one_graph() -> None:
    # torch.compile (model.compile=true) traces the block without graph breaks; the eager backend compiles
    # nothing, so this checks the tracing alone.
    torch.manual_seed(0)
    attention = SelfAttention(6)
    torch.nn.init.normal_(attention.out.weight)
    x = torch.randn(2, 6, 8, 8)
    compiled = torch.compile(attention, backend="eager", fullgraph=True)
    torch.testing.assert_close(compiled(x), attention(x))


def test_in_place_activations_keep_outputs_and_gradients() -> None:
    # The in-place (Leaky)ReLUs act on conv outputs only, which no backward needs: the same values and
    # gradients as out-of-place ones, and autograd's version check would fail the backward otherwise.
    torch.manual_seed(0)
    generator, discriminator = DeepGINGenerator(width=WIDTH), DeepGINDiscriminator(in_channels=6, ndf=8)
    with torch.no_grad():
        for m in generator.modules():
            if isinstance(m, SelfAttention):
                m.out.weight.normal_(0, 0.1)
    image, mask = torch.rand(2, 3, 32, 32), hole_mask(2, 32)

    def run(g: torch.nn.Module, d: torch.nn.Module) -> list[torch.Tensor]:
        coarse, refined, low_res = g(deepgin_input(image, mask), mask)
        logits = d(torch.cat([image * (1 - mask) + mask, refined], dim=1))
        loss = sum(o.square().mean() for o in (coarse, refined, low_res, *logits))
        loss.backward()
        return [coarse, refined, low_res, *logits] + [p.grad for p in (*g.parameters(), *d.parameters())]

    out_of_place = copy.deepcopy((generator, discriminator))
    in_place = [m for net in out_of_place for m in net.modules() if getattr(m, "inplace", False)]
    # the SPD branches' ReLUs (G1, G2), the LeakyReLUs of G1, G2 and of D's two scales
    assert len(in_place) == 6 * 8 + 6 * 4 + 7 + 14 + 2 * 3
    for m in in_place:
        m.inplace = False
    for a, b in zip(run(generator, discriminator), run(*out_of_place), strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_spd_block_splits_channels_across_dilations() -> None:
    block = SPDResBlock(16, SPD8)
    assert [b[0].dilation[0] for b in block.branches] == list(SPD8)
    assert all(b[0].out_channels == 2 for b in block.branches)
    with pytest.raises(ValueError, match="equal branches"):
        SPDResBlock(12, SPD8)


def test_one_branch_block_is_a_standard_resnet_block() -> None:
    torch.manual_seed(0)
    block = SPDResBlock(8, (1,))
    x = torch.randn(1, 8, 9, 9)
    conv1, conv2 = block.branches[0][0], block.fuse
    pad = (1, 1, 1, 1)
    hidden = F.relu(F.conv2d(F.pad(x, pad, mode="replicate"), conv1.weight, conv1.bias))
    expected = x + F.conv2d(F.pad(hidden, pad, mode="replicate"), conv2.weight, conv2.bias)
    torch.testing.assert_close(block(x), expected)


def test_discriminator_judges_two_scales() -> None:
    discriminator = DeepGINDiscriminator(in_channels=6, ndf=8)
    convs = [m for m in discriminator.modules() if isinstance(m, torch.nn.Conv2d)]
    assert len(convs) == 8 and all(hasattr(c, "parametrizations") for c in convs)  # spectral norm
    outputs = discriminator(torch.randn(2, 6, 64, 96))
    # 4x4 convs with padding 2: stride 2, 2, 1, 1 give H/4 + 3; the second scale sees H/2.
    assert [tuple(o.shape) for o in outputs] == [(2, 32, 19, 27), (2, 32, 11, 15)]
    assert num_params(DeepGINDiscriminator()) == 2 * (6208 + 131200 + 524544 + 1048832)
