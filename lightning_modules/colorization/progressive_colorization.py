"""Progressive color restoration (EII §3.3.2): a pyramid of per-image generators fitted coarse to fine.

Level 0 (coarsest) maps the gray image to RGB, G_0(I_0^g); level n maps gray ⊕ the bilinearly upsampled
output of level n-1 (eq. 2). Each level trains a fresh network with its own Adam on the image's known
pixels only (eq. 3), then colors the whole image, holes included: the color mapping learned internally is
applied to the missing region. With pyramid_height 1 this is "ours (base)" (§4.4.2, Table 3).

The whole batch is colorized at once, one independent network per image (colorization_network.py), on
the input's device, with no host synchronization inside the training loops. An image's result never
depends on the other images of its batch, and its networks start from the same weights in any batch.
Alone or at another batch position, though, the grouped convolutions round differently and training
amplifies rounding (Adam's first steps are about lr · sign(gradient), also for the biases BatchNorm
cancels, whose gradient is pure rounding): the result is another fit of the same image, bit-identical only
for the same batch layout on the same hardware.
"""

from __future__ import annotations

import inspect
import logging
import math
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager

import kornia
import torch
import torch.nn.functional as F
from torch import Tensor

from lightning_modules.colorization.chroma_refinement import refine_chroma
from lightning_modules.colorization.color_conversions import rgb_to_yiq, yiq_to_rgb
from lightning_modules.colorization.colorization_network import ColorizationNetwork, memory_format
from lightning_modules.colorization.colorizer import Colorizer, Hints

log = logging.getLogger(__name__)

LOSSES = {"l1": F.l1_loss, "mse": F.mse_loss}  # paper eq. 3: L1; public code: MSELoss
PRECISIONS = ("auto", "bf16", "32")
LR_DECAYS = ("none", "cosine")  # appendix A: a constant rate per level; cosine: this suite's option
# refine_chroma's settings at its defaults, with iterations 0: no refinement
REFINE_OFF = {
    name: 0 if name == "iterations" else inspect.signature(refine_chroma).parameters[name].default
    for name in ("iterations", "channels", "window", "lr", "samples")
}
FLAT_GRAY_RANGE = 1 / 512  # a gray image whose values span less than half an 8-bit step is constant

Level = tuple[Tensor, Tensor, Tensor, Tensor, Tensor]  # gray, image, hole, hint, hint_mask at one size

# Who shows the fits' progress (a progress bar): a batch's colorization can take minutes on CPU, inside
# one test or predict step whose own bar does not move meanwhile.
_progress_listeners: list[Callable[[str], None]] = []


@contextmanager
def progress_listener(listener: Callable[[str], None]) -> Iterator[None]:
    """Within the block, `listener` gets a line on every fit's level, iteration and known-pixel loss."""
    _progress_listeners.append(listener)
    try:
        yield
    finally:
        _progress_listeners.remove(listener)


def downscaled(level: Level, size: tuple[int, int]) -> Level:
    """A level at a smaller size. Gray and colors are box-filtered ("area"); a small pixel is a hole if any
    pixel in its box or touching it is one: the public code's 3×3 max-pooling of the hole (EII §3.3.2: no
    hole pixel may reach the loss), made symmetric and exact where boxes are not 2×2. A small pixel holds a
    hint if any pixel in its box does, with the mean color of the hints in its box, so that a one-pixel hint
    steers every level, not only the finest."""
    gray, image, hole, hint, hint_mask = level
    touching = F.max_pool2d(hole, 3, stride=1, padding=1)
    hints = Hints(hint, hint_mask).resized(size)
    return (
        F.interpolate(gray, size, mode="area"),
        F.interpolate(image, size, mode="area"),
        F.adaptive_max_pool2d(touching, size),
        hints.colors,
        hints.mask,
    )


GUIDED_AT = ("full", "fit")  # where guided_chroma estimates its local linear model


def check_guided_at(at: str) -> None:
    if at not in GUIDED_AT:
        raise ValueError(f"guided_at must be one of {GUIDED_AT}, got {at!r}")


def guided_chroma(colors: Tensor, gray: Tensor, radius: int, eps: float, at: str = "full") -> Tensor:
    """The chroma (YIQ's I and Q, with the EII gray as Y) of colors fitted at a low resolution, brought to
    the full-resolution gray's size through a guided filter's local linear model, chroma = a·gray + b (He et
    al. 2010), estimated where `at` says: "full": on the bilinearly upsampled chroma at full resolution
    (radius in full-resolution pixels); "fit": at the fit's own resolution against the gray downscaled as the
    fit saw it, with a and b then upsampled bilinearly and applied to the full-resolution gray (He & Sun
    2015's fast guided filter; radius in fit pixels), so the gray's detail finer than the fit reaches the
    chroma."""
    check_guided_at(at)
    chroma = rgb_to_yiq(colors)[:, 1:]
    if at == "full":
        chroma = F.interpolate(chroma, gray.shape[-2:], mode="bilinear", align_corners=False)
        return kornia.filters.guided_blur(gray, chroma, 2 * radius + 1, eps)
    # kornia's subsample option point-samples the full-resolution pair instead: the fit's gray is a box mean
    small = F.interpolate(gray, chroma.shape[-2:], mode="area")
    mean = lambda x: kornia.filters.box_blur(x, 2 * radius + 1, "reflect")  # noqa: E731
    mean_gray, mean_chroma = mean(small), mean(chroma)
    covariance = mean(small * chroma) - mean_gray * mean_chroma
    a = covariance / (mean(small.square()) - mean_gray.square() + eps)
    b = mean_chroma - a * mean_gray
    up = lambda x: F.interpolate(x, gray.shape[-2:], mode="bilinear", align_corners=False)  # noqa: E731
    return up(mean(a)) * gray + up(mean(b))  # each pixel: the mean of its windows' models


def with_known_chroma(chroma: Tensor, gray: Tensor, image: Tensor, hole: Tensor, spread: float) -> Tensor:
    """RGB with the gray as luminance: the known pixels keep their own chroma, and what `chroma` misses
    there is carried into the hole by a normalized Gaussian blur of `spread` px, fading where no known
    pixel is near."""
    known = 1 - hole
    truth = rgb_to_yiq(torch.where(known > 0, image, 0))[:, 1:]
    size = 2 * math.ceil(3 * spread) + 1
    blur = lambda x: kornia.filters.gaussian_blur2d(x, size, (spread, spread), "replicate")  # noqa: E731
    carried = blur((truth - chroma) * known) / (blur(known) + 1e-2)
    return yiq_to_rgb(gray, torch.where(known > 0, truth, chroma + carried))


def pyramid(
    gray: Tensor, image: Tensor, hole: Tensor, hint: Tensor, hint_mask: Tensor, height: int
) -> list[Level]:
    """`height` levels, coarsest first, each half the size of the next: int(H / 2^k) × int(W / 2^k) as in
    the public code, each downscaled from the next (`downscaled`)."""
    levels = [(gray, image, hole, hint, hint_mask)]
    for _ in range(height - 1):
        size = (levels[-1][0].shape[-2] // 2, levels[-1][0].shape[-1] // 2)
        if min(size) == 0:
            raise ValueError(f"a {height}-level pyramid needs images of at least {2 ** (height - 1)} pixels")
        levels.append(downscaled(levels[-1], size))
    return levels[::-1]


def palette_distance(colors: Tensor, image: Tensor, hole: Tensor) -> Tensor:
    """Per image, the mean distance (RGB, Euclidean) from each hole pixel's color to the nearest color among
    its known pixels; NaN for an image without hole or without known pixels. The premise of EII's internal
    stage is that the hole's colors come from the image's own known ones (§1: no colors that "do not conform
    to the color distribution of the test image"); a colorization inventing others scores high. Colors are
    compared at 8-bit precision, as saved, and deduplicated: the search runs over the image's palette."""
    distances = []
    for colors_i, image_i, hole_i in zip(colors, image, hole[:, 0] > 0, strict=True):
        known = torch.unique((image_i[:, ~hole_i].T * 255).round(), dim=0)
        queries, counts = torch.unique((colors_i[:, hole_i].T * 255).round(), dim=0, return_counts=True)
        if not len(known) or not len(queries):
            distances.append(colors.new_tensor(float("nan")))
            continue
        rows = max(1, 2**24 // len(known))  # bounds the distance matrix to 64 MiB
        nearest = torch.cat([torch.cdist(chunk, known).amin(dim=1) for chunk in queries.split(rows)])
        distances.append((nearest * counts).sum() / counts.sum() / 255)
    return torch.stack(distances)


class ProgressiveColorization(Colorizer):
    """EII's internal colorization. Defaults are the paper's (appendix A); conf/colorization/ has presets.

    pyramid_height: number of levels (scale factor 2); iterations, lrs: Adam steps and learning rate per
    level, coarsest first.
    min_level_size, lower_pyramids: the height by image size (appendix A). Set, the pyramid keeps only
    levels whose shorter side is at least min_level_size pixels (the paper's 3 levels on Places2's 256²
    images start at 64), and a pyramid of fewer levels trains with lower_pyramids[height] =
    {iterations, lrs}: the public code's set_pyramid_lr also has one schedule per height.
    num_blocks, channels: the ResNet generator of every level; loss: "l1" (paper)
    or "mse" (public code); precision: "32" (float32, as the paper and the public code), "bf16" (autocast on
    any device) or "auto" (bf16 on a CUDA device that supports it, else float32); seed: every image's networks start from the same weights, drawn from the
    seed whatever the batch.
    select_height: choose every image's height by its content too (appendix A: "based on the image size and
    image content"; the authors re-tuned it by eye when a result was not compelling). Every height from 1 to
    the size rule's colorizes the image, and the one whose hole colors lie closest to the image's known
    colors is kept (palette_distance; ties go to the lower height). Costs one fit per height.
    hint_weight: the loss weight of a user color hint's pixels (EII §4.5). A hint is a few pixels among
    thousands of known ones, and with the paper's L1 loss every pixel pulls equally hard, so an unweighted
    hint is averaged away; it is a known pixel all the same (the public code has no hints).
    fit_scale: the fits run on the image downscaled by this factor (this suite's speed-up, not the paper's:
    colour is low-frequency and the gray is known at full resolution), and guided_chroma brings their
    chroma back to full resolution on the full-resolution gray (guided_at: where its local linear model is
    estimated, "full" or "fit" resolution; guided_radius in that resolution's pixels, guided_eps in squared
    gray units, known_spread: how far the known pixels' own chroma reaches into the hole, in full-resolution
    px); 1: the paper's full-resolution fit. The height rule sees the fitted size. refine: with fit_scale
    below 1, a per-pixel network fitted on the known pixels at full resolution corrects the upsampled
    chroma (chroma_refinement.refine_chroma: iterations, channels, window, lr, samples; iterations 0: off).
    lr_decay: "none" (the paper's constant rate per level) or "cosine" (each level's rate decays to zero
    over its iterations, a speed option: the known-pixel loss is still falling at the paper's last step).
    report_every: iterations between progress reports (level, iteration, known-pixel loss) to the
    progress listeners; log_every_s: seconds between the same report in the log (each level's end is
    always logged).
    """

    def __init__(
        self,
        pyramid_height: int = 3,
        iterations: Sequence[int] = (500, 1000, 1000),
        lrs: Sequence[float] = (0.01, 0.005, 0.003),
        num_blocks: int = 9,
        channels: int = 32,
        loss: str = "l1",
        precision: str | int = "32",
        seed: int = 0,
        hint_weight: float = 100.0,
        min_level_size: int | None = None,
        lower_pyramids: Mapping[int, Mapping[str, Sequence]] | None = None,
        select_height: bool = False,
        fit_scale: float = 1.0,
        guided_radius: int = 2,
        guided_eps: float = 1e-4,
        known_spread: float = 4.0,
        guided_at: str = "full",
        refine: Mapping[str, float] | None = None,
        lr_decay: str = "none",
        report_every: int = 50,
        log_every_s: float = 30.0,
    ):
        if not 0 < fit_scale <= 1:
            raise ValueError(f"fit_scale must be in (0, 1], got {fit_scale}")
        self.fit_scale, self.guided_radius, self.guided_eps = fit_scale, guided_radius, guided_eps
        check_guided_at(guided_at)  # here, not after minutes of fitting
        self.known_spread, self.guided_at = known_spread, guided_at
        self.refine = {**REFINE_OFF, **(refine or {})}
        if set(self.refine) != set(REFINE_OFF):
            raise ValueError(f"refine takes {sorted(REFINE_OFF)}, got {sorted(self.refine)}")
        self.report_every, self.log_every_s = max(1, report_every), log_every_s
        self._last_log = -math.inf
        self.iterations, self.lrs = _schedule(pyramid_height, iterations, lrs)
        self.schedules = {pyramid_height: (self.iterations, self.lrs)}
        if min_level_size is not None or select_height:
            given = {int(height): plan for height, plan in (lower_pyramids or {}).items()}
            missing = sorted(set(range(1, pyramid_height)) - set(given))
            if (min_level_size is not None and min_level_size < 1) or missing:
                raise ValueError(
                    f"min_level_size={min_level_size}, select_height={select_height}: needs a positive size "
                    f"and lower_pyramids schedules for heights {missing}"
                )
            for height in range(1, pyramid_height):
                self.schedules[height] = _schedule(height, given[height]["iterations"], given[height]["lrs"])
        self.min_level_size, self.select_height = min_level_size, select_height
        if lr_decay not in LR_DECAYS:
            raise ValueError(f"lr_decay must be one of {LR_DECAYS}, got {lr_decay!r}")
        self.lr_decay = lr_decay
        if loss not in LOSSES:
            raise ValueError(f"loss must be one of {sorted(LOSSES)}, got {loss!r}")
        precision = str(precision)  # `colorization.precision=32` reaches here as an int
        if precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
        self.pyramid_height, self.num_blocks, self.channels = pyramid_height, num_blocks, channels
        self.loss, self.precision, self.seed, self.hint_weight = LOSSES[loss], precision, seed, hint_weight
        # the Table 3 column it is (conf/colorizer/)
        self.name = "ours_selected" if select_height else "ours_full" if pyramid_height > 1 else "ours_base"

    def height_for(self, height: int, width: int) -> int:
        """The pyramid height used for an image of this size."""
        if self.min_level_size is None:
            return self.pyramid_height
        fitting = 1 + int(math.floor(math.log2(max(1.0, min(height, width) / self.min_level_size))))
        return min(self.pyramid_height, fitting)

    def colorize(self, gray: Tensor, image: Tensor, mask: Tensor, hints: Hints | None = None) -> Tensor:
        if not (gray.shape[1], image.shape[1], mask.shape[1]) == (1, 3, 1):
            raise ValueError(
                f"need gray B×1, image B×3, mask B×1; got {gray.shape}, {image.shape}, {mask.shape}"
            )
        # Lightning's test loop runs under inference_mode, whose tensors cannot be saved for backward.
        with torch.inference_mode(False), torch.enable_grad():
            gray, image, mask = gray.float().clone(), image.float().clone(), mask.float().clone()
            hint = torch.zeros_like(image) if hints is None else hints.colors.float().clone()
            hint_mask = torch.zeros_like(mask) if hints is None else hints.mask.float().clone()
            # A network fed a constant image outputs one color, and trains unstably: every BatchNorm sees
            # zero variance and scales its gradient by 1/sqrt(eps), so Adam overflows within a few steps.
            # For such images (blank frames exist in Places2) the exact answer is the color minimizing the
            # loss over the known pixels.
            flat = (gray.amax(dim=(1, 2, 3)) - gray.amin(dim=(1, 2, 3))) < FLAT_GRAY_RANGE
            output = torch.empty_like(image)
            if flat.any():
                target, weight = self._targets(image[flat], mask[flat], hint[flat], hint_mask[flat])
                output[flat] = self._best_constant(target, weight)
            if not flat.all():
                keep = ~flat
                output[keep] = self._fit(gray[keep], image[keep], mask[keep], hint[keep], hint_mask[keep])
        bad = ~output.isfinite().flatten(1).all(dim=1)
        if bad.any():
            images = bad.nonzero().flatten().tolist()
            raise FloatingPointError(
                f"internal colorization diverged (non-finite colors) for images {images} of the batch; "
                "lower the learning rates (colorization.lrs) or set colorization.precision=32"
            )
        return output

    def _fit(self, gray: Tensor, image: Tensor, mask: Tensor, hint: Tensor, hint_mask: Tensor) -> Tensor:
        if self.fit_scale == 1:
            return self._fit_full(gray, image, mask, hint, hint_mask)
        size = tuple(max(1, round(side * self.fit_scale)) for side in gray.shape[-2:])
        colors = self._fit_full(*downscaled((gray, image, mask, hint, hint_mask), size))
        known_image, hole = Hints(hint, hint_mask).merge(image, mask)  # hints are known colors here
        chroma = guided_chroma(colors, gray, self.guided_radius, self.guided_eps, self.guided_at)
        if self.refine["iterations"]:
            chroma = refine_chroma(chroma, gray, known_image, hole, self.loss, **self.refine, seed=self.seed)
        return with_known_chroma(chroma, gray, known_image, hole, self.known_spread)

    def _fit_full(self, gray: Tensor, image: Tensor, mask: Tensor, hint: Tensor, hint_mask: Tensor) -> Tensor:
        largest = self.height_for(*gray.shape[-2:])
        if not self.select_height or largest == 1:
            log.info("colorizing %d images at pyramid height %d", len(gray), largest)
            return self._fit_pyramid(gray, image, mask, hint, hint_mask, largest)
        candidates = torch.stack(
            [
                self._fit_pyramid(gray, image, mask, hint, hint_mask, height)
                for height in range(1, largest + 1)
            ]
        )
        heights = self.select_heights(candidates, *Hints(hint, hint_mask).merge(image, mask))
        log.info("pyramid heights chosen by palette distance, per image of the batch: %s", heights.tolist())
        return candidates[heights - 1, torch.arange(len(heights))]

    def select_heights(self, candidates: Tensor, image: Tensor, hole: Tensor) -> Tensor:
        """Per image, the height (1 + the index into candidates, heights × B×3×H×W) whose colors in the hole
        are closest to its known colors. An image without hole keeps the largest height, the size rule's."""
        distances = torch.stack([palette_distance(colors.clamp(0, 1), image, hole) for colors in candidates])
        log.info(
            "palette distance of the hole's colors (x 1/255), per height from 1 and image: %s",
            [[round(value, 2) for value in row] for row in (distances * 255).tolist()],
        )
        heights = distances.nan_to_num(0).argmin(dim=0) + 1
        return torch.where(distances.isnan().any(dim=0), len(candidates), heights)

    def _fit_pyramid(
        self, gray: Tensor, image: Tensor, mask: Tensor, hint: Tensor, hint_mask: Tensor, height: int
    ) -> Tensor:
        schedule = self.schedules[height]
        levels = pyramid(gray, image, mask, hint, hint_mask, height)
        generators = [torch.Generator().manual_seed(self.seed) for _ in range(gray.shape[0])]
        output = None
        for level, ((gray_n, *colors), iterations, lr) in enumerate(zip(levels, *schedule, strict=True)):
            inputs = gray_n
            if output is not None:  # eq. 2; bilinear per §3.3.2 (the public code resizes with Lanczos)
                upsampled = F.interpolate(output, gray_n.shape[-2:], mode="bilinear", align_corners=False)
                inputs = torch.cat([gray_n, upsampled], dim=1)
            where = (
                f"of {len(gray_n)} images, level {level + 1}/{height} ({gray_n.shape[-2]}×{gray_n.shape[-1]})"
            )
            output = self._fit_level(iterations, lr, inputs, *self._targets(*colors), generators, where)
        return output

    def _best_constant(self, target: Tensor, weight: Tensor) -> Tensor:
        """Per image and channel the constant color of least weighted loss: the weighted mean (MSE) or the
        weighted median (L1), broadcast to the image size."""
        values, weights = target.flatten(2), weight.flatten(2).expand_as(target.flatten(2))
        if self.loss is F.mse_loss:
            best = (values * weights).sum(-1) / weights.sum(-1).clamp_min(1e-12)
        else:
            values, order = values.sort(dim=-1)
            cumulative = weights.gather(-1, order).cumsum(-1)
            half = cumulative[..., -1:] / 2
            best = values.gather(-1, (cumulative < half).sum(-1, keepdim=True)).squeeze(-1)
        return best[..., None, None].expand_as(target).clone()

    def _targets(self, image: Tensor, hole: Tensor, hint: Tensor, hint_mask: Tensor) -> tuple[Tensor, Tensor]:
        """The colors to fit and their per-pixel loss weights: known pixels 1, hints hint_weight, hole 0."""
        hinted = hint_mask > 0
        target = torch.where(hinted, hint, torch.where(hole > 0, 0, image))  # hole colors may be NaN
        weight = torch.where(hinted, self.hint_weight, 1 - hole)
        return target, weight

    def _fit_level(
        self,
        iterations: int,
        lr: float,
        inputs: Tensor,
        target: Tensor,
        weight: Tensor,
        generators: list[torch.Generator],
        where: str,
    ) -> Tensor:
        """Fit one level's networks to the weighted targets and return their B×3×h×w output."""
        with torch.device("meta"):  # no default initialization, which would also draw from the global RNG
            network = ColorizationNetwork(inputs.shape[0], inputs.shape[1], self.num_blocks, self.channels)
        network = network.to_empty(device=inputs.device)
        network.init_networks(generators)
        network = network.to(memory_format=memory_format(inputs.device))
        # Adam is element-wise, so on the stacked parameters it is one Adam per image; fused: one kernel.
        optimizer = torch.optim.Adam(network.parameters(), lr=lr, fused=inputs.device.type == "cuda")
        decay = self.lr_decay == "cosine"
        scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, iterations) if decay else None
        autocast = torch.autocast(inputs.device.type, torch.bfloat16, enabled=self._bf16(inputs.device))
        # Each network's loss is a mean over its own image, as in the public code; summing them keeps
        # every image's gradient independent of the batch size.
        per_image = target[0].numel()
        for iteration in range(1, iterations + 1):
            optimizer.zero_grad(set_to_none=True)
            with autocast:
                output = network(inputs)
            loss = (self.loss(output.float(), target, reduction="none") * weight).sum() / per_image
            loss.backward()
            optimizer.step()
            if scheduler is not None:
                scheduler.step()
            if iteration % self.report_every == 0 or iteration == iterations:
                # one host sync per report_every steps: the loop stays asynchronous on a GPU otherwise
                self._report(where, iteration, iterations, float(loss.detach()) / len(inputs))
        with torch.no_grad(), autocast:
            return network(inputs).float()

    def _report(self, where: str, iteration: int, iterations: int, loss: float) -> None:
        line = f"colorization {where}, iteration {iteration}/{iterations}, known-pixel loss {loss:.4f}"
        for listener in _progress_listeners:
            listener(line)
        now = time.monotonic()
        if iteration == iterations or now - self._last_log >= self.log_every_s:
            self._last_log = now
            log.info(line)

    def _bf16(self, device: torch.device) -> bool:
        if self.precision == "auto":
            return device.type == "cuda" and torch.cuda.is_bf16_supported()
        return self.precision == "bf16"


def _schedule(height: int, iterations: Sequence[int], lrs: Sequence[float]) -> tuple[tuple, tuple]:
    iterations, lrs = tuple(int(n) for n in iterations), tuple(float(lr) for lr in lrs)
    if not len(iterations) == len(lrs) == height >= 1:
        raise ValueError(
            f"need one iteration count and one lr per level: pyramid height {height}, "
            f"iterations {iterations}, lrs {lrs}"
        )
    return iterations, lrs
