"""The suite against the authors' own PyTorch code: training steps and generator forwards, side by side.

For each method whose authors published PyTorch code (EdgeConnect: github.com/knazeri/edge-connect, GMCNN:
github.com/shepnerd/inpainting_gmcnn, its pytorch/ folder, DeepGIN: github.com/rlct1/gin) this runs the
authors' networks, losses and optimizer steps, imported from a clone you name (never copied here), and the
suite's model as `train.py` builds it from the Hydra config, in one process, on the same image and mask
(fixed_batch: random pixels, the central half a hole), alternating the two:

- the suite trains inside one Lightning fit over that batch held in memory; each of its training batches
  is timed from on_train_batch_start to on_train_batch_end (Lightning's per-batch work included);
- after each suite batch a callback runs and times one authors' training step, then one generator forward
  of each side (no_grad, training mode; the suite's under the trainer's precision, e.g. bf16 autocast).

The first --warmup batches are not timed (3 more with torch.compile: its compilations fall there); the
table gives the medians of the next --repeats, and authors / suite (> 1: the suite is faster).

Step kinds: EdgeConnect edge (G1 + D1, the official MODEL 1) and inpaint (G2 + D2, MODEL 2); GMCNN
pre-training (reconstruction losses, G alone) and fine-tuning (5 D steps, then G with ID-MRF and the
adversarial terms); DeepGIN's main-stage G + D step. The suite runs under every --options entry (Hydra
overrides: eager, compile, channels_last, bf16, compile+bf16) against the same authors' eager fp32 step; an option whose
overrides the suite cannot build is reported as unavailable.

    python benchmarks/vs_official.py --official edgeconnect=<clone> gmcnn=<clone> deepgin=<clone>
    python benchmarks/vs_official.py --official gmcnn=<clone> --methods gmcnn --options eager,bf16 \\
        --device cuda --batch 8 --json vs_official.json

Defaults: CPU, 256², batch 1, fp32, --warmup 3, --repeats 7, every method and option.

Caveats:
- The authors' EdgeConnect backward (src/models.py `backward`: D's loss backward, D's step, then G's loss
  backward) fails on current PyTorch: D's step changes weights that G's graph saved. Here G's backward and
  step run first, then D's (D's gradients from G's loss cleared first): the same work in another order.
- VGG19 (perceptual, style, ID-MRF losses) has random weights on both sides: no weights file or download,
  and the speed does not depend on them. The authors' `vgg19(pretrained=True)` (an argument current
  torchvision no longer takes) becomes an untrained torchvision VGG19.
- On CPU the authors' hard-coded `.cuda()` calls (GMCNN, DeepGIN) leave tensors and networks on the CPU.
- GMCNN: the batch's mask stands for the random rectangle the authors draw each step (their confidence
  weights are still computed each step); their network needs --size 224 or more (smaller sizes skip it). DeepGIN: no DataParallel wrapper (one device); --batch images with
  one mask each (the authors': 4 images × 3 masks).
- The Canny edges are computed once up front and given to both sides (`batch["edge"]` for the suite, as
  its data loader makes them; the authors' loader computes them in its workers).
- The authors' step leaves out their logging and image dumps, which run every few hundred steps.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import io
import json
import logging
import statistics
import sys
import time
import traceback
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any
from unittest import mock

import pytorch_lightning as pl
import torch
import torchvision
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate
from training_speed import fit_on_batch, fixed_batch

from lightning_modules.edgeconnect.canny_edges import canny_edges, edge_gray
from utils.resolvers import REPO_ROOT, register_resolvers

clock = time.perf_counter  # module-level so that tests can drive it


# --- timing -----------------------------------------------------------------------------------------------
@dataclass
class Comparison:
    """One row of the table: `authors()` against `suite(model, batch)`, or against the suite's training
    batch itself when `suite` is None."""

    step: str
    authors: Callable[[], object]
    suite: Callable[[pl.LightningModule, dict], object] | None = None


def timed(run: Callable[[], object], sync: Callable[[], None]) -> float:
    sync()
    start = clock()
    run()
    sync()
    return clock() - start


class Alternation(pl.Callback):
    """Times each suite training batch, then runs and times every comparison once, authors' side first."""

    def __init__(self, comparisons: list[Comparison], sync: Callable[[], None]):
        self.comparisons, self.sync = comparisons, sync
        self.times = {comparison.step: ([], []) for comparison in comparisons}  # (authors s, suite s)
        self.start = 0.0

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        self.sync()
        self.start = clock()

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        self.sync()
        step_seconds = clock() - self.start
        for comparison in self.comparisons:
            authors, suite = self.times[comparison.step]
            authors.append(timed(comparison.authors, self.sync))
            if comparison.suite is None:
                suite.append(step_seconds)
            else:
                # the batch Lightning handed over, under the trainer's autocast
                with trainer.precision_plugin.forward_context():
                    suite.append(timed(partial(comparison.suite, pl_module, batch), self.sync))


def measure(
    model: pl.LightningModule,
    precision: str,
    comparisons: list[Comparison],
    batch: dict,
    device: str,
    warmup: int,
    repeats: int,
) -> dict[str, tuple[float, float]]:
    """Median seconds (authors, suite) of every comparison over `repeats` batches after `warmup` ones."""
    sync = torch.cuda.synchronize if device == "cuda" else lambda: None
    timer = Alternation(comparisons, sync)
    fit_on_batch(model, batch, warmup + repeats, "gpu" if device == "cuda" else "cpu", precision, [timer])
    return {
        step: (statistics.median(authors[warmup:]), statistics.median(suite[warmup:]))
        for step, (authors, suite) in timer.times.items()
    }


# --- the suite ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Option:
    overrides: tuple[str, ...]
    extra_warmup: int = 0


OPTIONS = {
    "eager": Option(()),
    # compilation, and the recompilation for the no_grad forward, fall in the warm-up
    "compile": Option(("model.compile=true",), extra_warmup=3),
    "channels_last": Option(("model.channels_last=true",)),
    "bf16": Option(("trainer.precision=bf16-mixed",)),
    "compile+bf16": Option(("model.compile=true", "trainer.precision=bf16-mixed"), extra_warmup=3),
}


def build_suite(overrides: list[str]) -> tuple[pl.LightningModule, str]:
    """The model a `train.py` run with these overrides trains (conf/train.yaml), and its trainer.precision."""
    register_resolvers()
    with initialize_config_dir(config_dir=str(REPO_ROOT / "conf"), version_base="1.3"):
        cfg = compose("train", overrides=overrides)
        return instantiate(cfg.model), cfg.trainer.precision


# --- the authors' code --------------------------------------------------------------------------------------
def import_official(root: Path, *names: str) -> list[ModuleType]:
    """Modules of an authors' clone, imported with `root` first on sys.path. Their top-level packages
    (model, models, util, src, ...) then leave sys.modules, so that two clones never see each other's."""
    before = set(sys.modules)
    sys.path.insert(0, str(root))
    try:
        return [importlib.import_module(name) for name in names]
    finally:
        sys.path.remove(str(root))
        tops = {path.stem for path in root.iterdir()}
        for name in set(sys.modules) - before:
            if name.split(".")[0] in tops:
                del sys.modules[name]


def untrained_vgg19(module: ModuleType) -> None:
    """The module's `models.vgg19(pretrained=True)` builds an untrained torchvision VGG19 instead."""
    module.models = SimpleNamespace(vgg19=lambda **_: torchvision.models.vgg19())


@contextlib.contextmanager
def cuda_calls_to(device: str) -> Iterator[None]:
    """On CPU the authors' hard-coded `.cuda()` calls leave tensors and networks where they are."""
    if device == "cuda":
        yield
        return

    def stay(self, *args, **kwargs):
        return self

    with mock.patch.object(torch.Tensor, "cuda", stay), mock.patch.object(torch.nn.Module, "cuda", stay):
        yield


def authors_call(run: Callable[[], object], device: str) -> Callable[[], object]:
    """`run` as the authors' code runs: fp32 whatever the suite's option, `.cuda()` working on CPU."""

    def call() -> object:
        with cuda_calls_to(device), torch.autocast(device, enabled=False):
            return run()

    return call


@contextlib.contextmanager
def building(device: str) -> Iterator[None]:
    """Construction of the authors' networks: their `.cuda()` calls and their printouts of every layer."""
    with cuda_calls_to(device), contextlib.redirect_stdout(io.StringIO()):
        yield


@dataclass
class StepKind:
    """A step kind of a method: the suite's overrides that select it, its batch, and the rows to compare."""

    name: str
    overrides: list[str]
    batch: dict
    comparisons: list[Comparison]


def edgeconnect(root: Path, batch: dict, args: argparse.Namespace) -> list[StepKind]:
    """knazeri/edge-connect src/models.py EdgeModel (MODEL 1) and InpaintingModel (MODEL 2) with the
    values of config.yml.example, trained as src/edge_connect.py train() does."""
    models, loss, metrics = import_official(root, "src.models", "src.loss", "src.metrics")
    untrained_vgg19(loss)
    device = args.device
    config = SimpleNamespace(
        PATH=".",
        MODE=1,
        GPU=[0],  # one device: no DataParallel
        GAN_LOSS="nsgan",
        LR=1e-4,
        D2G_LR=0.1,
        BETA1=0.0,
        BETA2=0.9,
        FM_LOSS_WEIGHT=10,
        L1_LOSS_WEIGHT=1,
        CONTENT_LOSS_WEIGHT=0.1,
        STYLE_LOSS_WEIGHT=250,
        INPAINT_ADV_LOSS_WEIGHT=0.1,
    )
    with building(device):
        edge_model, inpaint_model = models.EdgeModel(config), models.InpaintingModel(config)
    edge_model, inpaint_model = edge_model.to(device), inpaint_model.to(device)
    accuracy = metrics.EdgeAccuracy(0.5).to(device)  # EDGE_THRESHOLD
    psnr = metrics.PSNR(255.0).to(device)

    # Canny once, for both sides: SIGMA 2 and skimage's default thresholds, as the suite's config
    edge = canny_edges(edge_gray(batch["image"]), sigma=2.0, low_threshold=0.1, high_threshold=0.2)
    batch = {**batch, "edge": edge}
    image, mask, edges = (batch[key].to(device) for key in ("image", "mask", "edge"))
    gray = edge_gray(image)

    def generator_then_discriminator(model, gen_loss: torch.Tensor, dis_loss: torch.Tensor) -> None:
        # models.py backward() steps D before G's backward, which then finds D's weights changed in
        # place; D's step must see only D's loss, as there (process() clears all gradients first)
        gen_loss.backward()
        model.gen_optimizer.step()
        model.dis_optimizer.zero_grad()
        dis_loss.backward()
        model.dis_optimizer.step()

    def edge_step() -> None:
        outputs, gen_loss, dis_loss, _ = edge_model.process(gray, edges, mask)
        accuracy(edges * mask, outputs * mask)  # edge_connect.py logs precision and recall every step
        generator_then_discriminator(edge_model, gen_loss, dis_loss)

    def inpaint_step() -> None:
        outputs, gen_loss, dis_loss, _ = inpaint_model.process(image, edges, mask)
        merged = outputs * mask + image * (1 - mask)  # edge_connect.py logs PSNR and MAE every step
        psnr((image * 255).int(), (merged * 255).int())
        (image - merged).abs().sum() / image.sum()
        generator_then_discriminator(inpaint_model, gen_loss, dis_loss)

    no_grad = torch.no_grad()
    base = ["model=edgeconnect", "model.perceptual.weights=random"]
    return [
        StepKind(
            "edge",
            [*base, "model.stage=edge"],
            batch,
            [
                Comparison("edge step (G1 + D1)", authors_call(edge_step, device)),
                Comparison(
                    "G1 forward",
                    authors_call(no_grad(partial(edge_model, gray, edges, mask)), device),
                    no_grad(
                        lambda suite, b: suite.predict_edges(edge_gray(b["image"]), b["edge"], b["mask"])
                    ),
                ),
            ],
        ),
        StepKind(
            "inpaint",
            [*base, "model.stage=inpaint"],
            batch,
            [
                Comparison("inpaint step (G2 + D2)", authors_call(inpaint_step, device)),
                Comparison(
                    "G2 forward",
                    authors_call(no_grad(partial(inpaint_model, image, edges, mask)), device),
                    no_grad(lambda suite, b: suite.complete(b["image"], b["edge"], b["mask"])),
                ),
            ],
        ),
    ]


def gmcnn(root: Path, batch: dict, args: argparse.Namespace) -> list[StepKind]:
    """shepnerd/inpainting_gmcnn pytorch/model/net.py InpaintingModel_GMCNN with the defaults of
    pytorch/options/train_options.py, stepped by its optimize_parameters() as pytorch/train.py does."""
    net, layer = import_official(root / "pytorch", "model.net", "model.layer")
    untrained_vgg19(layer)
    device, size = args.device, args.size
    gt = (batch["image"] * 2 - 1).to(device)  # train.py: images in [-1, 1]
    mask = batch["mask"].to(device)
    rows, cols = mask[0, 0].amax(dim=1).nonzero(), mask[0, 0].amax(dim=0).nonzero()
    top, left = int(rows[0]), int(cols[0])
    height, width = int(rows[-1]) + 1 - top, int(cols[-1]) + 1 - left

    def official(pretrain: bool):
        opt = SimpleNamespace(
            gpu_ids=["0"] if device == "cuda" else [],
            model_folder=".",
            phase="train",
            batch_size=args.batch,
            pretrain_network=pretrain,
            mask_type="rect",
            img_shapes=[size, size, 3],
            mask_shapes=[height, width],  # the local discriminator's input: the hole's rectangle
            g_cnum=32,
            d_cnum=64,
            spectral_norm=True,
            D_max_iters=5,
            lr=1e-5,
            lambda_adv=1e-3,
            lambda_rec=1.4,
            lambda_ae=1.2,
            lambda_gp=10.0,
            lambda_mrf=0.05,
        )
        with building(device):
            model = net.InpaintingModel_GMCNN(in_channels=4, opt=opt)

        def variables() -> None:
            # initVariables, with the batch's mask where it draws a random rectangle each step
            model.gt = model.input["gt"]
            model.mask_01 = mask
            model.mask = model.confidence_mask_layer(mask)
            model.rect = [top, height, left, width]
            model.gt_local = model.gt[:, :, top : top + height, left : left + width]
            model.im_in = model.gt * (1 - mask)
            model.gin = torch.cat((model.im_in, mask), 1)

        model.initVariables = variables
        model.setInput({"gt": gt})
        return model

    pretraining, fine_tuning = official(pretrain=True), official(pretrain=False)
    no_grad = torch.no_grad()
    base = [
        "model=gmcnn",
        f"model.discriminator.image_size={size}",
        f"model.discriminator.local_size={size // 2}",
        "model.id_mrf.weights=random",
    ]
    return [
        StepKind(
            "pre-training",
            base,  # model.pretrain_steps (40000) outlasts the run
            batch,
            [
                Comparison("pre-training step (G)", authors_call(pretraining.optimize_parameters, device)),
                Comparison(
                    "G forward",
                    authors_call(
                        no_grad(lambda: pretraining.netGM(torch.cat((gt * (1 - mask), mask), 1))), device
                    ),
                    no_grad(lambda suite, b: suite.generate(b["image"], b["mask"])),
                ),
            ],
        ),
        StepKind(
            "fine-tuning",
            [*base, "model.pretrain_steps=0"],
            batch,
            [Comparison("fine-tuning step (5 D + G)", authors_call(fine_tuning.optimize_parameters, device))],
        ),
    ]


def deepgin(root: Path, batch: dict, args: argparse.Namespace) -> list[StepKind]:
    """rlct1/gin models/our_model.py OurModel with the defaults of options/base_options.py and
    train_options.py, its losses summed and stepped as train.py does."""
    our_model, networks = import_official(root, "models.our_model", "models.networks")
    untrained_vgg19(networks)
    device = args.device
    opt = SimpleNamespace(
        isTrain=True,
        gpu_ids=[0] if device == "cuda" else [],
        checkpoints_dir=".",
        name="vs_official",
        continue_train=False,
        load_pretrain="",
        which_epoch="latest",
        input_nc=4,
        output_nc=3,
        norm="instance",
        ndf=64,
        n_layers_D=2,
        num_D=2,
        no_lsgan=True,  # hinge losses
        no_ganFeat_loss=True,  # store_false: the default True turns feature matching off
        no_vgg_loss=False,
        pool_size=0,
        niter_fix_global=0,
        n_local_enhancers=1,
        lr=1e-4,
        beta1=0.5,
        lambda_feat=0.01,
        lambda_vgg=0.05,
        lambda_l1=5.0,
        lambda_tv=0.1,
        lambda_style=80.0,
        lambda_gan=0.001,
    )
    with building(device):
        model = our_model.OurModel()
        model.initialize(opt)
    model = model.to(device)
    real = batch["image"].to(device)
    mask = batch["mask"].to(device)
    masked = real * (1 - mask) + mask  # the dataset's input: holes filled with white

    def step() -> None:
        losses = dict(zip(model.loss_names, model(masked, mask, real)[0]))
        loss_d = (losses["D_fake"] + losses["D_real"]) * 0.5
        generator_terms = ("G_GAN", "G_COARSE_L1", "G_OUT_L1", "G_TV", "G_STYLE", "G_VGG")
        loss_g = sum(losses[name] for name in generator_terms)
        model.optimizer_G.zero_grad()
        loss_g.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=3)  # train.py: over G and D
        model.optimizer_G.step()
        model.optimizer_D.zero_grad()
        loss_d.backward()
        model.optimizer_D.step()

    no_grad = torch.no_grad()
    overrides = [
        "model=deepgin",
        "model.warmup_epochs=0",  # the main stage (G + D) from the first batch
        "model/deepgin_losses=authors_code",  # the authors' definitions of the VGG and TV terms
        "model.perceptual.weights=random",
    ]
    return [
        StepKind(
            "main stage",
            overrides,
            batch,
            [
                Comparison("G + D step", authors_call(step, device)),
                Comparison(
                    "G forward",
                    authors_call(no_grad(partial(model.netG, masked, mask, real)), device),
                    no_grad(lambda suite, b: suite.generate(b["image"], b["mask"])),
                ),
            ],
        ),
    ]


@dataclass
class Method:
    url: str
    marker: str  # a file of the clone, relative to its root
    build: Callable[[Path, dict, argparse.Namespace], list[StepKind]]
    note: str = ""  # printed when the method runs
    min_size: int = 32


METHODS = {
    "edgeconnect": Method(
        "https://github.com/knazeri/edge-connect",
        "src/models.py",
        edgeconnect,
        "EdgeConnect: the authors' backward order (D backward and step, then G backward) fails on current "
        "PyTorch; their step runs here as G backward and step, then D backward and step (the same work).",
    ),
    # net.py pads the quarter-resolution map by 48 (dilation 16) with reflection: the map must be larger
    "gmcnn": Method(
        "https://github.com/shepnerd/inpainting_gmcnn", "pytorch/model/net.py", gmcnn, min_size=224
    ),
    "deepgin": Method("https://github.com/rlct1/gin", "models/our_model.py", deepgin),
}


# --- command line -------------------------------------------------------------------------------------------
def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--official",
        nargs="+",
        default=[],
        metavar="METHOD=CLONE",
        help="the root folder of a clone of each method's authors' repository; a method without one is skipped",
    )
    parser.add_argument("--methods", default=",".join(METHODS), help="comma-separated")
    parser.add_argument(
        "--options", default=",".join(OPTIONS), help=f"comma-separated, of {', '.join(OPTIONS)}"
    )
    parser.add_argument("--size", type=int, default=256, help="image side, a multiple of 32")
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--warmup", type=int, default=3, help="untimed batches first")
    parser.add_argument("--repeats", type=int, default=7, help="timed batches, whose median is reported")
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    args = parser.parse_args(argv)

    args.methods, args.options = args.methods.split(","), args.options.split(",")
    for kind, names, known in (("method", args.methods, METHODS), ("option", args.options, OPTIONS)):
        unknown = [name for name in names if name not in known]
        if unknown:
            parser.error(f"unknown {kind}(s) {unknown}; known: {', '.join(known)}")
    official = {}
    for entry in args.official:
        name, _, path = entry.partition("=")
        if name not in METHODS or not path:
            parser.error(
                f"--official takes METHOD=CLONE with METHOD one of {', '.join(METHODS)}, got {entry!r}"
            )
        if not (Path(path) / METHODS[name].marker).is_file():
            parser.error(
                f"--official {entry}: no {METHODS[name].marker} there; pass the root of a clone of {METHODS[name].url}"
            )
        official[name] = Path(path)
    args.official = official
    if args.size % 32:
        parser.error(
            "--size must be a multiple of 32 (DeepGIN halves it 5 times, GMCNN's local patch 4 times)"
        )
    if args.repeats < 1 or args.warmup < 0:
        parser.error("--repeats must be at least 1 and --warmup at least 0")
    return args


ROW = "{:<12} {:<26} {:<14} {:>10} {:>10} {:>14}"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    rows: list[dict[str, Any]] = []
    skipped, unavailable, failed = [], [], []
    print(ROW.format("method", "step", "option", "authors s", "suite s", "authors/suite"))
    for name in args.methods:
        method = METHODS[name]
        if name not in args.official:
            print(
                f"{name}: skipped, no --official {name}=<clone>: clone {method.url} and pass the root "
                f"folder of the clone (the one holding {method.marker})"
            )
            skipped.append(name)
            continue
        if args.size < method.min_size:
            print(f"{name}: skipped, the authors' network needs --size {method.min_size} or more")
            skipped.append(name)
            continue
        if method.note:
            print(method.note)
        torch.manual_seed(0)
        try:
            kinds = method.build(args.official[name], fixed_batch(args.size, args.batch), args)
        except Exception:  # e.g. a clone of another version; the other methods still run
            traceback.print_exc()
            print(f"{name}: the authors' code failed to build (traceback above)")
            failed.append(name)
            continue
        for kind in kinds:
            for option_name in args.options:
                option = OPTIONS[option_name]
                torch.manual_seed(0)
                try:
                    model, precision = build_suite([*kind.overrides, *option.overrides])
                except Exception as error:  # e.g. an option the suite does not have yet
                    reason = (str(error).strip().splitlines() or [type(error).__name__])[0]
                    print(f"{name} {kind.name}: option {option_name} unavailable: {reason}")
                    unavailable.append(
                        {"method": name, "step": kind.name, "option": option_name, "reason": reason}
                    )
                    continue
                try:
                    medians = measure(
                        model,
                        precision,
                        kind.comparisons,
                        kind.batch,
                        args.device,
                        args.warmup + option.extra_warmup,
                        args.repeats,
                    )
                except Exception:  # the other options and methods still run
                    traceback.print_exc()
                    print(f"{name} {kind.name}: option {option_name} failed (traceback above)")
                    failed.append(f"{name} {kind.name} {option_name}")
                    continue
                for step, (authors, suite) in medians.items():
                    row = {
                        "method": name,
                        "step": step,
                        "option": option_name,
                        "authors_s": authors,
                        "suite_s": suite,
                        "ratio": authors / suite,
                    }
                    rows.append(row)
                    print(
                        ROW.format(
                            name, step, option_name, f"{authors:.4f}", f"{suite:.4f}", f"{row['ratio']:.2f}"
                        )
                    )

    best: dict[tuple[str, str], dict[str, Any]] = {}
    for row in rows:
        key = (row["method"], row["step"])
        if key not in best or row["ratio"] > best[key]["ratio"]:
            best[key] = row
    if best:
        print("best option per method and step (highest authors/suite):")
        for (method_name, step), row in best.items():
            print(f"  {method_name:<12} {step:<26} {row['option']} ({row['ratio']:.2f})")
    if args.json:
        settings = {key: getattr(args, key) for key in ("size", "batch", "device", "warmup", "repeats")}
        settings["torch"] = torch.__version__
        results = {
            "settings": settings,
            "rows": rows,
            "skipped": skipped,
            "unavailable": unavailable,
            "failed": failed,
        }
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 1 if failed else 0


if __name__ == "__main__":
    logging.getLogger("pytorch_lightning").setLevel(logging.WARNING)
    for message in ("does not have many workers", "srun", "validation_step", "LeafSpec"):  # Lightning's noise
        warnings.filterwarnings("ignore", f".*{message}.*")
    sys.exit(main())
