"""DeepFill v2 networks: sizes as published, contextual attention against a brute-force reference."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from lightning_modules.common.contextual_attention import ContextualAttention, tf_nearest_indices
from lightning_modules.common.gated_conv import GatedConv2d, GatedUpConv
from lightning_modules.common.hinge_loss import hinge_d_loss, hinge_g_loss
from lightning_modules.common.sn_patchgan import SNPatchGANDiscriminator
from lightning_modules.gatedconv.generator import DeepFillV2Generator

RATE = 2


def num_params(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


@pytest.mark.parametrize(
    ("name", "published"),
    [("generator", 4.05e6), ("coarse", 1.63e6), ("refine", 2.42e6), ("discriminator", 5.95e6)],
)
def test_parameter_counts_match_the_published_figures(name: str, published: float) -> None:
    generator = DeepFillV2Generator()
    modules = {
        "generator": generator,
        "coarse": generator.coarse,
        "refine": generator.refine,
        "discriminator": SNPatchGANDiscriminator(),
    }
    count = num_params(modules[name])
    print(f"{name}: {count:,} parameters (published {published / 1e6:.2f}M)")
    assert abs(count - published) / published < 0.01


# --- brute-force contextual attention: explicit loops over samples and positions, numpy float64 ---


def grid_patch(grid: np.ndarray, i: int, j: int, k: int = 3) -> np.ndarray:
    """The k x k patch of a C x h x w grid centred on (i, j), zeros outside."""
    channels, height, width = grid.shape
    patch = np.zeros((channels, k, k))
    for di in range(k):
        for dj in range(k):
            y, x = i + di - k // 2, j + dj - k // 2
            if 0 <= y < height and 0 <= x < width:
                patch[:, di, dj] = grid[:, y, x]
    return patch


def known_patches(mask: np.ndarray, grid_size: tuple[int, int], k: int = 3) -> np.ndarray:
    """For one 1 x H x W mask: which patches of the grid (row-major) have no missing pixel under them."""
    gh, gw = grid_size
    sy, sx = mask.shape[1] // gh, mask.shape[2] // gw
    hole = np.array(
        [[mask[0, i * sy : (i + 1) * sy, j * sx : (j + 1) * sx].any() for j in range(gw)] for i in range(gh)]
    )
    return np.array(
        [not grid_patch(hole[None].astype(float), i, j, k).any() for i in range(gh) for j in range(gw)]
    )


def fuse_along(scores: np.ndarray, bg_order: list, fg_order: list, bg_size: tuple, fg_size: tuple, k: int):
    """Sum scores[l + d, p + d] for |d| <= k // 2, with l and p counted in the given flattening orders."""
    bg_index = {
        cell: n for n, cell in enumerate((i, j) for i in range(bg_size[0]) for j in range(bg_size[1]))
    }
    fg_index = {
        cell: n for n, cell in enumerate((i, j) for i in range(fg_size[0]) for j in range(fg_size[1]))
    }
    fused = np.zeros_like(scores)
    for a, bg_cell in enumerate(bg_order):
        for b, fg_cell in enumerate(fg_order):
            for d in range(-(k // 2), k // 2 + 1):
                if 0 <= a + d < len(bg_order) and 0 <= b + d < len(fg_order):
                    neighbour = scores[bg_index[bg_order[a + d]], fg_index[fg_order[b + d]]]
                    fused[bg_index[bg_cell], fg_index[fg_cell]] += neighbour
    return fused


def reference_paste(attention: np.ndarray, background: np.ndarray, out_size: tuple[int, int]) -> np.ndarray:
    """For one sample: add each raw 2r x 2r background patch, weighted, where it was matched, then / 4."""
    channels, bh, bw = background.shape
    fh, fw = out_size[0] // RATE, out_size[1] // RATE
    r, pad = RATE, RATE // 2
    padded_bg = np.pad(background, ((0, 0), (pad, pad), (pad, pad)))
    out = np.zeros((channels, out_size[0] + 2 * pad, out_size[1] + 2 * pad))
    for l_row in range(bh // r):
        for l_col in range(bw // r):
            raw = padded_bg[:, l_row * r : l_row * r + 2 * r, l_col * r : l_col * r + 2 * r]
            for y in range(fh):
                for x in range(fw):
                    weight = attention[l_row * (bw // r) + l_col, y * fw + x]
                    out[:, y * r : y * r + 2 * r, x * r : x * r + 2 * r] += weight * raw
    return out[:, pad : pad + out_size[0], pad : pad + out_size[1]] / 4


def align_corners_rows(n_in: int, n_out: int) -> list[int]:
    """TF1's resize_nearest_neighbor(align_corners=True), as neuralgym's `resize` calls it: output i reads
    input round(i * (n_in - 1) / (n_out - 1))."""
    return [min(int(np.floor(i * (n_in - 1) / max(n_out - 1, 1) + 0.5)), n_in - 1) for i in range(n_out)]


def official_resize(grid: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    rows, cols = align_corners_rows(grid.shape[1], size[0]), align_corners_rows(grid.shape[2], size[1])
    return grid[:, rows][:, :, cols]


def reference_contextual_attention(
    foreground: torch.Tensor,
    background: torch.Tensor,
    mask: torch.Tensor,
    fuse_size: int,
    scale: float = 10.0,
    official: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """official: as the TF code (inpaint_ops.py contextual_attention): grids and mask by align-corners
    nearest resize (the mask to the features' size first, as resize_mask_like), hole scores zeroed before a
    softmax over every patch and their weights zeroed after it, no fallback."""
    fg_all, bg_all, mask_all = (t.double().numpy() for t in (foreground, background, mask))
    outputs, attentions = [], []
    for fg_full, bg_full, sample_mask in zip(fg_all, bg_all, mask_all):
        if official:
            fg = official_resize(fg_full, (fg_full.shape[1] // RATE, fg_full.shape[2] // RATE))
            bg = official_resize(bg_full, (bg_full.shape[1] // RATE, bg_full.shape[2] // RATE))
        else:
            fg, bg = fg_full[:, ::RATE, ::RATE], bg_full[:, ::RATE, ::RATE]
        fg_cells = [(i, j) for i in range(fg.shape[1]) for j in range(fg.shape[2])]
        bg_cells = [(i, j) for i in range(bg.shape[1]) for j in range(bg.shape[2])]
        scores = np.zeros((len(bg_cells), len(fg_cells)))
        for l_index, (i, j) in enumerate(bg_cells):
            patch = grid_patch(bg, i, j)
            patch = patch / max(np.sqrt((patch**2).sum()), 1e-4)
            for p_index, (y, x) in enumerate(fg_cells):
                scores[l_index, p_index] = (patch * grid_patch(fg, y, x)).sum()
        if fuse_size > 1:
            sizes = (bg.shape[1:], fg.shape[1:])
            scores = fuse_along(scores, bg_cells, fg_cells, *sizes, fuse_size)
            bg_column_major = sorted(bg_cells, key=lambda c: (c[1], c[0]))
            fg_column_major = sorted(fg_cells, key=lambda c: (c[1], c[0]))
            scores = fuse_along(scores, bg_column_major, fg_column_major, *sizes, fuse_size)
        attention = np.zeros_like(scores)
        if official:
            hole = official_resize(official_resize(sample_mask, bg_full.shape[1:]), bg.shape[1:])
            valid = np.array([not grid_patch(hole, i, j).any() for i, j in bg_cells])
            for p_index in range(len(fg_cells)):
                logits = scale * scores[:, p_index] * valid
                weights = np.exp(logits - logits.max())
                attention[:, p_index] = weights / weights.sum() * valid
        else:
            valid = known_patches(sample_mask, bg.shape[1:])
            if not valid.any():
                valid[:] = True
            for p_index in range(len(fg_cells)):
                logits = scale * scores[valid, p_index]
                weights = np.exp(logits - logits.max())
                attention[valid, p_index] = weights / weights.sum()
        outputs.append(reference_paste(attention, bg_full, fg_full.shape[1:]))
        attentions.append(attention)
    return np.stack(outputs), np.stack(attentions)


def features_and_masks(batch: int = 2, channels: int = 4, size: int = 16, seed: int = 0):
    """Features on a 1/4 grid of an image mask, as in the refine network; a different hole per sample."""
    gen = torch.Generator().manual_seed(seed)
    foreground = torch.randn(batch, channels, size, size, generator=gen)
    background = torch.randn(batch, channels, size, size, generator=gen)
    mask = torch.zeros(batch, 1, 4 * size, 4 * size)
    for n in range(batch):
        top, left = 8 + 12 * n, 20 - 6 * n
        mask[n, :, top : top + 24, left : left + 20] = 1
    return foreground, background, mask


@pytest.mark.parametrize("fuse_size", [1, 3])
def test_contextual_attention_equals_brute_force_reference(fuse_size: int) -> None:
    foreground, background, mask = features_and_masks()
    mask[1, :, 50, 3:30] = 1  # a thin stroke: must be caught although it falls between grid samples
    output, attention = ContextualAttention(fuse_size=fuse_size)(foreground, background, mask)
    expected_output, expected_attention = reference_contextual_attention(
        foreground, background, mask, fuse_size
    )
    np.testing.assert_allclose(attention.flatten(2).numpy(), expected_attention, atol=1e-5)
    np.testing.assert_allclose(output.numpy(), expected_output, atol=1e-5)


def test_attention_pastes_no_pixel_from_the_hole() -> None:
    # Self-attention as in DeepFill, with a distinctive value in the hole. Known patches next to a thin
    # stroke would carry it in their raw 4x4 border if the mask were subsampled instead of max-pooled.
    features, _, mask = features_and_masks()
    mask[0, :, 21, :] = 1  # one image row: feature row 5, which the rate-2 grid skips
    hole = F.max_pool2d(mask, 4)  # feature pixels whose image block touches the hole
    features = torch.where(hole.bool(), torch.full_like(features, 1e3), features)
    output, attention = ContextualAttention()(features, features, mask)

    for n in range(features.shape[0]):
        valid = known_patches(mask[n].numpy(), (8, 8))
        assert 0 < valid.sum() < valid.size
        assert (attention[n].flatten(1)[~torch.from_numpy(valid)] == 0).all()
        # Pasting with the returned weights from a background whose hole is zeroed gives the same output:
        # not one pasted pixel came from the hole.
        known_only = (features[n] * (1 - hole[n])).double().numpy()
        expected = reference_paste(attention[n].flatten(1).double().numpy(), known_only, (16, 16))
        np.testing.assert_allclose(output[n].numpy(), expected, atol=1e-4)


def test_each_sample_attends_under_its_own_mask() -> None:
    features, _, mask = features_and_masks(batch=3)
    attention_layer = ContextualAttention()
    output, _ = attention_layer(features, features, mask)
    for n in range(3):
        alone, _ = attention_layer(features[n : n + 1], features[n : n + 1], mask[n : n + 1])
        torch.testing.assert_close(output[n : n + 1], alone, atol=1e-5, rtol=0)

    other_mask = mask.clone()
    other_mask[0] = 0
    other_mask[0, :, 30:60, 0:40] = 1
    changed, _ = attention_layer(features, features, other_mask)
    torch.testing.assert_close(changed[1:], output[1:], atol=1e-6, rtol=0)
    assert not torch.allclose(changed[0], output[0], atol=1e-3)


def test_hole_covering_every_patch_falls_back_to_all_patches() -> None:
    features, _, _ = features_and_masks(batch=2)
    features.requires_grad_(True)
    attention_layer = ContextualAttention()
    output, _ = attention_layer(features, features, torch.ones(2, 1, 64, 64))
    output.sum().backward()
    assert torch.isfinite(output).all() and torch.isfinite(features.grad).all()
    unmasked, _ = attention_layer(features, features, torch.zeros(2, 1, 64, 64))
    torch.testing.assert_close(output, unmasked)


def test_tf_nearest_indices_are_those_of_tf_align_corners_resize() -> None:
    # read off TensorFlow 2.21's tf.compat.v1.image.resize_nearest_neighbor(align_corners=True)
    assert tf_nearest_indices(16, 8).tolist() == [0, 2, 4, 6, 9, 11, 13, 15]
    assert tf_nearest_indices(64, 32).tolist()[14:18] == [28, 30, 33, 35]
    assert tf_nearest_indices(256, 64).tolist()[9:13] == [36, 40, 45, 49]
    assert tf_nearest_indices(8, 16).tolist() == [0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7]
    for n_in, n_out in ((16, 8), (64, 32), (256, 64), (48, 12), (20, 40)):
        assert tf_nearest_indices(n_in, n_out).tolist() == align_corners_rows(n_in, n_out)


@pytest.mark.parametrize("fuse_size", [1, 3])
def test_official_code_attention_equals_the_brute_force_tf_reference(fuse_size: int) -> None:
    foreground, background, mask = features_and_masks()
    mask[1, :, 51, 3:30] = 1  # a thin stroke between the samples of the official nearest-neighbour grids
    layer = ContextualAttention(fuse_size=fuse_size, mode="official_code")
    output, attention = layer(foreground, background, mask)
    expected_output, expected_attention = reference_contextual_attention(
        foreground, background, mask, fuse_size, official=True
    )
    np.testing.assert_allclose(attention.flatten(2).numpy(), expected_attention, atol=1e-5)
    np.testing.assert_allclose(output.numpy(), expected_output, atol=1e-5)
    suite, _ = ContextualAttention(fuse_size=fuse_size)(foreground, background, mask)
    assert (suite - output).abs().max() > 1e-2  # the two modes do differ here


def test_official_code_attention_pastes_zeros_when_the_hole_covers_every_patch() -> None:
    features, _, _ = features_and_masks(batch=2)
    output, attention = ContextualAttention(mode="official_code")(
        features, features, torch.ones(2, 1, 64, 64)
    )
    assert (output == 0).all() and (attention == 0).all()


# --- gated convolution ---


def test_gate_closed_outputs_zero_and_gate_open_outputs_activated_features() -> None:
    torch.manual_seed(0)
    x = torch.randn(2, 3, 12, 12)
    conv = GatedConv2d(3, 4, 3, dilation=2)
    with torch.no_grad():
        conv.conv.bias[4:] = -1e4  # gate half of the single convolution
    assert (conv(x) == 0).all()

    with torch.no_grad():
        conv.conv.bias[4:] = 1e4
    features = F.conv2d(x, conv.conv.weight[:4], conv.conv.bias[:4], padding=2, dilation=2)
    torch.testing.assert_close(conv(x), F.elu(features))
    assert (conv(x) < 0).any()  # ELU keeps negative responses, unlike ReLU below

    relu = GatedConv2d(3, 4, 3, activation="relu")
    with torch.no_grad():
        relu.conv.bias[4:] = 1e4
    torch.testing.assert_close(
        relu(x), F.relu(F.conv2d(x, relu.conv.weight[:4], relu.conv.bias[:4], padding=1))
    )


def test_gate_scales_features_by_its_sigmoid() -> None:
    conv = GatedConv2d(1, 1, 1, activation=None)
    with torch.no_grad():
        conv.conv.weight.copy_(torch.tensor([2.0, 0.0]).view(2, 1, 1, 1))
        conv.conv.bias.copy_(torch.tensor([0.0, 0.5]))
    x = torch.full((1, 1, 2, 2), 3.0)
    torch.testing.assert_close(conv(x), 6.0 * torch.sigmoid(torch.tensor(0.5)).expand(1, 1, 2, 2))


def test_ungated_conv_is_a_plain_convolution_with_same_padding() -> None:
    x = torch.randn(1, 5, 9, 7)
    conv = GatedConv2d(5, 3, 5, dilation=3, activation=None, gated=False)
    assert conv.conv.out_channels == 3
    torch.testing.assert_close(conv(x), F.conv2d(x, conv.conv.weight, conv.conv.bias, padding=6, dilation=3))
    assert GatedConv2d(5, 3, 3, stride=2)(torch.randn(1, 5, 16, 24)).shape[-2:] == (8, 12)


def test_tf_same_padding_puts_the_odd_pixel_after_at_stride_2() -> None:
    x = torch.randn(1, 3, 16, 13)
    conv = GatedConv2d(3, 4, 3, stride=2, activation=None, gated=False, padding="tf_same")
    w, b = conv.conv.weight, conv.conv.bias
    # rows: 16 even, TF pads 0 above and 1 below; columns: 13 odd, 1 and 1 (as PyTorch's centered)
    torch.testing.assert_close(conv(x), F.conv2d(F.pad(x, (1, 1, 0, 1)), w, b, stride=2))
    centered = F.conv2d(x, w, b, stride=2, padding=1)
    assert conv(x).shape == centered.shape == (1, 4, 8, 7) and not torch.allclose(conv(x), centered)

    dilated = GatedConv2d(3, 4, 3, dilation=4, activation=None, gated=False, padding="tf_same")
    w, b = dilated.conv.weight, dilated.conv.bias  # stride 1: the same as centered
    torch.testing.assert_close(dilated(x), F.conv2d(x, w, b, padding=4, dilation=4))

    discriminator = SNPatchGANDiscriminator(cnum=8, padding="tf_same").eval()
    first = discriminator.layers[0]  # 5x5 stride 2 on 64: TF pads 1 above / left, 2 below / right
    x = torch.randn(1, 4, 64, 64)
    torch.testing.assert_close(first(x), F.conv2d(F.pad(x, (1, 2, 1, 2)), first.weight, first.bias, stride=2))
    assert discriminator(x).shape == SNPatchGANDiscriminator(cnum=8)(x).shape


def test_gated_conv_starts_like_tf_glorot_uniform_with_zero_bias() -> None:
    conv = GatedConv2d(16, 32, 3).conv
    bound = (6 / (16 * 9 + 64 * 9)) ** 0.5  # the gated conv is one 64-channel convolution
    assert conv.weight.abs().max() <= bound and conv.weight.abs().max() > 0.9 * bound
    assert (conv.bias == 0).all()


def test_gated_up_conv_is_nearest_upsampling_then_gated_conv() -> None:
    x = torch.randn(2, 4, 5, 6)
    up = GatedUpConv(4, 3)
    expected = up.conv(x.repeat_interleave(2, dim=2).repeat_interleave(2, dim=3))
    torch.testing.assert_close(up(x), expected)
    assert expected.shape == (2, 3, 10, 12)


# --- generator and discriminator ---


def deepfill_input(image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    return torch.cat([image * (1 - mask), torch.ones_like(mask), mask], dim=1)


@pytest.mark.parametrize("size", [(64, 64), (256, 256), (56, 88)])
def test_generator_outputs_images_in_tanh_range(size: tuple[int, int]) -> None:
    torch.manual_seed(0)
    image = torch.rand(2, 3, *size) * 2 - 1
    mask = torch.zeros(2, 1, *size)
    mask[0, :, size[0] // 4 : size[0] // 2, size[1] // 3 :] = 1
    mask[1, :, size[0] // 2 :, : size[1] // 2] = 1
    coarse, refined = DeepFillV2Generator(cnum=8)(deepfill_input(image, mask), mask)
    for output in (coarse, refined):
        assert output.shape == (2, 3, *size)
        assert torch.isfinite(output).all() and output.abs().max() <= 1


def test_generator_rejects_sizes_that_are_not_multiples_of_8() -> None:
    with pytest.raises(ValueError, match="multiples of 8"):
        DeepFillV2Generator(cnum=8)(torch.zeros(1, 5, 60, 64), torch.zeros(1, 1, 60, 64))


def test_refine_stage_starts_from_known_pixels_and_the_coarse_hole() -> None:
    # Monochromic-bottleneck layout: RGB + gray + ones + mask in, gray out; stage 2 pastes the coarse gray
    # into the known gray, so the known image's values inside the hole are never seen.
    torch.manual_seed(0)
    rgb = torch.rand(1, 3, 32, 32) * 2 - 1
    gray = 0.30 * rgb[:, :1] + 0.59 * rgb[:, 1:2] + 0.11 * rgb[:, 2:]
    mask = torch.zeros(1, 1, 32, 32)
    mask[..., 8:24, 8:20] = 1
    x = torch.cat([rgb * (1 - mask), gray * (1 - mask), torch.ones_like(mask), mask], dim=1)
    generator = DeepFillV2Generator(in_channels=6, out_channels=1, cnum=8).eval()
    with torch.no_grad():
        coarse, refined = generator(x, mask, known=gray)
        _, refined_hole_changed = generator(x, mask, known=gray + 5 * mask)
        _, refined_known_changed = generator(x, mask, known=gray + 0.5 * (1 - mask))
    assert coarse.shape == refined.shape == (1, 1, 32, 32)
    torch.testing.assert_close(refined_hole_changed, refined)
    assert not torch.allclose(refined_known_changed, refined)


def test_generator_backpropagates_to_both_stages() -> None:
    image, mask = torch.rand(1, 3, 32, 32) * 2 - 1, torch.zeros(1, 1, 32, 32)
    mask[..., 4:20, 10:28] = 1
    generator = DeepFillV2Generator(cnum=8)
    coarse, refined = generator(deepfill_input(image, mask), mask)
    ((coarse - image).abs().mean() + (refined - image).abs().mean()).backward()
    for stage in (generator.coarse, generator.refine):
        grads = [p.grad for p in stage.parameters()]
        assert all(g is not None and torch.isfinite(g).all() for g in grads)
        assert sum(g.abs().sum() for g in grads) > 0


def test_discriminator_flattens_a_patch_grid_per_sample() -> None:
    discriminator = SNPatchGANDiscriminator(cnum=8)
    logits = discriminator(torch.randn(3, 4, 128, 192))
    assert logits.shape == (3, 32 * 2 * 3)  # 4*cnum channels on a 1/64 grid


def test_spectral_norm_keeps_each_conv_at_unit_largest_singular_value() -> None:
    torch.manual_seed(0)
    discriminator = SNPatchGANDiscriminator(cnum=8).train()
    convs = [m for m in discriminator.modules() if isinstance(m, torch.nn.Conv2d)]
    assert len(convs) == 6
    with torch.no_grad():
        for conv in convs:  # as if training had grown the weights: only the normalization brings them to 1
            conv.parametrizations.weight.original.mul_(5)
    for _ in range(3):
        discriminator(torch.randn(2, 4, 64, 64))
    for conv in convs:
        with torch.no_grad():
            raw_sigma = torch.linalg.matrix_norm(conv.parametrizations.weight.original.flatten(1), ord=2)
            sigma = torch.linalg.matrix_norm(conv.weight.flatten(1), ord=2)
        assert raw_sigma > 3
        assert abs(sigma - 1) < 0.05, sigma  # one power iteration per pass: close, not exact


def test_hinge_losses() -> None:
    real, fake = torch.tensor([2.0, 0.5]), torch.tensor([-2.0, 0.5])
    # 0.5 * mean(relu(1 - real)) + 0.5 * mean(relu(1 + fake)) = 0.5 * 0.25 + 0.5 * 0.75
    torch.testing.assert_close(hinge_d_loss(real, fake), torch.tensor(0.5))
    torch.testing.assert_close(hinge_g_loss(fake), torch.tensor(0.75))
