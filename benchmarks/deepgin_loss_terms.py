"""DeepGIN's weighted loss terms against L1 in the first main-stage batches, per loss preset
(conf/model/deepgin_losses/): the figures that decide which definitions the λ values of §5.1 suit.

The λs (style 80, TV 0.1) were tuned with the authors' definitions; under the paper's (equal layer
weights, L1 Gram, L1 TV) the same λs weigh the terms differently. This trains each preset from the same
start through a short L1 warm-up, then records λ_style·style / L1 and λ_tv·TV / L1 over the first main-stage
batches. Only meaningful with ImageNet VGG19 (vgg19-dcbb9e9d.pth in $TORCH_HOME/hub/checkpoints) and real
images; `--vgg random` checks the plumbing only.

    python benchmarks/deepgin_loss_terms.py --data celebahq --device gpu          # on a cluster
    python benchmarks/deepgin_loss_terms.py --vgg random --size 64 --width 4      # plumbing, CPU
"""

from __future__ import annotations

import argparse
import statistics

import pytorch_lightning as pl
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate
from training_speed import bare_trainer

import suite  # noqa: F401  (registers the configs' resolvers)
from suite.train import build_datamodule
from utils.resolvers import REPO_ROOT

PRESETS = ("paper", "authors_code", "paper_taps_code_weights")


class TermRecorder(pl.Callback):
    """The logged L1, style and TV terms of every main-stage batch."""

    def __init__(self) -> None:
        self.rows: list[dict[str, float]] = []

    def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx) -> None:
        metrics = trainer.callback_metrics
        if "train/style" in metrics and not module.schedule.is_warmup(module.current_epoch):
            self.rows.append({k: float(metrics[f"train/{k}"]) for k in ("l1", "style", "tv")})


def measure(preset: str, args: argparse.Namespace) -> dict[str, float]:
    overrides = [
        "experiment=deepgin",
        f"data={args.data}",
        f"model/deepgin_losses={preset}",
        f"model.perceptual.weights={args.vgg}",
        f"model.generator.width={args.width}",
        "model.warmup_epochs=1",
        "model.constant_epochs=1",
        "model.decay_epochs=0",
        f"data.batch_size={args.batch_size}",
        "data.num_workers=0",
        *args.overrides,
    ]
    if args.data == "synthetic":
        overrides += [
            f"data.source.size={args.size}",
            f"data.train_transform.transforms.0.size={2 * args.size}",
        ]
    with initialize_config_dir(config_dir=str(REPO_ROOT / "conf"), version_base="1.3"):
        cfg = compose("train", overrides=overrides)
    pl.seed_everything(0)
    model, recorder = instantiate(cfg.model), TermRecorder()
    trainer = bare_trainer(
        accelerator=args.device,
        max_epochs=2,
        limit_train_batches=args.batches,
        limit_val_batches=0,
        callbacks=[recorder],
    )
    trainer.fit(model, datamodule=build_datamodule(cfg))
    hp = model.hparams
    return {
        "style": statistics.mean(hp.style_weight * r["style"] / r["l1"] for r in recorder.rows),
        "tv": statistics.mean(hp.tv_weight * r["tv"] / r["l1"] for r in recorder.rows),
        "batches": len(recorder.rows),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="synthetic")
    parser.add_argument("--vgg", default="imagenet", choices=("imagenet", "random"))
    parser.add_argument("--device", default="cpu", choices=("cpu", "gpu"))
    parser.add_argument("--batches", type=int, default=20, help="batches per stage (warm-up, then main)")
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--width", type=int, default=32)
    parser.add_argument("--size", type=int, default=128, help="synthetic textures only")
    parser.add_argument("overrides", nargs="*", help="more train.py overrides")
    args = parser.parse_args()
    if args.vgg == "random":
        print("VGG19 with random weights: the ratios below check the plumbing, they decide nothing.")
    print("| preset | λ_style·style / L1 | λ_tv·TV / L1 | main-stage batches |\n|---|---:|---:|---:|")
    for preset in PRESETS:
        ratios = measure(preset, args)
        print(f"| {preset} | {ratios['style']:.3f} | {ratios['tv']:.3f} | {ratios['batches']} |", flush=True)


if __name__ == "__main__":
    main()
